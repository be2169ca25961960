"""FAQ import and export (issue 14): formats, all-or-nothing, limits, commands, the page."""

import csv
import io
import json
import time

import pytest
from auditlog.models import LogEntry
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError

from conversations import faq_io
from conversations.faq_io import FaqImportError, faq_import
from conversations.models import FaqEntry, Inbox

pytestmark = pytest.mark.django_db

SAMPLE = [
    {"questions": ["Where is my parcel?", "track my order"], "answer": "See the tracking link."},
    {
        "questions": ["Wie kann ich zurückgeben?", "Rücksendung"],
        "answer": "Mit dem Retourenschein.",
        "language": "de",
        "asks_for_contact": True,
    },
    {"questions": ["=1+1", "-minus", "@at"], "answer": "+49 formula", "language": "en"},
]


def as_json(items) -> bytes:
    return json.dumps(items).encode()


def as_csv(rows, header=("entry", "language", "question", "answer")) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def entries_of(inbox) -> list[tuple]:
    return [
        (e.question_list, e.answer, e.language, e.asks_for_contact)
        for e in FaqEntry.objects.filter(inbox=inbox).order_by("position", "id")
    ]


def refused(inbox, data: bytes, fmt: str, **kwargs) -> str:
    before = entries_of(inbox)
    version = Inbox.objects.get(pk=inbox.pk).faq_version
    with pytest.raises(FaqImportError) as caught:
        faq_import(inbox=inbox, data=data, fmt=fmt, **kwargs)
    assert entries_of(inbox) == before, "a refused file changed the FAQ"
    assert Inbox.objects.get(pk=inbox.pk).faq_version == version
    return caught.value.message


# --- round trips ---------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_export_then_import_with_replace_gives_the_same_entries(personas, fmt):
    inbox = personas.inbox_a
    faq_import(inbox=inbox, data=as_json(SAMPLE), fmt="json")
    original = entries_of(inbox)
    assert len(original) == 3 and original[1][3] is True
    exported = faq_io.faq_export(inbox=inbox, fmt=fmt)
    result = faq_import(inbox=inbox, data=exported.encode(), fmt=fmt, replace=True)
    assert result.deleted == 3 and result.entries == 3 and result.variants == 7
    assert entries_of(inbox) == original
    assert FaqEntry.objects.filter(inbox=inbox).count() == 3


def test_csv_export_neutralises_formula_cells(personas):
    faq_import(inbox=personas.inbox_a, data=as_json(SAMPLE), fmt="json")
    rows = list(csv.reader(io.StringIO(faq_io.faq_export_csv(inbox=personas.inbox_a))))
    cells = [cell for row in rows[1:] for cell in row]
    assert "'=1+1" in cells and "'-minus" in cells and "'@at" in cells and "'+49 formula" in cells
    assert not any(c.startswith(("=", "+", "-", "@")) for c in cells)


def test_import_without_replace_appends_after_the_current_entries(personas):
    inbox = personas.inbox_a
    FaqEntry.objects.create(company=personas.company_a, inbox=inbox, questions="Hi", answer="Ho")
    faq_import(inbox=inbox, data=as_json(SAMPLE[:1]), fmt="json")
    assert [e[1] for e in entries_of(inbox)] == ["Ho", "See the tracking link."]


def test_import_is_audited_once_with_counts_and_bumps_the_faq_version(personas):
    inbox = personas.inbox_a
    version = inbox.faq_version
    faq_import(inbox=inbox, data=as_json(SAMPLE), fmt="json", actor=personas.alice)
    assert Inbox.objects.get(pk=inbox.pk).faq_version == version + 1
    entries = LogEntry.objects.filter(additional_data__event="faq.imported")
    assert entries.count() == 1
    data = entries.get().additional_data
    assert data["entries"] == 3 and data["variants"] == 7 and data["company_id"] == inbox.company_id
    assert "tracking" not in json.dumps(data)
    # bulk insert: no per-entry audit rows
    assert not LogEntry.objects.filter(content_type__model="faqentry").exists()


