"""FAQ import and export: JSON and CSV files of an inbox's bot answers.

Invariant: an import is all-or-nothing. The whole file is parsed and validated
in memory first (every error names its row or entry); only a file without any
error is written, in ONE transaction that (with ``replace``) deletes the
inbox's entries, bulk-inserts the new ones, writes one audit entry
"faq.imported" (counts only, never FAQ or visitor text) and bumps the inbox's
FAQ version (conversations.bot.faq_changed), so an error anywhere leaves the
FAQ exactly as it was.

Formats (issue 14):

- JSON: a list of ``{"questions": [...], "answer": "...", "language": "de",
  "asks_for_contact": false}``; ``language`` and ``asks_for_contact`` are
  optional (no language: the inbox's language). Unknown keys are an error, so
  a typo ("question") is not silently dropped.
- CSV (UTF-8, with or without BOM; a header row): columns ``entry``,
  ``language``, ``question``, ``answer`` and optionally ``asks_for_contact``;
  one row per question variant; rows with the same ``entry`` value form one
  entry (in the order of their first row). The answer, language and
  asks_for_contact are given on the entry's first row; later rows of the same
  entry may leave them empty or repeat them exactly, a different value is an
  error. Rows are numbered as a spreadsheet shows them (the header is row 1).
  Export writes the answer on every row (easy to filter in a spreadsheet) and
  neutralises formula cells (chatbot_site.lib.csvsafe); import undoes that
  neutralisation: a leading apostrophe before ``= + - @`` is dropped, so an
  exported file imports back unchanged.

Question variants are stored one per line: whitespace inside a variant
(including line breaks) is collapsed to single spaces.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass

from auditlog.context import disable_auditlog
from auditlog.models import LogEntry
from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from chatbot_site.lib.audit import audit_access, audit_event
from chatbot_site.lib.csvsafe import FORMULA_STARTS, safe_row
from chatbot_site.lib.errors import ServiceError
from conversations.bot import faq_changed
from conversations.models import FaqEntry, Inbox

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_ENTRIES = 5_000
MAX_VARIANTS = 20_000
MAX_QUESTION_LENGTH = 300  # as the FAQ form (conversations.forms.FaqEntryForm)
MAX_ANSWER_LENGTH = 4000
MAX_ENTRY_KEY_LENGTH = 100
BULK_BATCH = 1000

JSON = "json"
CSV = "csv"
FORMATS = (JSON, CSV)
CSV_COLUMNS = ["entry", "language", "question", "answer", "asks_for_contact"]
REQUIRED_CSV_COLUMNS = {"entry", "language", "question", "answer"}
JSON_KEYS = {"questions", "answer", "language", "asks_for_contact"}
TRUE_WORDS = {"true", "1", "yes", "ja", "x"}
FALSE_WORDS = {"false", "0", "no", "nein", ""}


class FaqImportError(ServiceError):
    """The file was refused; the message names the row or entry and what is wrong."""

    code = "faq_import_invalid"
    status = 400


@dataclass(frozen=True)
class ParsedEntry:
    questions: tuple[str, ...]
    answer: str
    language: str
    asks_for_contact: bool


@dataclass(frozen=True)
class ImportResult:
    entries: int
    variants: int
    deleted: int
    seconds: float


def offered_languages() -> tuple[str, ...]:
    return tuple(code for code, _name in settings.LANGUAGES)


def format_for_name(name: str) -> str | None:
    """The format a file name's extension stands for, or None."""
    lowered = name.lower()
    for fmt in FORMATS:
        if lowered.endswith("." + fmt):
            return fmt
    return None


# --- parsing ----------------------------------------------------------------


def _short(value: object) -> str:
    """A value quoted for an error message, cut short (errors are one line)."""
    text = " ".join(str(value).split())
    return repr(text[:20] + "…" if len(text) > 20 else text)


