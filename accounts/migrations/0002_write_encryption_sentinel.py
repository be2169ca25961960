from django.db import migrations


def write_sentinel(apps, schema_editor):
    from accounts.models import EncryptionSentinel as Real

    Sentinel = apps.get_model("accounts", "EncryptionSentinel")
    if not Sentinel.objects.exists():
        Sentinel.objects.create(value=Real.SENTINEL)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_create_tenancy")]

    operations = [migrations.RunPython(write_sentinel, migrations.RunPython.noop)]
