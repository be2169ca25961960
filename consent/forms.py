from django import forms
from django.utils.translation import gettext_lazy as _

from consent.services.notices import TEXT_MAX_LENGTH, TITLE_MAX_LENGTH
from consent.services.visitors import PURPOSE_MAX_LENGTH


class NoticeForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=TITLE_MAX_LENGTH)
    text = forms.CharField(
        label=_("Text"),
        max_length=TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 18}),
        help_text=_(
            "Plain text; an empty line starts a new paragraph. Write it as the visitor "
            "should read it: who you are, what you store, why, for how long, their rights."
        ),
    )


class ContactRequestForm(forms.Form):
    purpose = forms.CharField(
        label=_("Purpose"),
        max_length=PURPOSE_MAX_LENGTH,
        help_text=_("Told to the visitor, e.g. “So we can call you back about your order.”"),
    )
