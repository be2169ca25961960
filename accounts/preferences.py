"""A staff member's console language and time zone (issue 15, "language and time").

Invariant: on console pages a signed-in member reads the language they chose
(StaffPreference.language), else the one their language cookie names, else
their company's; times show in their chosen zone, else their company's.
Visitors' pages (chat, transparency) never read these: they follow the inbox
and the browser as before.
"""

from __future__ import annotations

import zoneinfo
from functools import lru_cache

import phonenumbers
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest
from django.utils.translation import get_supported_language_variant
from phonenumbers import geocoder

from accounts.models import Membership, StaffPreference

DEFAULT_TIMEZONE = "Europe/Berlin"

# The zone a new company gets from its country; a company can change it later.
COUNTRY_TIMEZONES = {
    "DE": "Europe/Berlin",
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


def timezone_for_country(country: str) -> str:
    return COUNTRY_TIMEZONES.get((country or "").upper(), DEFAULT_TIMEZONE)


def country_name(country: str, language: str) -> str:
    """ "Deutschland" / "Germany" for "DE": the country names phonenumbers carries in
    many languages (the library the redaction already uses); the code if it has none."""
    code = (country or "").upper()
    example = phonenumbers.example_number(code) if len(code) == 2 else None
    name = geocoder.country_name_for_number(example, language) if example else ""
    return name or code


@lru_cache(maxsize=1)
def timezone_names() -> tuple[str, ...]:
    """The IANA zones a person can pick: regions only (no "Etc/GMT+5", no legacy aliases)."""
    regions = ("Africa/", "America/", "Asia/", "Atlantic/", "Australia/", "Europe/", "Pacific/")
    return tuple(sorted(z for z in zoneinfo.available_timezones() if z.startswith(regions)))


def is_timezone(name: str) -> bool:
    return name in timezone_names()


# --- reads ------------------------------------------------------------------


def staff_preference_get(*, user: AbstractBaseUser) -> StaffPreference:
    """The user's preferences, unsaved and blank (= as the company) when never set."""
    found = StaffPreference.objects.filter(user=user).first()
    return found if found is not None else StaffPreference(user=user)


def _chosen(membership: Membership, name: str) -> str:
    # membership_get annotates the preference onto the membership row (one query
    # for both); a membership fetched some other way reads the table.
    attr = f"preference_{name}"
    if hasattr(membership, attr):
        return getattr(membership, attr) or ""
    return getattr(staff_preference_get(user=membership.user), name) or ""


def console_language(*, membership: Membership, request: HttpRequest | None = None) -> str:
    chosen = _chosen(membership, "language")
    if chosen:
        return chosen
    if request is not None and settings.LANGUAGE_COOKIE_NAME in request.COOKIES:
        try:
            return get_supported_language_variant(request.COOKIES[settings.LANGUAGE_COOKIE_NAME])
        except LookupError:
            pass
    return membership.company.language


def console_timezone(*, membership: Membership) -> str:
    chosen = _chosen(membership, "timezone")
    if chosen and is_timezone(chosen):
        return chosen
    company_zone = membership.company.timezone
    return company_zone if is_timezone(company_zone) else settings.TIME_ZONE


# --- writes -----------------------------------------------------------------


def staff_preference_set(
    *, user: AbstractBaseUser, language: str | None = None, timezone: str | None = None
) -> StaffPreference:
    """Save the user's language and/or time zone ("" = as the company; None = unchanged)."""
    if language is not None and language and language not in dict(settings.LANGUAGES):
        raise ValueError(f"unknown language {language!r}")
    if timezone is not None and timezone and not is_timezone(timezone):
        raise ValueError(f"unknown time zone {timezone!r}")
    defaults = {}
    if language is not None:
        defaults["language"] = language
    if timezone is not None:
        defaults["timezone"] = timezone
    preference, _created = StaffPreference.objects.update_or_create(user=user, defaults=defaults)
    return preference