def test_csv_rows_of_one_entry_may_leave_the_answer_empty_or_repeat_it(personas):
    data = as_csv(
        [
            ["a", "de", "Frage eins", "Antwort A"],
            ["b", "", "Question two", "Answer B"],
            ["a", "", "Frage eins bis", ""],
            ["a", "de", "Frage eins ter", "Antwort A"],
        ]
    )
    faq_import(inbox=personas.inbox_a, data=data, fmt="csv")
    assert entries_of(personas.inbox_a) == [
        (["Frage eins", "Frage eins bis", "Frage eins ter"], "Antwort A", "de", False),
        (["Question two"], "Answer B", "", False),
    ]


def test_csv_with_semicolons_and_a_bom_as_a_german_spreadsheet_writes_it(personas):
    data = "\ufeffentry;language;question;answer\r\n1;de;Wo ist mein Paket?;Hier.\r\n".encode()
    faq_import(inbox=personas.inbox_a, data=data, fmt="csv")
    assert entries_of(personas.inbox_a) == [(["Wo ist mein Paket?"], "Hier.", "de", False)]


def test_duplicate_variants_across_entries_are_allowed(personas):
    items = [{"questions": ["same"], "answer": "one"}, {"questions": ["same"], "answer": "two"}]
    faq_import(inbox=personas.inbox_a, data=as_json(items), fmt="json")
    assert [e[0] for e in entries_of(personas.inbox_a)] == [["same"], ["same"]]


# --- bad input: clear errors, nothing changed ------------------------------------


@pytest.fixture
def filled(personas):
    faq_import(inbox=personas.inbox_a, data=as_json(SAMPLE[:1]), fmt="json")
    return personas.inbox_a


@pytest.mark.parametrize(
    ("data", "fmt", "expected"),
    [
        (b"", "json", "The file is empty."),
        (b"   \n", "csv", "The file is empty."),
        (b"[]", "json", "The file holds no FAQ entries."),
        (b'[{"questions": ["a"], "answer": "b"},]', "json", "The file is not valid JSON (line 1"),
        (b'{"questions": ["a"]}', "json", "The JSON file must hold a list of entries."),
        (b"\xff\xfe\x00", "json", "The file is not UTF-8 text."),
        (
            as_json([{"questions": ["a"], "answer": "b"}, {"questions": ["c"]}]),
            "json",
            "entry 2: answer is missing.",
        ),
        (as_json([{"questions": ["a"], "answer": "  "}]), "json", "entry 1: answer is empty."),
        (
            as_json(
                [
                    {"questions": ["a"], "answer": "b"},
                    {"questions": ["a"], "answer": "b", "language": "fr"},
                ]
            ),
            "json",
            "entry 2: language 'fr' is not offered",
        ),
        (as_json([{"questions": [], "answer": "b"}]), "json", "entry 1: questions must be"),
        (
            as_json([{"questions": ["a", " "], "answer": "b"}]),
            "json",
            "entry 1: a question is empty.",
        ),
        (as_json([{"question": ["a"], "answer": "b"}]), "json", "entry 1: unknown key 'question'."),
        (
            as_json([{"questions": ["a"], "answer": "b", "asks_for_contact": "yes"}]),
            "json",
            "entry 1: asks_for_contact must be true or false.",
        ),
        (
            as_json([{"questions": ["x" * 301], "answer": "b"}]),
            "json",
            "entry 1: a question is longer than 300 characters.",
        ),
        (
            as_json([{"questions": ["a"], "answer": "b" * 4001}]),
            "json",
            "entry 1: the answer is longer than 4000 characters.",
        ),
        (b"entry,question,answer\n1,a,b\n", "csv", "The CSV header lacks the column(s) language"),
        (
            b"entry,language,question,answer,colour\n1,,a,b,red\n",
            "csv",
            "Unknown CSV column 'colour'.",
        ),
        (b"entry,language,question,answer\n1,,a,\n", "csv", "row 2: answer is empty."),
        (b"entry,language,question,answer\n1,,a,b\n,,c,d\n", "csv", "row 3: entry is empty."),
        (
            b"entry,language,question,answer\n1,,a,b\n1,,c,other\n",
            "csv",
            "row 3: answer differs from the first row of entry '1' (row 2)",
        ),
        (b'entry,language,question,answer\n1,,"a,b\n', "csv", "The file is not valid CSV"),
        (
            b"entry,language,question,answer\n1,fr,a,b\n",
            "csv",
            "row 2: language 'fr' is not offered",
        ),
    ],
)
def test_bad_files_are_refused_with_a_clear_error_and_nothing_changes(filled, data, fmt, expected):
    message = refused(filled, data, fmt)
    assert message.startswith(expected) or expected in message, message
    assert "\n" not in message


