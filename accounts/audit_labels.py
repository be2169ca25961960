"""Human, translated labels for audit entries: events, actions, fields and details.

The audit log stores machine codes ("conversation.open", action 3, field
names, ids); this module is the one place that turns them into words for the
audit page. The CSV export keeps the codes (and adds the label beside them).
Values are shown only where they cannot hold typed text (choices, yes/no,
numbers, dates): never for text fields or relations (an id means nothing to
a reader, a name could be personal data); a content type shows as its
model's name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils import formats, timezone
from django.utils.functional import Promise
from django.utils.text import capfirst
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

ACTION_LABELS = {
    LogEntry.Action.CREATE: pgettext_lazy("audit action", "created"),
    LogEntry.Action.UPDATE: pgettext_lazy("audit action", "changed"),
    LogEntry.Action.DELETE: pgettext_lazy("audit action", "deleted"),
    LogEntry.Action.ACCESS: pgettext_lazy("audit action", "viewed"),
}

# Every named event the product writes (grep 'event="' in the apps).
EVENT_LABELS = {
    "2fa.disabled": _("Two-factor sign-in removed"),
    "2fa.enabled": _("Two-factor sign-in set up"),
    "2fa.recovery_code_used": _("Recovery code used to sign in"),
    "2fa.recovery_codes_regenerated": _("New recovery codes made"),
    "audit.export": _("Audit log exported"),
    "company.require_2fa_changed": _("Two-factor requirement changed"),
    "consent.contact_grant": _("Consent to contact given"),
    "consent.contact_request": _("Contact details requested"),
    "consent.contact_withdraw": _("Consent to contact withdrawn"),
    "consent.notice_accept": _("Privacy notice accepted"),
    "conversation.close": _("Conversation closed"),
    "conversation.export": _("Conversation exported"),
    "conversation.open": _("Conversation opened"),
    "conversation.reply": _("Reply sent"),
    "conversation.take_over": _("Conversation taken over"),
    "erasure.execute": _("Data erased"),
    "erasure.preview": _("Erasure previewed"),
    "faq.exported": _("FAQ exported"),
    "faq.imported": _("FAQ imported"),
    "faq.variant_added": _("Question variant added to the FAQ"),
    "inbox.notice_required": _("Privacy notice requirement changed"),
    "invitation.accepted": _("Invitation accepted"),
    "invitation.resent": _("Invitation sent again"),
    "invitation.revoked": _("Invitation revoked"),
    "invitation.sent": _("Invitation sent"),
    "member.2fa_reset": _("Two-factor sign-in reset for a member"),
    "member.deactivated": _("Member deactivated"),
    "member.reactivated": _("Member reactivated"),
    "member.role_changed": _("Role changed"),
    "member.teams_changed": _("Teams of a member changed"),
    "notice.publish": _("Privacy notice published"),
    "password.changed": _("Password changed"),
    "personal_data.reveal": _("Personal data revealed"),
    "processing_record.version": _("New version of the record of processing"),
    "retention.audit_shortened": _("Audit log retention shortened"),
    "retention.run_requested": _("Retention run started by hand"),
    "sessions.ended": _("Sessions signed out"),
    "rights.grant": _("Right on an inbox granted to a team"),
    "rights.revoke": _("Right on an inbox revoked from a team"),
    "signin.failed": _("Sign-in failed"),
    "signin.locked_out": _("Sign-in locked after too many attempts"),
    "signin.succeeded": _("Signed in"),
    "subject_request.create": _("Data-subject request recorded"),
    "subject_request.extend": _("Deadline of a data-subject request extended"),
    "subject_request.fulfil": _("Data-subject request fulfilled"),
    "subject_request.refuse": _("Data-subject request refused"),
    "subject_request.wait_identity": _("Data-subject request waiting for identity"),
    "team.member_add": _("Member added to a team"),
    "team.member_remove": _("Member removed from a team"),
    "unanswered.list": _("Unanswered questions viewed"),
    "visitor.export": _("Visitor's data exported"),
}

# Labels of fields and detail keys whose model field has no translated
# verbose_name (or that are not fields at all: the details of named events).
FIELD_LABELS = {
    "access_records_kept": _("access records kept"),
    "action": _("action"),
    "assigned_to": _("assigned to"),
    "assignee_read_message_id": _("last message read by the assignee"),
    "audit_cutoff": _("audit log deleted before"),
    "audit_entries_deleted": _("audit entries deleted"),
    "author": _("author"),
    "batches": _("batches"),
    "bot_misses": _("unanswered bot questions"),
    "bot_outcome": _("bot outcome"),
    "channel": _("received by"),
    "choices": _("choices offered"),
    "client_key": _("client key"),
    "closed_at": _("closed"),
    "codes_left": _("recovery codes left"),
    "company": _("company"),
    "consent_records_deleted": _("consent records deleted"),
    "content_hash": _("content fingerprint"),
    "content_object": _("inbox"),
    "content_type_id": _("type of object"),
    "conversation": _("conversation"),
    "conversation_cutoff": _("conversations deleted before"),
    "conversation_id": _("conversation"),
    "conversations_deleted": _("conversations deleted"),
    "conversations_stripped": _("conversations stripped of personal data"),
    "created_at": _("created"),
    "dry_run": _("trial run"),
    "duration_ms": _("duration (ms)"),
    "entry_id": _("entry"),
    "erasure": _("erasure"),
    "erasure_request_id": _("erasure"),
    "erased_consent_records": _("consent records erased"),
    "erased_contact_details": _("contact details erased"),
    "erased_conversations": _("conversations erased"),
    "erased_legal_holds": _("legal holds lifted"),
    "erased_messages": _("messages erased"),
    "erased_visitors": _("visitors erased"),
    "error": _("error"),
    "executed_at": _("carried out"),
    "exported_at": _("exported"),
    "extension_months": _("extension (months)"),
    "failures": _("failed attempts"),
    "faq_version": _("FAQ version"),
    "filters": _("filters"),
    "finished_at": _("finished"),
    "format": _("format"),
    "group": _("team"),
    "handled_by": _("handled by"),
    "id": _("number"),
    "identity_verified": _("identity verified"),
    "inbox": _("inbox"),
    "inbox_id": _("inbox"),
    "invitation_id": _("invitation"),
    "kind": _("kind"),
    "language": _("language"),
    "last_message_at": _("last message"),
    "last_seen_at": _("last seen"),
    "legal_hold": _("legal hold"),
    "lifted_at": _("lifted"),
    "lifted_by": _("lifted by"),
    "membership_id": _("membership"),
    "message": _("message"),
    "message_id": _("message"),
    "message_ids": _("messages"),
    "messages_deleted": _("messages deleted"),
    "messages_redacted": _("messages redacted"),
    "minutes": _("minutes"),
    "new_days": _("new period (days)"),
    "next_run_at": _("next run"),
    "notice": _("privacy notice"),
    "notice_id": _("privacy notice"),
    "notice_required": _("privacy notice required"),
    "number": _("number"),
    "old_days": _("previous period (days)"),
    "origin": _("origin"),
    "outcome": _("outcome"),
    "output": _("output"),
    "permission": _("right"),
    "personal_data_cutoff": _("personal data removed before"),
    "personal_data_stripped_at": _("personal data removed"),
    "personal_data_stripped_through": _("personal data removed up to"),
    "placed_at": _("placed"),
    "placed_by": _("placed by"),
    "position": _("position"),
    "public_key": _("public key"),
    "published_at": _("published"),
    "purpose": _("purpose"),
    "recorded_at": _("recorded"),
    "redacted_count": _("items redacted"),
    "reason": _("reason"),
    "reference": _("reference"),
    "replace": _("replaced"),
    "required": _("required"),
    "requested_at": _("requested"),
    "requested_by": _("requested by"),
    "revealed": _("revealed"),
    "right": _("right"),
    "sender": _("sender"),
    "sessions_ended": _("sessions ended"),
    "started_at": _("started"),
    "status": _("status"),
    "status_from": _("previous status"),
    "status_to": _("new status"),
    "subject": _("data subject"),
    "subject_request_id": _("data-subject request"),
    "team_id": _("team"),
    "token_expires_at": _("token expires"),
    "two_factor": _("two-factor sign-in"),
    "updated_at": _("updated"),
    "user": _("user"),
    "user_id": _("person"),
    "version": _("version"),
    "visitor": _("visitor"),
    "visitor_id": _("visitor"),
    "visitors_deleted": _("visitors deleted"),
    "waiting_since": _("waiting since"),
}

# object_repr is stored at write time, in English for rows without a name
# ("membership #3 (admin)", "conversation K7Q2-ABCD", "notice v3"): the page
# shows only its identifying token ("#3", "K7Q2-ABCD", "v3") beside the
# translated model name. Rows of these models are named by people: shown whole.
_NAMED_MODELS = {"company", "team", "inbox", "cannedreply", "group", "user"}
_ID_TOKEN = re.compile(r"#\d+|v\d+|\S*[0-9A-Z]\S*")


@dataclass(frozen=True)
class Change:
    label: str
    old: str | None  # None: the value is not shown (a relation, a hidden field)
    new: str | None


def action_label(action: int) -> str:
    return str(ACTION_LABELS.get(action, action))


def model_label(content_type: ContentType | None) -> str:
    model = content_type.model_class() if content_type is not None else None
    if model is None:
        return content_type.model if content_type is not None else ""
    return capfirst(str(model._meta.verbose_name))


def event_label(entry: LogEntry, event: str) -> str:
    """The named event's label; a plain model change reads "Conversation: changed"."""
    if event in EVENT_LABELS:
        return str(EVENT_LABELS[event])
    return f"{model_label(entry.content_type)}: {action_label(entry.action)}"


