from django.db import migrations

# The audit page filters LogEntry by additional_data["company_id"], newest first.
# An expression index makes that an index scan on PostgreSQL; SQLite (the
# embedded run) does without.
CREATE = (
    "CREATE INDEX IF NOT EXISTS auditlog_company_time ON auditlog_logentry "
    "(((additional_data -> 'company_id')), \"timestamp\" DESC)"
)
DROP = "DROP INDEX IF EXISTS auditlog_company_time"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_write_encryption_sentinel"),
        ("auditlog", "0017_add_actor_email"),
    ]

    operations = [migrations.RunPython(create_index, drop_index)]
