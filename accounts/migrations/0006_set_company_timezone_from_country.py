"""Companies made before the time zone followed the country get their country's zone.

Only rows still on the old default (Europe/Berlin) outside Germany change: a
zone someone chose is kept. The mapping is copied here, as migrations must not
import code that may change later.
"""

from django.db import migrations

COUNTRY_TIMEZONES = {
    "AT": "Europe/Vienna",
    "CH": "Europe/Zurich",
    "IE": "Europe/Dublin",
    "GB": "Europe/London",
    "FR": "Europe/Paris",
    "NL": "Europe/Amsterdam",
    "ES": "Europe/Madrid",
    "IT": "Europe/Rome",
    "US": "America/New_York",
}


def set_timezone_from_country(apps, schema_editor):
    Company = apps.get_model("accounts", "Company")
    for country, zone in COUNTRY_TIMEZONES.items():
        Company.objects.filter(country=country, timezone="Europe/Berlin").update(timezone=zone)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0005_add_staff_preference_and_verbose_names")]

    operations = [migrations.RunPython(set_timezone_from_country, migrations.RunPython.noop)]