def test_an_error_on_the_last_row_leaves_the_faq_unchanged_even_with_replace(filled):
    rows = [[str(n), "en", f"question {n}", f"answer {n}"] for n in range(1, 200)]
    rows.append(["200", "en", "question 200", ""])
    message = refused(filled, as_csv(rows), "csv", replace=True)
    assert message == "row 201: answer is empty."


def test_a_failure_while_writing_rolls_back_the_replace_too(filled, monkeypatch):
    """The delete of --replace and the insert are one transaction."""

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(FaqEntry.objects, "bulk_create", broken)
    before = entries_of(filled)
    with pytest.raises(RuntimeError):
        faq_import(inbox=filled, data=as_json(SAMPLE), fmt="json", replace=True)
    assert entries_of(filled) == before


def test_files_over_the_size_cap_are_refused(filled):
    big = b"[" + b" " * (faq_io.MAX_FILE_BYTES + 1) + b"]"
    assert refused(filled, big, "json") == "The file is too big: at most 5 MB."


def test_more_variants_than_the_cap_are_refused(filled, monkeypatch):
    monkeypatch.setattr(faq_io, "MAX_VARIANTS", 5)
    rows = [["1", "", f"q{n}", "a"] for n in range(6)]
    assert refused(filled, as_csv(rows), "csv") == "Too many question variants: more than 5."
    items = [{"questions": [f"q{n}" for n in range(6)], "answer": "a"}]
    assert refused(filled, as_json(items), "json") == "Too many question variants: more than 5."


