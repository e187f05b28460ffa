"""``delivery.mime``: the one builder every mail kind goes through. What it writes is
read back by Python's strict mail parser, as a receiving program would."""

from email import policy
from email.parser import BytesParser

import pytest

from app.delivery import mime

STRICT = policy.default.clone(raise_on_defect=True)


def built(**overrides) -> mime.Mail:
    fields = dict(sender="Stadtteilvernetzer <liste@vernetzer.example>",
                  envelope="einladung+c0de@vernetzer.example", recipient="anna@example.org",
                  name="Anna Müller", subject="Einladung: Treffen im Stuttgarter Westen",
                  message_id="<c0de@vernetzer.example>", date="Mon, 07 Dec 2026 08:00:00 +0000",
                  headers={"List-Id": "Stadtteilvernetzer <verteiler.vernetzer.example>"},
                  text="Hallo Anna,\n.\nFrom here on: Grüße\n", html="<p>Hallo Anna</p>",
                  code="c0de")
    return mime.build(**{**fields, **overrides})


def parsed(mail: mime.Mail):
    return BytesParser(policy=STRICT).parsebytes(mail.data)


def test_a_mail_reads_back_whole_in_a_strict_parser():
    message = parsed(built())
    assert message["From"].addresses[0].addr_spec == "liste@vernetzer.example"
    assert message["To"].addresses[0].display_name == "Anna Müller"
    assert message["Subject"] == "Einladung: Treffen im Stuttgarter Westen"
    assert message["List-Id"] == "Stadtteilvernetzer <verteiler.vernetzer.example>"
    text = message.get_body(("plain",)).get_content()
    assert text.replace("\r\n", "\n") == "Hallo Anna,\n.\nFrom here on: Grüße\n"
    assert message.get_body(("html",)).get_content().strip() == "<p>Hallo Anna</p>"


def test_every_line_ends_in_crlf_and_stays_within_smtps_limit():
    data = built(subject="Ein sehr langer Betreff " * 20, text="Wort " * 2000).data
    lines = data.split(b"\r\n")
    assert all(b"\n" not in line and b"\r" not in line for line in lines)
    assert max(len(line) for line in lines) <= 998


def test_a_calendar_rides_along_inline_and_as_a_file():
    ics = b"BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n"
    message = parsed(built(calendar=(ics, "REQUEST")))
    parts = {part.get_content_type(): part for part in message.walk()}
    assert parts["text/calendar"].get_param("method") == "REQUEST"
    assert parts["text/calendar"].get_payload(decode=True) == ics
    assert parts["application/ics"].get_payload(decode=True) == ics


@pytest.mark.parametrize("display", ["Jürgen <b>&</b>", "Anna\r\nBcc: alle@example.org",
                                     "Ökumenischer Arbeitskreis Bad Cannstatt-Münster " * 3])
def test_free_text_stays_inside_its_header(display):
    message = parsed(built(name=display, subject=display))
    assert "Bcc" not in message
    # (Python's address parser keeps the space that ends an encoded word and the
    # fold after it: two spaces where a mail program shows one.)
    assert " ".join(message["To"].addresses[0].display_name.split()) == mime.one_line(display)
    assert message["Subject"] == mime.one_line(display)


def test_a_line_break_in_an_address_is_a_bug_not_a_header():
    with pytest.raises(ValueError, match="line break"):
        built(recipient="anna@example.org\r\nBcc: alle@example.org")


def test_long_parameter_lists_fold_between_items():
    value = b", ".join(b"<https://vernetzer.example/abmelden/" + bytes([65 + n]) * 30 + b">"
                       for n in range(3))
    field = mime.folded(b"List-Unsubscribe", value)
    assert field.count(b"\r\n ") == 2
    assert field.replace(b"\r\n ", b" ") == b"List-Unsubscribe: " + value + b"\r\n"
