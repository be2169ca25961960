"""Console forms: inbox settings and FAQ entries (admins), reply and take-over (operators)."""

from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from conversations.models import FaqEntry, Inbox
from conversations.services.operator import REPLY_MAX_LENGTH

ORIGIN_RE = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?$")
# More misses in a row than this would keep a stuck visitor from a person too long.
MAX_BOT_MISS_LIMIT = 10


class InboxForm(forms.ModelForm):
    class Meta:
        model = Inbox
        fields = [
            "name",
            "greeting",
            "language",
            "allowed_origins",
            "resume_enabled",
            "token_ttl_days",
            "notice_required",
            "bot_miss_limit",
            "handover_immediately",
        ]
        widgets = {
            "greeting": forms.Textarea(attrs={"rows": 3}),
            "bot_miss_limit": forms.NumberInput(attrs={"min": 0, "max": MAX_BOT_MISS_LIMIT}),
            "allowed_origins": forms.Textarea(
                attrs={"rows": 3, "placeholder": "https://www.example.com"}
            ),
        }

    def clean_allowed_origins(self) -> str:
        lines = [line.strip() for line in self.cleaned_data["allowed_origins"].splitlines()]
        origins = []
        for line in filter(None, lines):
            origin = line.rstrip("/")
            if not ORIGIN_RE.match(origin):
                raise forms.ValidationError(
                    _(
                        "“%(value)s” is not an origin. Write scheme and host only, "
                        "e.g. https://www.example.com (a port is allowed, a path is not)."
                    ),
                    params={"value": line[:100]},
                )
            if origin not in origins:
                origins.append(origin)
        return "\n".join(origins)

    def clean_token_ttl_days(self) -> int:
        days = self.cleaned_data["token_ttl_days"]
        if not 1 <= days <= 365:
            raise forms.ValidationError(_("Choose between 1 and 365 days."))
        return days

    def clean_bot_miss_limit(self) -> int:
        limit = self.cleaned_data["bot_miss_limit"]
        if limit > MAX_BOT_MISS_LIMIT:
            raise forms.ValidationError(
                _("Choose between 0 (never) and %(max)d.") % {"max": MAX_BOT_MISS_LIMIT}
            )
        return limit


class FaqEntryForm(forms.ModelForm):
    class Meta:
        model = FaqEntry
        fields = ["questions", "answer", "asks_for_contact", "position"]
        widgets = {
            "questions": forms.Textarea(attrs={"rows": 4}),
            "answer": forms.Textarea(attrs={"rows": 4}),
        }

    def clean_questions(self) -> str:
        lines = [" ".join(line.split()) for line in self.cleaned_data["questions"].splitlines()]
        variants = [line for line in lines if line]
        if not variants:
            raise forms.ValidationError(_("Enter at least one question."))
        if any(len(v) > 300 for v in variants):
            raise forms.ValidationError(_("A question may have at most 300 characters."))
        return "\n".join(variants)

    def clean_answer(self) -> str:
        answer = self.cleaned_data["answer"].strip()
        if not answer:
            raise forms.ValidationError(_("Enter an answer."))
        if len(answer) > 4000:
            raise forms.ValidationError(_("An answer may have at most 4000 characters."))
        return answer


class ExpectedAssigneeForm(forms.Form):
    """Whom the operator saw the conversation assigned to when the page was
    rendered (a hidden field; empty: nobody). The services refuse a reply or
    take-over if someone else has taken the conversation since."""

    expected_assignee = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def expected_assignee_id(self) -> int | None:
        return self.cleaned_data.get("expected_assignee")


class TakeOverForm(ExpectedAssigneeForm):
    pass


class ReplyForm(ExpectedAssigneeForm):
    text = forms.CharField(
        label=_("Reply"),
        max_length=REPLY_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Write a reply first.")},
    )


class CannedReplyForm(forms.Form):
    """A canned reply (admins); conversations.services.canned checks it again."""

    shortcut = forms.SlugField(
        label=_("Shortcut"),
        max_length=40,
        help_text=_("Operators type / and this word in the reply box, e.g. greeting."),
        error_messages={
            "required": _("Enter a shortcut."),
            "invalid": _("Use letters, digits, hyphens and underscores only."),
        },
    )
    text = forms.CharField(
        label=_("Text"),
        max_length=REPLY_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={"required": _("Enter the reply text.")},
    )