def _decode(data: bytes) -> str:
    if len(data) > MAX_FILE_BYTES:
        raise FaqImportError(
            _("The file is too big: at most %(mb)d MB.") % {"mb": MAX_FILE_BYTES // (1024 * 1024)}
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FaqImportError(_("The file is not UTF-8 text.")) from None
    if not text.strip():
        raise FaqImportError(_("The file is empty."))
    return text


def _clean_question(value: str, *, where: str) -> str:
    question = " ".join(value.split())
    if not question:
        raise FaqImportError(_("%(where)s: a question is empty.") % {"where": where})
    if len(question) > MAX_QUESTION_LENGTH:
        raise FaqImportError(
            _("%(where)s: a question is longer than %(max)d characters.")
            % {"where": where, "max": MAX_QUESTION_LENGTH}
        )
    return question


def _clean_answer(value: str, *, where: str) -> str:
    answer = value.strip()
    if not answer:
        raise FaqImportError(_("%(where)s: answer is empty.") % {"where": where})
    if len(answer) > MAX_ANSWER_LENGTH:
        raise FaqImportError(
            _("%(where)s: the answer is longer than %(max)d characters.")
            % {"where": where, "max": MAX_ANSWER_LENGTH}
        )
    return answer


def _clean_language(value: str, *, where: str) -> str:
    language = value.strip().lower()
    if language and language not in offered_languages():
        raise FaqImportError(
            _("%(where)s: language %(language)s is not offered (%(offered)s).")
            % {
                "where": where,
                "language": _short(value),
                "offered": ", ".join(offered_languages()),
            }
        )
    return language


def _check_totals(entries: list[ParsedEntry]) -> list[ParsedEntry]:
    if not entries:
        raise FaqImportError(_("The file holds no FAQ entries."))
    if len(entries) > MAX_ENTRIES:
        raise FaqImportError(_("Too many entries: at most %(max)d.") % {"max": MAX_ENTRIES})
    variants = sum(len(e.questions) for e in entries)
    if variants > MAX_VARIANTS:
        raise FaqImportError(
            _("Too many question variants: %(count)d, at most %(max)d.")
            % {"count": variants, "max": MAX_VARIANTS}
        )
    return entries


def parse_json(data: bytes) -> list[ParsedEntry]:
    """The entries of a JSON FAQ file, or FaqImportError naming the entry (counted from 1)."""
    text = _decode(data)
    try:
        items = json.loads(text)
    except json.JSONDecodeError as error:
        raise FaqImportError(
            _("The file is not valid JSON (line %(line)d, column %(column)d: %(problem)s).")
            % {"line": error.lineno, "column": error.colno, "problem": error.msg}
        ) from None
    if not isinstance(items, list):
        raise FaqImportError(_("The JSON file must hold a list of entries."))
    entries = []
    variants = 0
    for number, item in enumerate(items, start=1):
        where = _("entry %(number)d") % {"number": number}
        if not isinstance(item, dict):
            raise FaqImportError(_("%(where)s: must be an object.") % {"where": where})
        unknown = sorted(set(item) - JSON_KEYS)
        if unknown:
            raise FaqImportError(
                _("%(where)s: unknown key %(key)s.") % {"where": where, "key": _short(unknown[0])}
            )
        questions = item.get("questions")
        if isinstance(questions, str):
            questions = [questions]
        if not isinstance(questions, list) or not questions:
            raise FaqImportError(
                _("%(where)s: questions must be a non-empty list.") % {"where": where}
            )
        if not all(isinstance(q, str) for q in questions):
            raise FaqImportError(_("%(where)s: every question must be text.") % {"where": where})
        variants += len(questions)
        if variants > MAX_VARIANTS:
            raise FaqImportError(
                _("Too many question variants: more than %(max)d.") % {"max": MAX_VARIANTS}
            )
        answer = item.get("answer")
        if answer is None:
            raise FaqImportError(_("%(where)s: answer is missing.") % {"where": where})
        if not isinstance(answer, str):
            raise FaqImportError(_("%(where)s: answer must be text.") % {"where": where})
        language = item.get("language") or ""
        if not isinstance(language, str):
            raise FaqImportError(_("%(where)s: language must be text.") % {"where": where})
        contact = item.get("asks_for_contact", False)
        if not isinstance(contact, bool):
            raise FaqImportError(
                _("%(where)s: asks_for_contact must be true or false.") % {"where": where}
            )
        entries.append(
            ParsedEntry(
                questions=tuple(_clean_question(q, where=where) for q in questions),
                answer=_clean_answer(answer, where=where),
                language=_clean_language(language, where=where),
                asks_for_contact=contact,
            )
        )
    return _check_totals(entries)


def _unneutralise(value: str) -> str:
    """Undo csvsafe's leading apostrophe (an exported cell imports back as it was)."""
    if value.startswith("'") and value[1:].startswith(FORMULA_STARTS):
        return value[1:]
    return value


def _csv_bool(value: str, *, where: str) -> bool:
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise FaqImportError(_("%(where)s: asks_for_contact must be true or false.") % {"where": where})


def _delimiter(text: str) -> str:
    """Comma, or the semicolon or tab a German spreadsheet may write, read from the header."""
    header = text.split("\n", 1)[0]
    for delimiter in (",", ";", "\t"):
        names = {cell.strip().strip('"').lower() for cell in header.split(delimiter)}
        if {"entry", "question"} <= names:
            return delimiter
    return ","


def parse_csv(data: bytes) -> list[ParsedEntry]:
    """The entries of a CSV FAQ file, or FaqImportError naming the row (header = row 1)."""
    text = _decode(data)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=True)
    try:
        header = [_unneutralise(cell).strip().lower() for cell in next(reader)]
        missing = sorted(REQUIRED_CSV_COLUMNS - set(header))
        if missing:
            raise FaqImportError(
                _("The CSV header lacks the column(s) %(columns)s (needed: %(needed)s).")
                % {"columns": ", ".join(missing), "needed": "entry, language, question, answer"}
            )
        unknown = [c for c in header if c not in CSV_COLUMNS]
        if unknown:
            raise FaqImportError(
                _("Unknown CSV column %(column)s.") % {"column": _short(unknown[0])}
            )
        if len(set(header)) != len(header):
            raise FaqImportError(_("A CSV column appears twice in the header."))
        index = {name: header.index(name) for name in header}
        groups: dict[str, dict] = {}
        variants = 0
        for row_number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue  # a blank line (spreadsheets add them at the end)
            where = _("row %(number)d") % {"number": row_number}
            if len(cells) > len(header):
                raise FaqImportError(
                    _("%(where)s: more cells than header columns.") % {"where": where}
                )
            cells = [_unneutralise(c) for c in cells] + [""] * (len(header) - len(cells))
            value = {name: cells[i] for name, i in index.items()}
            key = value["entry"].strip()
            if not key:
                raise FaqImportError(_("%(where)s: entry is empty.") % {"where": where})
            if len(key) > MAX_ENTRY_KEY_LENGTH:
                raise FaqImportError(_("%(where)s: entry is too long.") % {"where": where})
            question = _clean_question(value["question"], where=where)
            variants += 1
            if variants > MAX_VARIANTS:
                raise FaqImportError(
                    _("Too many question variants: more than %(max)d.") % {"max": MAX_VARIANTS}
                )
            group = groups.get(key)
            if group is None:
                if len(groups) >= MAX_ENTRIES:
                    raise FaqImportError(
                        _("Too many entries: at most %(max)d.") % {"max": MAX_ENTRIES}
                    )
                groups[key] = {
                    "row": row_number,
                    "questions": [question],
                    "answer": _clean_answer(value["answer"], where=where),
                    "language": _clean_language(value["language"], where=where),
                    "asks_for_contact": _csv_bool(value.get("asks_for_contact", ""), where=where),
                }
                continue
            group["questions"].append(question)
            for column in ("answer", "language", "asks_for_contact"):
                raw = value.get(column, "")
                if not raw.strip():
                    continue
                if column == "asks_for_contact":
                    same = _csv_bool(raw, where=where) == group[column]
                elif column == "language":
                    same = raw.strip().lower() == group[column]
                else:
                    same = raw.strip() == group[column]
                if not same:
                    raise FaqImportError(
                        _(
                            "%(where)s: %(column)s differs from the first row of entry "
                            "%(entry)s (row %(first)d); leave it empty or repeat it exactly."
                        )
                        % {
                            "where": where,
                            "column": column,
                            "entry": _short(key),
                            "first": group["row"],
                        }
                    )
    except csv.Error as error:
        raise FaqImportError(
            _("The file is not valid CSV (row %(row)d: %(problem)s).")
            % {"row": reader.line_num, "problem": str(error)}
        ) from None
    except StopIteration:
        raise FaqImportError(_("The file is empty.")) from None
    return _check_totals(
        [
            ParsedEntry(
                questions=tuple(g["questions"]),
                answer=g["answer"],
                language=g["language"],
                asks_for_contact=g["asks_for_contact"],
            )
            for g in groups.values()
        ]
    )


def parse_faq(*, data: bytes, fmt: str) -> list[ParsedEntry]:
    if fmt == JSON:
        return parse_json(data)
    if fmt == CSV:
        return parse_csv(data)
    raise FaqImportError(_("Unknown file format: use .json or .csv."))


# --- writing ----------------------------------------------------------------


def faq_import(
    *, inbox: Inbox, data: bytes, fmt: str, replace: bool = False, actor: object = None
) -> ImportResult:
    """Import a FAQ file into `inbox`: all of it, or nothing (FaqImportError).

    The file is parsed and checked before the transaction starts. With
    `replace` the inbox's entries are deleted first, in the same transaction.
    The entries are bulk-inserted (no per-row audit entries); ONE audit entry
    "faq.imported" holds the counts.
    """
    started = time.perf_counter()
    entries = parse_faq(data=data, fmt=fmt)
    deleted = _write(inbox=inbox, entries=entries, fmt=fmt, replace=replace, actor=actor)
    return ImportResult(
        entries=len(entries),
        variants=sum(len(e.questions) for e in entries),
        deleted=deleted,
        seconds=time.perf_counter() - started,
    )


@transaction.atomic
def _write(
    *, inbox: Inbox, entries: list[ParsedEntry], fmt: str, replace: bool, actor: object
) -> int:
    # Lock the inbox row: two imports into one inbox run one after the other.
    Inbox.objects.select_for_update().filter(pk=inbox.pk).values_list("pk", flat=True).first()
    existing = FaqEntry.objects.filter(company_id=inbox.company_id, inbox_id=inbox.pk)
    deleted = 0
    if replace:
        with disable_auditlog():
            deleted = existing.count()
            existing.delete()
        start_position = 0
    else:
        start_position = (existing.aggregate(top=Max("position"))["top"] or 0) + 1
    FaqEntry.objects.bulk_create(
        [
            FaqEntry(
                company_id=inbox.company_id,
                inbox_id=inbox.pk,
                questions="\n".join(entry.questions),
                answer=entry.answer,
                language=entry.language,
                asks_for_contact=entry.asks_for_contact,
                position=start_position + number,
            )
            for number, entry in enumerate(entries)
        ],
        batch_size=BULK_BATCH,
    )
    variants = sum(len(e.questions) for e in entries)
    audit_event(
        company_id=inbox.company_id,
        actor=actor,
        obj=inbox,
        action=LogEntry.Action.UPDATE,
        event="faq.imported",
        inbox_id=inbox.pk,
        format=fmt,
        replace=replace,
        entries=len(entries),
        variants=variants,
        deleted=deleted,
    )
    faq_changed(inbox_id=inbox.pk)
    return deleted


# --- export -----------------------------------------------------------------


def _export_entries(inbox: Inbox) -> Iterable[FaqEntry]:
    return FaqEntry.objects.filter(company_id=inbox.company_id, inbox_id=inbox.pk).order_by(
        "position", "id"
    )


def faq_export_json(*, inbox: Inbox) -> str:
    """The inbox's FAQ in the JSON import format (language only where one is set)."""
    items = []
    for entry in _export_entries(inbox):
        item: dict = {"questions": entry.question_list, "answer": entry.answer}
        if entry.language:
            item["language"] = entry.language
        item["asks_for_contact"] = entry.asks_for_contact
        items.append(item)
    return json.dumps(items, ensure_ascii=False, indent=2) + "\n"


def faq_export_csv(*, inbox: Inbox) -> str:
    """The inbox's FAQ as CSV (one row per variant), formula cells neutralised."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for number, entry in enumerate(_export_entries(inbox), start=1):
        for question in entry.question_list:
            writer.writerow(
                safe_row(
                    [
                        str(number),
                        entry.language,
                        question,
                        entry.answer,
                        "true" if entry.asks_for_contact else "false",
                    ]
                )
            )
    return out.getvalue()


def faq_export(*, inbox: Inbox, fmt: str) -> str:
    if fmt == CSV:
        return faq_export_csv(inbox=inbox)
    return faq_export_json(inbox=inbox)


def faq_download(*, inbox: Inbox, fmt: str, actor: object) -> str:
    """An admin's download from the FAQ page: the export, audited as an access."""
    body = faq_export(inbox=inbox, fmt=fmt)
    audit_access(
        company_id=inbox.company_id,
        actor=actor,
        obj=inbox,
        event="faq.exported",
        inbox_id=inbox.pk,
        format=fmt,
    )
    return body
