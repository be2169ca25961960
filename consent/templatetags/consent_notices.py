"""Show a privacy notice in the reader's language (its translation, if it has one)."""

from django import template

from consent.models import PrivacyNotice

register = template.Library()


@register.filter
def notice_in(notice: PrivacyNotice, language: str) -> dict[str, str]:
    lang, title, text = notice.in_language(language or notice.language)
    return {"language": lang, "title": title, "text": text}
