"""The console's navigation: one list, filtered by role and by what is installed."""

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

ALL = ("admin", "operator", "viewer")
ADMIN = ("admin",)

NAV = [
    ("conversations:list", _("Conversations"), _("Answer and browse conversations."), ALL),
    ("conversations:search", _("Search"), _("Find by reference, e-mail or words."), ALL),
    (
        "conversations:unanswered",
        _("Unanswered"),
        _("Questions the bot did not understand."),
        ALL,
    ),
    (
        "conversations:canned_list",
        _("Canned replies"),
        _("Texts operators insert with /shortcut."),
        ADMIN,
    ),
    (
        "inboxes:list",
        _("Inboxes & bot"),
        _("Chat entry points and FAQ answers."),
        ADMIN,
    ),
    ("accounts:team_list", _("Teams & rights"), _("Who may see, reply and erase."), ADMIN),
    ("accounts:people", _("People"), _("Invite colleagues, roles, deactivation."), ADMIN),
    ("accounts:security", _("Sign-in security"), _("Require two-factor sign-in."), ADMIN),
    ("consent:notice_list", _("Privacy notices"), _("Versioned notices visitors accept."), ADMIN),
    ("consent:record", _("Processing record"), _("Art. 30 record, from the live settings."), ADMIN),
    ("retention:policy", _("Retention"), _("Deletion windows and legal holds."), ADMIN),
    (
        "retention:erasure_list",
        _("Erasure & access"),
        _("Right to be forgotten, data export."),
        ADMIN,
    ),
    ("retention:subject_request_list", _("Requests"), _("Data-subject request deadlines."), ADMIN),
    ("accounts:audit", _("Audit log"), _("Who accessed and changed what."), ADMIN),
]


def nav_for_role(role: str) -> list[dict]:
    items = []
    for name, label, help_text, roles in NAV:
        if role not in roles:
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue  # that part of the console is not installed
        items.append({"url": url, "label": label, "help": help_text, "name": name})
    return items
