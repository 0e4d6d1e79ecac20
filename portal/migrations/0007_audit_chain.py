"""The audit log chained by hash and refused UPDATE and DELETE by the database (issue 15, part 6).

The events already written are chained in the order they were written (`at`, then `id`), one
chain per bureau; the triggers come last, once the backfill has written its hashes."""

import django.utils.timezone
from django.db import migrations, models

from portal.audit import triggers
from portal.audit.chain import chain_key, digest


def chain_existing_events(apps, schema_editor):
    AuditEvent = apps.get_model("portal", "AuditEvent")
    AuditChainHead = apps.get_model("portal", "AuditChainHead")
    events = AuditEvent.objects.using(schema_editor.connection.alias).order_by("at", "id")
    heads = {}
    batch = []
    for event in events.iterator(chunk_size=2000):
        key = chain_key(event.bureau_id)
        sequence, previous = heads.get(key, (0, ""))
        event.sequence = sequence + 1
        event.hash = digest(event, previous)
        heads[key] = (event.sequence, event.hash)
        batch.append(event)
        if len(batch) == 2000:
            AuditEvent.objects.bulk_update(batch, ["sequence", "hash"])
            batch = []
    AuditEvent.objects.bulk_update(batch, ["sequence", "hash"])
    AuditChainHead.objects.bulk_create(
        AuditChainHead(chain=key, sequence=sequence, hash=hash_)
        for key, (sequence, hash_) in heads.items()
    )


def install_triggers(apps, schema_editor):
    triggers.install(schema_editor.connection)


def remove_triggers(apps, schema_editor):
    triggers.remove(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0006_bureau_managers_need_second_factor"),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditChainHead",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("chain", models.CharField(max_length=36, unique=True)),
                ("sequence", models.PositiveBigIntegerField(default=0)),
                ("hash", models.CharField(blank=True, max_length=64)),
            ],
            options={
                "verbose_name": "审计链",
                "verbose_name_plural": "审计链",
            },
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="at",
            field=models.DateTimeField(db_index=True, default=django.utils.timezone.now),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="sequence",
            field=models.PositiveBigIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="hash",
            field=models.CharField(blank=True, editable=False, max_length=64),
        ),
        migrations.RunPython(chain_existing_events, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="auditevent",
            constraint=models.UniqueConstraint(
                fields=("bureau", "sequence"), name="audit_chain_sequence"
            ),
        ),
        migrations.AddConstraint(
            model_name="auditevent",
            constraint=models.UniqueConstraint(
                condition=models.Q(("bureau__isnull", True)),
                fields=("sequence",),
                name="audit_chain_sequence_no_bureau",
            ),
        ),
        migrations.RunPython(install_triggers, remove_triggers),
    ]
