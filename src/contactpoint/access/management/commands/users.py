from __future__ import annotations

from pathlib import Path
from typing import Any

import qrcode
from django.core.management.base import CommandError
from django.utils import timezone

from contactpoint.access import preconditions
from contactpoint.access.administration import provision_user, publish_policy
from contactpoint.access.models import Organisation, SourceSystem, User
from contactpoint.access.sources import SOURCE_KINDS, expect_every, issue_key, register_source
from contactpoint.audit.actions import AuditAction
from contactpoint.audit.trail import Actor, record_event
from contactpoint.commands import ContactPointCommand
from contactpoint.vault.keyring import get_keyring

OPERATOR = Actor.operator().name


class Command(ContactPointCommand):
    help = ("Operator commands for organisations, users and source systems: bootstrap, list, show, "
            "suspend-organisation, reinstate-organisation, publish-policy, register-source, issue-key.")

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        boot = sub.add_parser("bootstrap", help="create the first administrator of an organisation")
        boot.add_argument("--organisation", required=True, help="organisation code, e.g. LA-202 or NP-NSPCC")
        boot.add_argument("--username", required=True)
        boot.add_argument("--name", required=True, help="the person's full name")
        boot.add_argument("--email", default="")
        boot.add_argument("--role", default="org-admin")
        boot.add_argument("--clearance-date", required=True, help="date of their enhanced DBS check, YYYY-MM-DD")
        boot.add_argument("--clearance-reference", required=True, help="DBS certificate number")
        boot.add_argument("--training-date", required=True, help="date they completed ContactPoint training")
        boot.add_argument("--qr", action="store_true", help="also print the token's QR code in the terminal")
        lst = sub.add_parser("list", help="list users")
        lst.add_argument("--organisation")
        show = sub.add_parser("show", help="a user's conditions of access")
        show.add_argument("username")
        for name in ("suspend-organisation", "reinstate-organisation"):
            p = sub.add_parser(name, help=f"{name.split('-')[0]} an organisation's accreditation "
                                          "(takes effect at once)")
            p.add_argument("code")
            if name.startswith("suspend"):
                p.add_argument("--reason", required=True)
        pub = sub.add_parser("publish-policy", help="publish a new acceptable use policy; everyone signs again")
        pub.add_argument("--version", type=int, required=True)
        pub.add_argument("--file", type=Path, required=True)
        reg = sub.add_parser("register-source", help="register a source system")
        reg.add_argument("--code", required=True)
        reg.add_argument("--name", required=True)
        reg.add_argument("--kind", required=True, choices=SOURCE_KINDS)
        reg.add_argument("--organisation", required=True)
        reg.add_argument("--expected-every-hours", type=int,
                         help="how often it should send (24: daily); the worker alerts you when it goes quiet")
        every = sub.add_parser("source-interval", help="set how often a source system is expected to send")
        every.add_argument("--source", required=True)
        every.add_argument("--hours", type=int, help="hours between feeds; leave out to stop watching it")
        key = sub.add_parser("issue-key", help="issue (or rotate) a source system's API key")
        key.add_argument("--source", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, "_" + options["action"].replace("-", "_"))(**options)

    @staticmethod
    def _org(code: str) -> Organisation:
        org = Organisation.objects.filter(code=code.upper()).first()
        if org is None:
            raise CommandError(f"no organisation with code {code}")
        return org

    def _bootstrap(self, **o: Any) -> None:
        today = timezone.localdate()
        cleared = self.parse_day(o["clearance_date"], "--clearance-date")
        trained = self.parse_day(o["training_date"], "--training-date")
        assert cleared is not None and trained is not None  # both options are required (add_arguments)
        for value, option in ((cleared, "--clearance-date"), (trained, "--training-date")):
            if value > today:
                raise CommandError(f"{option} must not be in the future")
        account = provision_user(organisation=self._org(o["organisation"]), username=o["username"],
                                 full_name=o["name"], role_code=o["role"], cleared_on=cleared,
                                 clearance_reference=o["clearance_reference"], trained_on=trained,
                                 now=timezone.now(), keyring=get_keyring(), actor_name=OPERATOR, email=o["email"])
        self.stdout.write(f"created {account.user.username} ({account.user.role.title}, "
                          f"{account.user.organisation.name})")
        self.stdout.write(f"temporary password: {account.password}")
        self.stdout.write(f"temporary PIN:      {account.pin}")
        self.stdout.write(f"TOTP secret:        {account.totp_secret}")
        self.stdout.write(f"TOTP URI:           {account.totp_uri}")
        self.stdout.write("Give these to the person in person. They set their own password and PIN at first sign-in "
                          "and sign the acceptable use policy.")
        if o["qr"]:
            qr = qrcode.QRCode(border=1)
            qr.add_data(account.totp_uri)
            qr.print_ascii(out=self.stdout)

    def _list(self, **o: Any) -> None:
        users = User.objects.select_related("organisation").order_by("organisation__code", "username")
        if o.get("organisation"):
            users = users.filter(organisation=self._org(o["organisation"]))
        today = timezone.localdate()
        for u in users:
            failed = preconditions.lapses(u, today)
            state = "ok" if not failed else ",".join(f.key for f in failed)
            self.stdout.write(f"{u.username}\t{u.organisation.code}\t{u.role_code}\t{state}")

    def _show(self, **o: Any) -> None:
        user = User.objects.select_related("organisation").filter(username=o["username"].lower()).first()
        if user is None:
            raise CommandError(f"no user {o['username']}")
        self.stdout.write(f"{user.full_name} ({user.username}), {user.role.title}, {user.organisation.name}")
        failed = preconditions.lapses(user, timezone.localdate())
        for lapse in failed:
            self.stdout.write(f"  LAPSED {lapse.key}: {lapse.message} {lapse.action}")
        if not failed:
            self.stdout.write("  every condition of access holds")

    def _suspend_organisation(self, **o: Any) -> None:
        org = self._org(o["code"])
        Organisation.objects.filter(pk=org.pk).update(suspended_at=timezone.now(), suspended_reason=o["reason"])
        record_event(AuditAction.ORGANISATION_SUSPENDED, actor=Actor.operator(),
                     keyring=get_keyring(), context={"organisation": org.code})
        self.stdout.write(f"suspended {org.name}: its users are refused from their next request")

    def _reinstate_organisation(self, **o: Any) -> None:
        org = self._org(o["code"])
        Organisation.objects.filter(pk=org.pk).update(suspended_at=None, suspended_reason="")
        record_event(AuditAction.ORGANISATION_REINSTATED, actor=Actor.operator(),
                     keyring=get_keyring(), context={"organisation": org.code})
        self.stdout.write(f"reinstated {org.name}")

    def _publish_policy(self, **o: Any) -> None:
        try:
            text = o["file"].read_text(encoding="utf-8").strip()
        except OSError:
            raise CommandError(f"cannot read {o['file']}") from None
        publish_policy(o["version"], text, now=timezone.now(), keyring=get_keyring(), actor_name=OPERATOR)
        self.stdout.write(f"published version {o['version']}: every session ends at its next request, and every "
                          "user must sign it at their next sign-in")

    def _register_source(self, **o: Any) -> None:
        source = register_source(None, code=o["code"], name=o["name"], kind=o["kind"],
                                 organisation=self._org(o["organisation"]), now=timezone.now(),
                                 keyring=get_keyring(), actor=Actor.operator(),
                                 expected_every_hours=o["expected_every_hours"])
        self.stdout.write(f"registered source system {source.code}")

    def _source_interval(self, **o: Any) -> None:
        source = SourceSystem.objects.filter(code=o["source"]).first()
        if source is None:
            raise CommandError(f"no source system {o['source']}")
        expect_every(source, o["hours"], now=timezone.now(), keyring=get_keyring(), actor=Actor.operator())
        self.stdout.write(f"{source.code}: expected every {o['hours']} hours" if o["hours"] else
                          f"{source.code}: not watched for silence")

    def _issue_key(self, **o: Any) -> None:
        source = SourceSystem.objects.filter(code=o["source"]).first()
        if source is None:
            raise CommandError(f"no source system {o['source']}")
        issued = issue_key(None, source, now=timezone.now(), keyring=get_keyring(),
                           actor=Actor.operator())
        self.stdout.write(f"API key for {source.code} (shown once; earlier keys stop working in 7 days):")
        self.stdout.write(issued.token)
