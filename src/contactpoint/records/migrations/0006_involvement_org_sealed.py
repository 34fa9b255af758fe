"""The organisation of a practitioner's involvement is sealed in its payload and looked up by a keyed hash
(``org_token``); the clear ``organisation`` column is kept, empty, for entries recorded from now on.

Entries recorded before this migration still hold their organisation in clear. Sealing them needs each child's
data key, which only the key ring can unwrap, and a schema migration must not depend on the key ring being
mounted where migrations run (nor put key material in migration history). So the sealing is a command, run
once after this migration with the key ring available::

    contactpoint seal_involvement_organisations

It is resumable and idempotent (an entry already sealed is skipped). Until it has run, the code reads the clear
column as a fallback, so nothing breaks in between (docs/involvements.md, "Upgrading").
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('records', '0005_amendment'),
    ]

    operations = [
        migrations.AlterField(
            model_name='practitionerinvolvement',
            name='organisation',
            field=models.CharField(blank=True, default='', max_length=32),
        ),
        migrations.AddField(
            model_name='practitionerinvolvement',
            name='org_token',
            field=models.CharField(blank=True, db_index=True, default='', max_length=64),
        ),
    ]
