"""The strings consent.js needs on the chat page, in the active (inbox) language."""

from django import template
from django.utils.translation import gettext as _

from consent.services.visitors import default_contact_purpose

register = template.Library()


@register.simple_tag
def consent_chat_strings(company_name: str) -> dict[str, str]:
    return {
        "noticeVersion": _("Version %(version)s of %(date)s"),
        "accept": _("Accept and start the chat"),
        "decline": _("Decline"),
        "declined": _("You declined the privacy notice. Nothing was stored."),
        "readAgain": _("Read the notice again"),
        "outdated": _("The privacy notice has changed. Please read the current version."),
        "renewed": _(
            "The privacy notice has changed since your last visit. Please read and accept "
            "the current version to continue."
        ),
        "transparency": _("Who can see my data?"),
        "myDetails": _("My contact details"),
        "contactTitle": _("Leave your contact details?"),
        "contactPurpose": _("Purpose:"),
        "defaultPurpose": default_contact_purpose(),
        "contactIntro": _(
            "Only if you want to. Without your consent we store no name, email address "
            "or phone number."
        ),
        "name": _("Name (optional)"),
        "email": _("Email address"),
        "phone": _("Phone number"),
        "emailOrPhone": _("Give an email address, a phone number, or both."),
        "optIn": _(
            "I agree that %(company)s stores my contact details for the purpose above. I can "
            "withdraw this consent in this chat at any time; the details are then deleted at once."
        )
        % {"company": company_name},
        "optInMissing": _("Please tick the box to agree, or we cannot store your contact details."),
        "sendDetails": _("Send my details"),
        "notNow": _("Not now"),
        "close": _("Close"),
        "stored": _("We store these contact details with your consent:"),
        "withdraw": _("Withdraw consent and delete my details"),
        "withdrawn": _("Your contact details have been deleted."),
        "error": _("Something went wrong. Please try again."),
    }
