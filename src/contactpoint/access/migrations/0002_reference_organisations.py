"""Every local authority in England and the seven national partners of Annex B are accredited from the start;
so is the national service team (operators and national auditors). The first acceptable use policy."""

from django.db import migrations

POLICY_V1 = """You may use ContactPoint only to do your job under section 10 or 11 of the Children Act 2004, section 175 of the Education Act 2002 or section 436A of the Education Act 1996, for a child you are working with or are asked to help.

You must state a true reason for every search and every record you open. Every search and view is recorded and checked for misuse. Never search for yourself, your family, your neighbours, or anyone you know outside work.

Keep your password, PIN and security token to yourself. Never let anyone else use your account. Sign out when you leave your computer.

Never copy, print or pass on what you see except to protect a child, as your organisation's procedures allow. Tell your ContactPoint administrator at once if you think your account or a child's information has been misused."""


def load(apps, schema_editor):
    from contactpoint.reference import NATIONAL_PARTNERS, current_local_authorities

    Organisation = apps.get_model("access", "Organisation")
    PolicyVersion = apps.get_model("access", "PolicyVersion")
    db = schema_editor.connection.alias
    for la in current_local_authorities():
        Organisation.objects.using(db).get_or_create(
            code=f"LA-{la.code}", defaults={"name": la.name, "kind": "local_authority", "la_code": la.code})
    for partner in NATIONAL_PARTNERS:
        Organisation.objects.using(db).get_or_create(
            code=partner.code, defaults={"name": partner.name, "kind": "national_partner"})
    Organisation.objects.using(db).get_or_create(
        code="CP-NATIONAL", defaults={"name": "ContactPoint national service team", "kind": "operator"})
    from django.utils import timezone

    PolicyVersion.objects.using(db).get_or_create(version=1, defaults={"published_at": timezone.now(),
                                                                      "summary": POLICY_V1})


class Migration(migrations.Migration):
    dependencies = [("access", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
