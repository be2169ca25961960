"""Forms of sign-in step 2 and of the own account page."""

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from accounts.preferences import timezone_names


class SecondFactorForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=32,
        strip=True,
        help_text=_("The 6-digit code from your app, or one of your recovery codes."),
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"}
        ),
    )


class TotpConfirmForm(forms.Form):
    code = forms.CharField(
        label=_("Code from the app"),
        max_length=12,
        strip=True,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "spellcheck": "false"}
        ),
    )


class PasswordConfirmForm(forms.Form):
    password = forms.CharField(
        label=_("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class CompanySecurityForm(forms.Form):
    require_2fa = forms.BooleanField(
        label=_("Two-factor sign-in required for all staff"),
        required=False,
        help_text=_(
            "Anyone without two-factor sign-in is sent to set it up before any console page."
        ),
    )


def _language_choices(*, company_language: str) -> list[tuple[str, str]]:
    company_label = dict(settings.LANGUAGES).get(company_language, company_language)
    return [("", _("As the company (%(language)s)") % {"language": company_label})] + [
        (code, label) for code, label in settings.LANGUAGES
    ]


class StaffPreferenceForm(forms.Form):
    """The own account page's "Language and time": blank means as the company."""

    language = forms.ChoiceField(label=_("Language"), required=False)
    timezone = forms.ChoiceField(
        label=_("Time zone"),
        required=False,
        help_text=_("Every time in the console is shown in this zone."),
    )

    def __init__(self, *args, company_language: str, company_timezone: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["language"].choices = _language_choices(company_language=company_language)
        self.fields["timezone"].choices = [
            ("", _("As the company (%(zone)s)") % {"zone": company_timezone})
        ] + [(name, name.replace("_", " ")) for name in timezone_names()]


class LanguageSwitchForm(forms.Form):
    """The console navigation's compact language switch."""

    language = forms.ChoiceField(choices=settings.LANGUAGES)
    next = forms.CharField(required=False, max_length=2000)
