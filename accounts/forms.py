from django import forms
from django.utils.translation import gettext_lazy as _

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
