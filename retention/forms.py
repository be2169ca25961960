from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from chatbot_site.lib.errors import ServiceError, form_add_error
from retention.models import RetentionPolicy, SubjectRequest, audit_retention_floor_days
from retention.services.policy import policy_validate

MAX_DAYS = 3650


class RetentionPolicyForm(forms.ModelForm):
    class Meta:
        model = RetentionPolicy
        fields = ["conversation_days", "personal_data_days", "audit_days", "run_hour"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("conversation_days", "personal_data_days", "audit_days"):
            field = self.fields[name]
            field.validators += [MinValueValidator(1), MaxValueValidator(MAX_DAYS)]
            field.widget.attrs.update(min=1, max=MAX_DAYS)
        # The floor itself is checked by RetentionPolicy.clean (ModelForm runs it).
        floor = audit_retention_floor_days()
        self.fields["audit_days"].widget.attrs.update(min=floor)
        self.fields["audit_days"].help_text = _(
            "At least %(days)s days: the audit log proves who accessed personal data, "
            "also after an erasure."
        ) % {"days": floor}
        self.fields["run_hour"].validators.append(MaxValueValidator(23))
        self.fields["run_hour"].widget.attrs.update(min=0, max=23)

    def clean(self):
        data = super().clean()
        conversation_days = data.get("conversation_days")
        personal_data_days = data.get("personal_data_days")
        if conversation_days is not None and personal_data_days is not None:
            try:
                policy_validate(
                    conversation_days=conversation_days, personal_data_days=personal_data_days
                )
            except ServiceError as exc:
                form_add_error(self, exc)
        return data


class LegalHoldForm(forms.Form):
    reference = forms.CharField(
        label=_("Conversation reference"),
        max_length=12,
        help_text=_("The reference shown to the visitor on the chat page."),
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=300,
        help_text=_("Kept with the hold; not copied into the audit log."),
    )


class FindSubjectForm(forms.Form):
    KINDS = [
        ("reference", _("Conversation reference")),
        ("email", _("E-mail address")),
        ("token", _("Visitor token")),
    ]
    kind = forms.ChoiceField(label=_("Find the visitor by"), choices=KINDS)
    value = forms.CharField(label=_("Value"), max_length=300)


class VerifyReceiptForm(forms.Form):
    receipt_file = forms.FileField(label=_("Receipt file (JSON)"), required=False)
    receipt_text = forms.CharField(
        label=_("… or paste the receipt"), widget=forms.Textarea, required=False
    )

    def clean(self):
        data = super().clean()
        upload = data.get("receipt_file")
        text = data.get("receipt_text") or ""
        if upload:
            if upload.size > 64 * 1024:
                raise forms.ValidationError(_("That file is too large to be a receipt."))
            try:
                text = upload.read().decode("utf-8")
            except UnicodeDecodeError:
                raise forms.ValidationError(_("That file is not a JSON text file.")) from None
        if not text.strip():
            raise forms.ValidationError(_("Upload or paste a receipt."))
        data["text"] = text
        return data


class SubjectRequestForm(forms.Form):
    """A request received outside the chat: who it is about is checked by the service."""

    kind = forms.ChoiceField(label=_("Request"), choices=SubjectRequest.Kind.choices)
    channel = forms.ChoiceField(label=_("Received by"), choices=SubjectRequest.Channel.choices)
    received_on = forms.DateField(
        label=_("Received on"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("The answer is due one calendar month later."),
    )
    conversation_reference = forms.CharField(
        label=_("Conversation reference"),
        max_length=12,
        required=False,
        help_text=_("The reference shown to the person on the chat page."),
    )
    email = forms.EmailField(
        label=_("… or contact e-mail address"),
        required=False,
        help_text=_("Only used to find the visitor; the address is not stored with the request."),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("received_on", timezone.localdate())
        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = [
            c for c in SubjectRequest.Channel.choices if c[0] != SubjectRequest.Channel.CHAT
        ]

    def clean(self):
        data = super().clean()
        if not data.get("conversation_reference") and not data.get("email"):
            if "email" not in self.errors:
                raise forms.ValidationError(
                    _("Give either the conversation reference or the contact e-mail address.")
                )
        elif data.get("conversation_reference") and data.get("email"):
            raise forms.ValidationError(
                _("Give the conversation reference or the e-mail address, not both.")
            )
        return data


class ExtendRequestForm(forms.Form):
    months = forms.TypedChoiceField(
        label=_("Extend by"),
        coerce=int,
        choices=[(1, _("one month")), (2, _("two months"))],
    )
    reason = forms.CharField(
        label=_("Reason (told to the person)"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Art. 12(3): only for complex requests or many of them."),
    )


class FulfilRequestForm(forms.Form):
    note = forms.CharField(
        label=_("Note"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("For a rectification, say what was corrected."),
    )


class RefuseRequestForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for refusing (told to the person)"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