def test_ten_thousand_variants_import_in_seconds(personas, capsys):
    rows = [
        [str(n // 50), "en", f"question variant {n}", f"answer {n // 50}"] for n in range(10_000)
    ]
    data = as_csv(rows)
    started = time.perf_counter()
    result = faq_import(inbox=personas.inbox_a, data=data, fmt="csv", replace=True)
    took = time.perf_counter() - started
    assert result.entries == 200 and result.variants == 10_000
    assert took < 5, took
    with capsys.disabled():
        print(f"\n[faq import] 10,000 variants / 200 entries: {took:.2f} s")
    replaced_at = time.perf_counter()
    faq_import(inbox=personas.inbox_a, data=data, fmt="csv", replace=True)
    assert time.perf_counter() - replaced_at < 5
    assert FaqEntry.objects.filter(inbox=personas.inbox_a).count() == 200


# --- commands ---------------------------------------------------------------------


def test_import_and_export_commands_round_trip(personas, tmp_path, capsys):
    path = tmp_path / "faq.json"
    path.write_bytes(as_json(SAMPLE))
    call_command("import_faq", "--inbox", "acme-web", str(path))
    assert "Imported 3 entries (7 question variants)" in capsys.readouterr().out
    call_command("export_faq", "--inbox", "acme-web", "--format", "csv")
    exported = capsys.readouterr().out
    csv_path = tmp_path / "faq.csv"
    csv_path.write_text(exported, encoding="utf-8")
    before = entries_of(personas.inbox_a)
    call_command("import_faq", "--inbox", "acme-web", str(csv_path), "--replace")
    assert "deleted 3" in capsys.readouterr().out
    assert entries_of(personas.inbox_a) == before
    call_command("export_faq", "--inbox", "acme-web")
    assert json.loads(capsys.readouterr().out)[1]["language"] == "de"


def test_import_command_errors_are_one_line_and_exit_1(personas, tmp_path):
    bad = tmp_path / "faq.csv"
    bad.write_bytes(b"entry,language,question,answer\n1,,a,\n")
    for args, expected in [
        (["--inbox", "acme-web", str(bad)], "row 2: answer is empty."),
        (["--inbox", "nope", str(bad)], "No inbox with this public key."),
        (["--inbox", "acme-web", str(tmp_path / "faq.txt")], "Unknown file format"),
        (["--inbox", "acme-web", str(tmp_path / "missing.json")], "Cannot read"),
    ]:
        with pytest.raises(CommandError) as caught:
            call_command("import_faq", *args)
        assert str(caught.value).startswith(expected) and "\n" not in str(caught.value)
        assert caught.value.returncode == 1
    assert not FaqEntry.objects.exists()


def test_commands_exit_with_status_1_in_a_real_process(personas, tmp_path):
    """Through manage.py, as an operator of the product runs it."""
    import subprocess
    import sys

    from django.conf import settings

    bad = tmp_path / "faq.txt"  # refused before the database is asked
    bad.write_bytes(b"[")
    proc = subprocess.run(
        [sys.executable, "manage.py", "import_faq", "--inbox", "no-such-key", str(bad)],
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
        timeout=60,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().count("\n") == 0 and "Unknown file format" in proc.stderr


# --- the FAQ page: upload and download ---------------------------------------------


def upload(client, inbox, content: bytes, name: str, replace: bool = False):
    data = {"file": SimpleUploadedFile(name, content)}
    if replace:
        data["replace"] = "on"
    return client.post(f"/console/inboxes/{inbox.pk}/faq/import/", data)


def test_an_admin_uploads_a_file_and_downloads_both_formats(personas, login):
    client = login(personas.alice)
    response = upload(client, personas.inbox_a, as_json(SAMPLE), "faq.json")
    assert response.status_code == 302
    assert len(entries_of(personas.inbox_a)) == 3
    page = client.get(response["Location"])
    assert "Imported 3 answers with 7 questions." in page.content.decode()
    got = client.get(f"/console/inboxes/{personas.inbox_a.pk}/faq/export/?format=csv")
    assert got["Content-Type"].startswith("text/csv") and "attachment" in got["Content-Disposition"]
    assert "'=1+1" in got.content.decode()
    got = client.get(f"/console/inboxes/{personas.inbox_a.pk}/faq/export/?format=json")
    assert json.loads(got.content)[0]["questions"] == ["Where is my parcel?", "track my order"]
    assert LogEntry.objects.filter(additional_data__event="faq.exported").count() == 2
    response = upload(client, personas.inbox_a, got.content, "again.json", replace=True)
    assert response.status_code == 302 and len(entries_of(personas.inbox_a)) == 3


def test_a_bad_upload_shows_the_error_on_the_page_and_changes_nothing(personas, login):
    client = login(personas.alice)
    response = upload(client, personas.inbox_a, b"entry,language,question,answer\n1,,a,\n", "f.csv")
    assert response.status_code == 400
    assert "row 2: answer is empty." in response.content.decode()
    response = upload(client, personas.inbox_a, b"[]", "faq.txt")
    assert response.status_code == 400 and "Unknown file format" in response.content.decode()
    response = client.post(f"/console/inboxes/{personas.inbox_a.pk}/faq/import/", {})
    assert response.status_code == 400 and "Choose a file to import." in response.content.decode()
    assert not FaqEntry.objects.exists()


def test_a_10_mb_upload_gets_a_clear_error_not_a_500(personas, login):
    client = login(personas.alice)
    response = upload(client, personas.inbox_a, b"[" + b" " * (10 * 1024 * 1024) + b"]", "big.json")
    assert response.status_code == 413
    assert "The file is too big: at most 5 MB." in response.content.decode()
    response = upload(client, personas.inbox_a, b"[" + b" " * (30 * 1024 * 1024) + b"]", "b.json")
    assert response.status_code == 413
    assert "The file is too big: at most 5 MB." in response.content.decode()
    assert not FaqEntry.objects.exists()


def test_the_upload_checks_csrf(personas, client):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(personas.alice)
    response = upload(strict, personas.inbox_a, as_json(SAMPLE), "faq.json")
    assert response.status_code == 403
    assert not FaqEntry.objects.exists()


@pytest.mark.parametrize("user", ["bob", "charlie", "dave"])
def test_only_the_companys_admins_can_import_or_export(personas, login, user):
    client = login(getattr(personas, user))
    inbox = personas.inbox_a
    assert upload(client, inbox, as_json(SAMPLE), "faq.json").status_code == 404
    assert client.get(f"/console/inboxes/{inbox.pk}/faq/export/").status_code == 404
    assert client.get(f"/console/inboxes/{inbox.pk}/faq/").status_code == 404
    assert not FaqEntry.objects.exists()
