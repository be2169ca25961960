"""Forms of the accounts pages: company switch, teams and members, audit filters."""

from django import forms
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from accounts.audit_labels import ACTION_LABELS
from accounts.selectors import membership_list_for_user


class CompanySwitchForm(forms.Form):
    company = forms.IntegerField()

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean(self):
        cleaned = super().clean()
        company_id = cleaned.get("company")
        membership = membership_list_for_user(user=self.user).filter(company_id=company_id).first()
        if membership is None:
            raise forms.ValidationError(_("You are not a member of that company."))
        cleaned["membership"] = membership
        return cleaned


# --- teams, rights, audit (console, admins) --------------------------------


class TeamNameForm(forms.Form):
    name = forms.CharField(label=_("Team name"), max_length=100)


class TeamMemberForm(forms.Form):
    user = forms.TypedChoiceField(label=_("Member"), coerce=int)

    def __init__(self, *args, choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].choices = [("", _("Choose a member"))] + list(choices)


class AuditFilterForm(forms.Form):
    actor = forms.TypedChoiceField(label=_("Person"), required=False, coerce=int, empty_value=None)
    action = forms.TypedChoiceField(label=_("Action"), required=False, coerce=int, empty_value=None)
    object_type = forms.TypedChoiceField(
        label=_("Object"), required=False, coerce=int, empty_value=None
    )
    date_from = forms.DateField(
        label=_("From"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    date_to = forms.DateField(
        label=_("Until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    cursor = forms.CharField(required=False, max_length=200)

    def __init__(self, *args, members, content_types, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["actor"].choices = [("", _("Anyone"))] + [
            (m.user_id, m.user.get_username()) for m in members
        ]
        self.fields["action"].choices = [("", _("Any action"))] + [
            (code, capfirst(label)) for code, label in ACTION_LABELS.items()
        ]
        self.fields["object_type"].choices = [("", _("Any object"))] + [
            (ct.pk, capfirst(str(ct.model_class()._meta.verbose_name))) for ct in content_types
        ]

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError(_("The start date must not be after the end date."))
        return cleaned
