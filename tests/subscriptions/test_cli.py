"""``flask subscribers import|export|erase`` as an organiser runs them."""

import csv
import io

import pytest
import sqlalchemy as sa

from app.delivery.models import OutboxMessage
from app.extensions import db
from app.shared.audit import AuditEntry
from app.subscriptions.models import ConsentEvent, Subscriber, SubscriberStatus


def count(app, model=Subscriber):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def write(tmp_path, content: bytes, name="list.csv"):
    path = tmp_path / name
    path.write_bytes(content)
    return str(path)


OUTLOOK = ("Vorname;Nachname;E-Mail-Adresse;Firma;Stadtbezirk\r\n"
           "Jürgen;Weiß;juergen@example.org;Bürgerhaus Ost;Ost\r\n"
           "Anna;Schmidt;ANNA@example.org;;\r\n"
           "Kaputt;;keine-adresse;;\r\n"
           "Doppelt;;anna@example.org;;\r\n"
           "Falscher;Bezirk;bezirk@example.org;;Atlantis\r\n")


def test_preview_reports_and_changes_nothing(app, runner, tmp_path):
    path = write(tmp_path, OUTLOOK.encode("cp1252"))
    result = runner.invoke(args=["subscribers", "import", path])
    assert result.exit_code == 0, result.output
    assert "line 4: invalid:" in result.output
    assert "line 6: invalid: Einen Stadtbezirk „Atlantis“ gibt es nicht." in result.output
    assert "new: 2, already known: 1, invalid: 2" in result.output
    assert count(app) == 0


def test_apply_with_consent_note_makes_people_active(app, runner, tmp_path):
    path = write(tmp_path, b"\xef\xbb\xbf" + OUTLOOK.encode("utf-8"))
    refused = runner.invoke(args=["subscribers", "import", path, "--apply"])
    assert refused.exit_code == 1 and count(app) == 0
    assert len(refused.output.strip().splitlines()[-1]) > 0

    result = runner.invoke(args=["subscribers", "import", path, "--apply",
                                 "--consent-note", "Verteiler seit 2019, Zustimmung per Mail"])
    assert result.exit_code == 0, result.output
    assert "imported: 2 (active)" in result.output
    with app.app_context():
        juergen = db.session.scalar(sa.select(Subscriber).where(
            Subscriber.email == "juergen@example.org"))
        assert (juergen.name, juergen.organisation, juergen.district) == (
            "Jürgen Weiß", "Bürgerhaus Ost", "Ost")
        assert juergen.status == SubscriberStatus.ACTIVE and juergen.source == "import"
        assert juergen.consents[0].note == "Verteiler seit 2019, Zustimmung per Mail"

    again = runner.invoke(args=["subscribers", "import", path])
    assert "new: 0, already known: 3" in again.output


def test_confirm_by_mail_sends_each_a_confirmation(app, runner, tmp_path, mailbox):
    path = write(tmp_path, b"email,name\nkai@example.org,Kai\nlea@example.org,Lea\n")
    result = runner.invoke(args=["subscribers", "import", path, "--apply", "--confirm-by-mail"])
    assert result.exit_code == 0, result.output
    assert len(mailbox.to("kai@example.org")) == 1 and len(mailbox.to("lea@example.org")) == 1
    with app.app_context():
        assert set(db.session.scalars(sa.select(Subscriber.status))) == {"pending"}


@pytest.mark.parametrize(("content", "message"), [
    (b"name;organisation\nAnna;X\n", "erste Zeile muss die Spalten benennen"),
    (b"", "Datei ist leer"),
    (b"email\n\x81\x8d\x8f\x90\x9d\n", "weder UTF-8"),
], ids=["no e-mail column", "empty", "not text"])
def test_bad_files_get_one_clear_line(app, runner, tmp_path, content, message):
    result = runner.invoke(args=["subscribers", "import", write(tmp_path, content), "--apply",
                                 "--consent-note", "x"])
    assert result.exit_code == 1
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert count(app) == 0


def test_ten_thousand_rows_all_or_nothing(app, runner, tmp_path):
    rows = "\n".join(f"person{n}@example.org;Person {n}" for n in range(10_000))
    bad = "\nmitten@example.org;Name\r\nmit Umbruch"  # a broken name inside quotes
    path = write(tmp_path, f"email;name\n{rows}\n\"x@example.org\";\"a\nb\"{bad}".encode())
    result = runner.invoke(args=["subscribers", "import", path])
    assert "new: 10001, already known: 0, invalid: 2" in result.output
    applied = runner.invoke(args=["subscribers", "import", path, "--apply", "--consent-note",
                                  "Altbestand"])
    assert applied.exit_code == 0 and "imported: 10001" in applied.output
    assert count(app) == 10_001


def test_export_is_excel_readable_and_guards_formulas(app, runner, tmp_path):
    path = write(tmp_path, "email;name;organisation\nx@example.org;=HYPERLINK(1);Träger e.V.\n"
                 .encode())
    runner.invoke(args=["subscribers", "import", path, "--apply", "--consent-note", "x"])
    out = tmp_path / "export.csv"
    result = runner.invoke(args=["subscribers", "export", "--output", str(out)])
    assert result.exit_code == 0
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    [row] = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert row["email"] == "x@example.org" and row["name"] == "'=HYPERLINK(1)"
    assert row["organisation"] == "Träger e.V." and row["status"] == "active"
    assert row["source"] == "import" and row["confirmed_at"]
    # What we export, we can import again as it was.
    again = runner.invoke(args=["subscribers", "import", str(out)])
    assert "new: 0, already known: 1, invalid: 0" in again.output