def object_label(entry: LogEntry) -> str:
    """The row's name if people gave it one; otherwise only its id or reference."""
    text = entry.object_repr or ""
    if entry.content_type_id and entry.content_type.model in _NAMED_MODELS:
        return text
    found = _ID_TOKEN.search(text)
    return found.group(0) if found else f"#{entry.object_pk}"


def key_label(name: str, field: models.Field | None = None) -> str:
    if isinstance(field, models.ForeignObjectRel):  # a reverse relation: its model's name
        return str(field.related_model._meta.verbose_name_plural)
    verbose_name = getattr(field, "verbose_name", None)
    if isinstance(verbose_name, Promise):
        return str(verbose_name)
    if name in FIELD_LABELS:
        return str(FIELD_LABELS[name])
    return name.replace("_", " ")


def _model_field(model: type[models.Model] | None, name: str) -> models.Field | None:
    if model is None:
        return None
    try:
        return model._meta.get_field(name)
    except FieldDoesNotExist:
        return None


# Values shown beside a changed field: kinds that can hold no text a person
# typed (choices, yes/no, numbers, dates). Free text, relations and ids show
# as the field's label only, as before (no message text on the audit page).
_SHOWN_VALUE_FIELDS = (
    models.BooleanField,
    models.IntegerField,
    models.DateField,
    models.DurationField,
)


