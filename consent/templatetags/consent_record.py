"""The record of processing (Art. 30) as people read it: names, not codes."""

from django import template
from django.utils.translation import get_language

from accounts.preferences import country_name as _country_name

register = template.Library()


@register.filter
def country_name(code: str) -> str:
    """ "DE" as "Deutschland" on a German page, "Germany" on an English one."""
    return _country_name(code, (get_language() or "en").split("-")[0])