def test_erase_removes_every_trace(app, runner, tmp_path, mailbox):
    path = write(tmp_path, b"email\nweg@example.org\nbleibt@example.org\n")
    runner.invoke(args=["subscribers", "import", path, "--apply", "--confirm-by-mail"])
    assert count(app, OutboxMessage) == 2
    result = runner.invoke(args=["subscribers", "erase", "WEG@example.org"])
    assert result.exit_code == 0, result.output
    assert count(app) == 1 and count(app, ConsentEvent) == 1 and count(app, OutboxMessage) == 1
    unknown = runner.invoke(args=["subscribers", "erase", "weg@example.org"])
    assert unknown.exit_code == 1
    assert unknown.output.strip() == "Error: weg@example.org steht nicht im Verteiler."
    bad = runner.invoke(args=["subscribers", "erase", "not an address"])
    assert bad.exit_code == 1 and len(bad.output.strip().splitlines()) == 1


def test_organiser_unsubscribes_someone(app, runner, tmp_path):
    path = write(tmp_path, b"email\nphone@example.org\n")
    runner.invoke(args=["subscribers", "import", str(path), "--apply", "--consent-note", "x"])
    assert runner.invoke(args=["subscribers", "unsubscribe", "Phone@Example.org"]).exit_code == 0
    unknown = runner.invoke(args=["subscribers", "unsubscribe", "nobody@example.org"])
    assert unknown.exit_code == 1 and unknown.output.strip() == "Error: nobody@example.org steht nicht im Verteiler."
    with app.app_context():
        assert db.session.scalar(sa.select(Subscriber.status)) == SubscriberStatus.UNSUBSCRIBED


def audit_entries(app):
    with app.app_context():
        return [(entry.actor, entry.action, entry.subject, entry.details or "")
                for entry in db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id))]


@pytest.mark.parametrize(("args", "action"), [
    (["import", "{list}", "--apply", "--consent-note", "Liste 2019"], "subscribers.import"),
    (["export", "--output", "{out}"], "subscribers.export"),
    (["unsubscribe", "alt@example.org"], "subscriber.unsubscribe"),
    (["erase", "alt@example.org"], "subscriber.erase"),
])
def test_every_command_that_touches_the_list_is_audited(app, runner, tmp_path, args, action):
    existing = write(tmp_path, b"email\nalt@example.org\n", "existing.csv")
    runner.invoke(args=["subscribers", "import", existing, "--apply", "--consent-note", "x"])
    before = len(audit_entries(app))
    paths = {"list": write(tmp_path, b"email\nneu@example.org\n"), "out": tmp_path / "out.csv"}
    result = runner.invoke(args=["subscribers", *[arg.format(**paths) for arg in args]])
    assert result.exit_code == 0, result.output
    [entry] = audit_entries(app)[before:]
    assert entry[:2] == ("cli", action)


def test_an_erasure_is_audited_without_personal_data(app, runner, tmp_path):
    path = write(tmp_path, b"email;name;organisation\nweg@example.org;Wanda Weg;Verein Weg\n")
    runner.invoke(args=["subscribers", "import", path, "--apply", "--consent-note", "x"])
    assert runner.invoke(args=["subscribers", "erase", "weg@example.org"]).exit_code == 0
    actor, action, subject, details = audit_entries(app)[-1]
    assert action == "subscriber.erase"
    for trace in ("weg@", "Wanda", "Verein"):
        assert trace not in f"{subject} {details}"


@pytest.mark.slow
def test_a_long_file_imports_whole_with_repeats_across_the_file_known(app, runner, tmp_path):
    """No row limit: 51,000 people (the import once stopped at 50,000 rows; this is the
    size that proves it does not), an address repeated 50,000 lines further down, and
    1,500 broken lines, of which the first thousand are listed."""
    rows = [f"person{n}@example.org;Person {n}" for n in range(51_000)]
    rows.insert(50_007, "PERSON7@example.org;Nochmal")
    rows += [f"kaputt{n};Kaputt" for n in range(1_500)]
    path = write(tmp_path, ("email;name\n" + "\n".join(rows) + "\n").encode())
    checked = runner.invoke(args=["subscribers", "import", path])
    assert checked.exit_code == 0, checked.output
    lines = checked.output.splitlines()
    assert sum(line.startswith("line ") for line in lines) == 1_000
    assert "... and 500 more invalid lines" in lines
    assert "new: 51000, already known: 1, invalid: 1500" in lines
    applied = runner.invoke(args=["subscribers", "import", path, "--apply", "--consent-note",
                                  "Altbestand"])
    assert applied.exit_code == 0 and "imported: 51000 (active)" in applied.output
    assert count(app) == 51_000 and count(app, ConsentEvent) == 51_000
    with app.app_context():
        assert db.session.scalar(sa.select(Subscriber.name).where(
            Subscriber.email == "person7@example.org")) == "Person 7"


def test_the_list_can_come_from_standard_input(app, runner):
    result = runner.invoke(args=["subscribers", "import", "-", "--apply", "--consent-note",
                                 "Altbestand"], input=OUTLOOK.encode("cp1252"))
    assert result.exit_code == 0, result.output
    assert "imported: 2 (active)" in result.output and count(app) == 2