def _choice_label(field: models.Field, code: str) -> str:
    """A stored choice code as its (translated) name; an unknown code as it is."""
    return str(dict(field.flatchoices).get(code, code))


def _value(field: models.Field | None, raw: Any) -> str | None:
    """A stored value as a reader sees it; None hides it."""
    if field is None or field.is_relation or not field.concrete or field.name.endswith("_id"):
        return None
    if not (field.choices or isinstance(field, _SHOWN_VALUE_FIELDS)):
        return None
    if raw in (None, "None", ""):
        return "–"
    text = str(raw)
    if field.choices:
        return _choice_label(field, text)
    if isinstance(field, models.BooleanField):
        return gettext("yes") if text == "True" else gettext("no")
    if isinstance(field, models.DateTimeField):
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return text
        if timezone.is_aware(moment):
            moment = timezone.localtime(moment)
        return formats.date_format(moment, "SHORT_DATETIME_FORMAT")
    return text


def changes(entry: LogEntry) -> list[Change]:
    """The entry's field changes as "label: old → new" (values of relations hidden)."""
    model = entry.content_type.model_class() if entry.content_type_id else None
    result = []
    for name, values in sorted((entry.changes_dict or {}).items()):
        field = _model_field(model, name)
        if isinstance(values, dict) or not isinstance(values, list | tuple) or len(values) != 2:
            result.append(Change(key_label(name, field), None, None))  # m2m: what, not who
            continue
        old, new = _value(field, values[0]), _value(field, values[1])
        if old is None or new is None or entry.action != LogEntry.Action.UPDATE:
            # Hidden values (text, relations); a new or deleted row's fields
            # are its content, listed without values.
            result.append(Change(key_label(name, field), None, None))
        else:
            result.append(Change(key_label(name, field), old, new))
    return result


def _detail_value(key: str, value: Any, model: type[models.Model] | None = None) -> str:
    field = _model_field(model, key)
    if field is not None and field.choices and isinstance(value, str):
        return _choice_label(field, value)
    if key == "content_type_id":
        try:
            return model_label(ContentType.objects.get_for_id(int(value)))
        except (ContentType.DoesNotExist, TypeError, ValueError):
            return "–"
    if isinstance(value, dict):
        return ", ".join(f"{key_label(k)}: {_detail_value(k, v)}" for k, v in sorted(value.items()))
    if isinstance(value, list | tuple):
        return ", ".join(_detail_value(key, v) for v in value)
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if value is None or value == "":
        return "–"
    if key.endswith("_id") or key.endswith("_ids"):
        return f"#{value}"
    return str(value)


def details(extra: dict, model: type[models.Model] | None = None) -> list[tuple[str, str]]:
    """additional_data without company and event, as (label, value) pairs; a key that
    is a field of the entry's `model` with choices shows the choice's name, not its code."""
    return [(key_label(k), _detail_value(k, v, model)) for k, v in sorted(extra.items())]
