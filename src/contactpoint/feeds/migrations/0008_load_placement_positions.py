from django.db import migrations, models


class Migration(migrations.Migration):
    """A load's placements name each record by its file and position (``ingest.spill``) instead of its source and
    record key, and are read a batch of children at a time. Placements are kept only while a load writes: a load
    part-way through its write when this runs cannot be resumed (its children would have to be removed first)."""

    dependencies = [
        ("feeds", "0007_run_keys"),
    ]

    operations = [
        migrations.RunSQL("DELETE FROM feeds_load_placement", migrations.RunSQL.noop),
        migrations.RemoveField(model_name="loadplacement", name="source"),
        migrations.RemoveField(model_name="loadplacement", name="record_key"),
        migrations.AddField(model_name="loadplacement", name="file", field=models.SmallIntegerField(default=0),
                            preserve_default=False),
        migrations.AddField(model_name="loadplacement", name="position", field=models.IntegerField(default=0),
                            preserve_default=False),
        migrations.AddIndex(model_name="loadplacement", index=models.Index(fields=["load", "child_number"],
                                                                           name="feeds_load_placement_child")),
    ]
