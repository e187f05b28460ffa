"""``delivery.compose``: a template in the reader's language becomes a mail whose
envelope tag, Message-ID and list headers belong together."""

from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser

from flask_babel import gettext

from app.delivery import compose
from tests.conftest import list_member_mail, member


def test_a_list_mail_carries_its_code_in_message_id_and_envelope(app):
    with app.test_request_context():
        mail = list_member_mail(member("anna@example.org"), "Hallo",
                                sender="Stadtteilvernetzer <liste@vernetzer.example>")
    message = BytesParser(policy=policy.default).parsebytes(mail.data)
    assert len(mail.code) == 32
    assert message["Message-ID"] == mail.message_id == f"<{mail.code}@vernetzer.example>"
    assert mail.sender == f"einladung+{mail.code}@vernetzer.example"
    unsubscribe = message["List-Unsubscribe"]
    assert unsubscribe.startswith("<https://vernetzer.example/abmelden/")
    assert "mailto:" in unsubscribe
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Auto-Submitted"] == "auto-generated"


def test_the_same_code_and_date_make_the_same_mail(app):
    """A retry renders the mail again: with the row's code and date it is the same
    mail, byte for byte."""
    def welcome():
        return compose.compose("welcome", "Willkommen", address="ben@example.org", name="Ben",
                               language="de", sender="liste@vernetzer.example", code="a" * 32,
                               date=datetime(2026, 12, 7, 8, tzinfo=UTC),
                               calendar_url="https://x", webcal_url="webcal://x")

    with app.test_request_context():
        first, again = welcome(), welcome()
    assert first.data == again.data
    assert first.message_id == "<aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@vernetzer.example>"
    assert b"Date: Mon, 07 Dec 2026 08:00:00 +0000" in first.data


def test_the_subject_is_translated_into_the_readers_language(app):
    def subject():
        return gettext("The original mail is attached.")

    with app.test_request_context():
        mails = {language: compose.compose("welcome", subject, address="c@example.org",
                                           name=None, language=language,
                                           sender="liste@vernetzer.example",
                                           calendar_url="https://x", webcal_url="webcal://x")
                 for language in ("de", "en")}
    assert mails["de"].subject == "Die ursprüngliche Mail ist angehängt."
    assert mails["en"].subject == "The original mail is attached."


def test_an_international_domain_goes_out_in_its_ascii_form():
    assert compose.transport_address("anna@müller.example") == "anna@xn--mller-kva.example"
    assert compose.transport_address("anna@example.org") == "anna@example.org"
