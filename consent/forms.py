from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from consent.services.notices import TEXT_MAX_LENGTH, TITLE_MAX_LENGTH
from consent.services.visitors import PURPOSE_MAX_LENGTH


class NoticeForm(forms.Form):
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
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

    translation_title = forms.CharField(
        label=_("Title in the other language"), max_length=TITLE_MAX_LENGTH, required=False
    )
    translation_text = forms.CharField(
        label=_("Text in the other language"),
        max_length=TEXT_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 12}),
        help_text=_(
            "Optional: the same notice in English if the main text is German, or in German if "
            "it is English. Visitors and the transparency page get the one in their language."
        ),
    )


class ContactRequestForm(forms.Form):
    purpose = forms.CharField(
        label=_("Purpose"),
        max_length=PURPOSE_MAX_LENGTH,
        help_text=_("Told to the visitor, e.g. “So we can call you back about your order.”"),
    )
