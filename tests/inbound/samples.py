"""Inbound mails shaped like the real ones: calendar replies as Gmail, Outlook, Apple
and Thunderbird send them (from their documented iMIP formats: part layout, PRODID,
ATTENDEE parameters, transfer encodings), a delivery status notification (RFC 3464)
and an out-of-office reply (RFC 3834)."""

import base64
import quopri
import secrets
from datetime import UTC, datetime
from email.utils import format_datetime, make_msgid

ORGANIZER = "einladung@vernetzer.example"


def _ics(prodid: str, uid: str, sequence: int, attendee: str, extra: str = "",
         timezone: str = "", organizer: str = ORGANIZER, stamp: str | None = None) -> str:
    """A REPLY; made now (DTSTAMP) unless ``stamp`` says when."""
    lines = [
        "BEGIN:VCALENDAR", f"PRODID:{prodid}", "VERSION:2.0", "METHOD:REPLY",
        *([timezone] if timezone else []),
        "BEGIN:VEVENT", "DTSTART:20261201T170000Z", "DTEND:20261201T190000Z",
        f"DTSTAMP:{stamp or datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}",
        f"ORGANIZER;CN=Stadtteilvernetzer Stuttgart:mailto:{organizer}",
        f"UID:{uid}", attendee, f"SEQUENCE:{sequence}", "STATUS:CONFIRMED",
        "SUMMARY:Stadtteilvernetzer-Treffen", *([extra] if extra else []),
        "END:VEVENT", "END:VCALENDAR",
    ]
    return "\r\n".join(lines) + "\r\n"


def _headers(sender: str, subject: str, content_type: str, to: str = ORGANIZER) -> str:
    return (f"From: {sender}\r\nTo: Stadtteilvernetzer Stuttgart <{to}>\r\n"
            f"Subject: {subject}\r\nDate: {format_datetime(datetime.now(UTC))}\r\n"
            f"Message-ID: {make_msgid(domain='client.example')}\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: {content_type}\r\n\r\n")


def gmail(uid: str, sequence: int, address: str, organizer: str = ORGANIZER, *,
          partstat: str = "ACCEPTED", stamp: str | None = None) -> bytes:
    """Gmail: multipart/mixed (alternative of text, HTML and the 7bit text/calendar;
    the same file as application/ics, base64, invite.ics)."""
    ics = _ics("-//Google Inc//Google Calendar 70.9054//EN", uid, sequence,
               f"ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT={partstat};"
               f"CN={address};X-NUM-GUESTS=0:mailto:{address}", organizer=organizer,
               stamp=stamp)
    body = (_headers(f"Anna G <{address}>", f"Accepted: Einladung @ Tue Dec 1, 2026 ({address})",
                     'multipart/mixed; boundary="mixed"', organizer)
            + "--mixed\r\nContent-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n"
            + "--alt\r\nContent-Type: text/plain; charset=\"UTF-8\"\r\n\r\n"
            + f"{address} has accepted this invitation.\r\n"
            + "--alt\r\nContent-Type: text/html; charset=\"UTF-8\"\r\n\r\n"
            + f"<p>{address} has accepted this invitation.</p>\r\n"
            + "--alt\r\nContent-Type: text/calendar; charset=\"UTF-8\"; method=REPLY\r\n"
            + "Content-Transfer-Encoding: 7bit\r\n\r\n" + ics
            + "--alt--\r\n--mixed\r\nContent-Type: application/ics; name=\"invite.ics\"\r\n"
            + "Content-Disposition: attachment; filename=\"invite.ics\"\r\n"
            + "Content-Transfer-Encoding: base64\r\n\r\n"
            + base64.encodebytes(ics.encode()).decode().replace("\n", "\r\n")
            + "--mixed--\r\n")
    return body.encode()


OUTLOOK_ZONE = "\r\n".join([
    "BEGIN:VTIMEZONE", "TZID:W. Europe Standard Time",
    "BEGIN:STANDARD", "DTSTART:16010101T030000", "TZOFFSETFROM:+0200", "TZOFFSETTO:+0100",
    "RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10", "END:STANDARD",
    "BEGIN:DAYLIGHT", "DTSTART:16010101T020000", "TZOFFSETFROM:+0100", "TZOFFSETTO:+0200",
    "RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3", "END:DAYLIGHT", "END:VTIMEZONE"])


def outlook(uid: str, sequence: int, address: str, organizer: str = ORGANIZER, *,
            partstat: str = "DECLINED") -> bytes:
    """Outlook / Exchange: multipart/alternative of text, HTML and a base64
    text/calendar; its own Windows time zone; MAILTO in capitals; the address as
    the user typed it (capitals)."""
    shown = address.upper()
    ics = _ics("Microsoft Exchange Server 2010", uid, sequence,
               f"ATTENDEE;PARTSTAT={partstat};CN=Otto Outlook:MAILTO:{shown}",
               extra="X-MICROSOFT-CDO-OWNERAPPTID:-1803238923", timezone=OUTLOOK_ZONE,
               organizer=organizer)
    body = (_headers(f"Otto Outlook <{shown}>", "Abgelehnt: Einladung",
                     'multipart/alternative; boundary="_000_outlook_"', organizer)
            + "--_000_outlook_\r\nContent-Type: text/plain; charset=\"utf-8\"\r\n\r\nAbgelehnt\r\n"
            + "--_000_outlook_\r\nContent-Type: text/html; charset=\"utf-8\"\r\n\r\n<p>Abgelehnt</p>\r\n"
            + "--_000_outlook_\r\nContent-Type: text/calendar; charset=\"utf-8\"; method=REPLY\r\n"
            + "Content-Transfer-Encoding: base64\r\n\r\n"
            + base64.encodebytes(ics.encode()).decode().replace("\n", "\r\n")
            + "--_000_outlook_--\r\n")
    return body.encode()


def apple(uid: str, sequence: int, address: str, organizer: str = ORGANIZER, *,
          partstat: str = "TENTATIVE") -> bytes:
    """Apple Calendar (iCloud): a quoted-printable text/calendar part with a name,
    ATTENDEE with the EMAIL parameter, REQUEST-STATUS."""
    ics = _ics("-//Apple Inc.//iPhone OS 17.1//EN", uid, sequence,
               f"ATTENDEE;CN=Apfel Anna;CUTYPE=INDIVIDUAL;EMAIL={address};"
               f"PARTSTAT={partstat}:mailto:{address}", extra="REQUEST-STATUS:2.0;Success",
               organizer=organizer)
    body = (_headers(f"Apfel Anna <{address}>", "Vielleicht: Einladung",
                     'multipart/alternative; boundary="Apple-Mail=_1"', organizer)
            + "--Apple-Mail=_1\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nVielleicht\r\n"
            + "--Apple-Mail=_1\r\nContent-Type: text/calendar; charset=utf-8; method=REPLY; "
            + "name=iCal-20261121-120000.ics\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
            + quopri.encodestring(ics.encode()).decode()
            + "--Apple-Mail=_1--\r\n")
    return body.encode()


def thunderbird(uid: str, sequence: int, address: str, organizer: str = ORGANIZER, *,
                partstat: str = "ACCEPTED") -> bytes:
    """Thunderbird (Lightning): multipart/mixed with text, an 8bit text/calendar and
    invite.ics as application/ics; Europe/Berlin with its own VTIMEZONE."""
    zone = "\r\n".join([
        "BEGIN:VTIMEZONE", "TZID:Europe/Berlin", "BEGIN:DAYLIGHT", "TZOFFSETFROM:+0100",
        "TZOFFSETTO:+0200", "TZNAME:CEST", "DTSTART:19700329T020000",
        "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3", "END:DAYLIGHT", "BEGIN:STANDARD",
        "TZOFFSETFROM:+0200", "TZOFFSETTO:+0100", "TZNAME:CET", "DTSTART:19701025T030000",
        "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10", "END:STANDARD", "END:VTIMEZONE"])
    ics = _ics("-//Mozilla.org/NONSGML Mozilla Calendar V1.1//EN", uid, sequence,
               f"ATTENDEE;RSVP=TRUE;PARTSTAT={partstat};ROLE=REQ-PARTICIPANT;"
               f"CUTYPE=INDIVIDUAL;CN=Thea Thunder:mailto:{address}",
               extra="X-MOZ-RECEIVED-SEQUENCE:1", timezone=zone, organizer=organizer)
    body = (_headers(f"Thea Thunder <{address}>", "Zugesagt: Einladung",
                     'multipart/mixed; boundary="------------tb"', organizer)
            + "--------------tb\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n"
            + "Thea Thunder hat Ihre Einladung angenommen.\r\n"
            + "--------------tb\r\nContent-Type: text/calendar; charset=UTF-8; method=REPLY\r\n"
            + "Content-Transfer-Encoding: 8bit\r\n\r\n" + ics
            + "--------------tb\r\nContent-Type: application/ics; name=\"invite.ics\"\r\n"
            + "Content-Disposition: attachment; filename=\"invite.ics\"\r\n"
            + "Content-Transfer-Encoding: base64\r\n\r\n"
            + base64.encodebytes(ics.encode()).decode().replace("\n", "\r\n")
            + "--------------tb--\r\n")
    return body.encode()


def forged(uid: str, sequence: int, victim: str, organizer: str = ORGANIZER) -> bytes:
    """A REPLY from someone else's address claiming to answer for ``victim``."""
    return gmail(uid, sequence, victim, organizer).replace(f"From: Anna G <{victim}>".encode(),
                                                b"From: Mallory <mallory@example.org>")


def malformed_calendar() -> bytes:
    return (_headers("Anna <anna@example.org>", "Accepted",
                     'text/calendar; charset="UTF-8"; method=REPLY')
            + "BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\nDTSTART:kein-datum\r\n").encode()


def dsn(recipient: str, envelope_to: str, original_message_id: str | None, *,
        action="failed", status="5.1.1") -> bytes:
    """A delivery status notification (RFC 3464) as Postfix writes one; without
    ``original_message_id`` it quotes the original's headers only partly, as many
    hosting relays do (the envelope tag in To is then all that names it)."""
    quoted = f"Message-ID: {original_message_id}\r\n" if original_message_id else ""
    return (f"From: MAILER-DAEMON@mx.example.org (Mail Delivery System)\r\n"
            f"To: {envelope_to}\r\nSubject: Undelivered Mail Returned to Sender\r\n"
            f"Date: {format_datetime(datetime.now(UTC))}\r\n"
            f"Message-ID: {make_msgid(domain='mx.example.org')}\r\n"
            "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
            'Content-Type: multipart/report; report-type=delivery-status; boundary="dsn"\r\n\r\n'
            "--dsn\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
            "I'm sorry to have to inform you that your message could not be delivered.\r\n"
            "--dsn\r\nContent-Type: message/delivery-status\r\n\r\n"
            "Reporting-MTA: dns; mx.example.org\r\nArrival-Date: Sat, 21 Nov 2026 12:00:00 +0100\r\n\r\n"
            f"Final-Recipient: rfc822; {recipient}\r\nOriginal-Recipient: rfc822;{recipient}\r\n"
            f"Action: {action}\r\nStatus: {status}\r\n"
            "Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n\r\n"
            "--dsn\r\nContent-Type: text/rfc822-headers\r\n\r\n"
            f"From: Stadtteilvernetzer Stuttgart <vernetzer@localhost>\r\nTo: {recipient}\r\n"
            f"Subject: Einladung\r\n{quoted}\r\n"
            "--dsn--\r\n").encode()


def out_of_office(sender: str) -> bytes:
    return (_headers(sender, "Abwesenheitsnotiz: Einladung", "text/plain; charset=utf-8")
            .replace("MIME-Version", "Auto-Submitted: auto-replied\r\nMIME-Version")
            + "Ich bin bis zum 30. November nicht im Büro.\r\n").encode()


def person(sender: str) -> bytes:
    return (_headers(sender, "Frage zum Treffen", "text/plain; charset=utf-8")
            + "Hallo, gibt es dort einen Aufzug?\r\n").encode()


def huge(sender: str, size: int) -> bytes:
    return (_headers(sender, "Fotos vom Treffen", "text/plain; charset=utf-8")
            + ("x" * 998 + "\r\n") * (size // 1000)).encode()


def with_attachment(sender: str, size: int, *, naming: str = "application/pdf") -> bytes:
    """A person's mail with ``size`` bytes attached (base64, as mail programs send
    photos); ``naming`` the type of a small first part (say, text/calendar)."""
    data = base64.encodebytes(secrets.token_bytes(size)).replace(b"\n", b"\r\n")
    return (_headers(sender, "Unterlagen", 'multipart/mixed; boundary="anhang"').encode()
            + b"--anhang\r\nContent-Type: " + naming.encode()
            + b"\r\n\r\nBEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n--anhang\r\n"
            b"Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            + data + b"--anhang--\r\n")


def octet_stream(uid: str, sequence: int, address: str, organizer: str) -> bytes:
    """A mail program that attaches the .ics as application/octet-stream."""
    ics = _ics("-//Some Mailer//EN", uid, sequence,
               f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{address}", organizer=organizer)
    return (_headers(address, "Zusage", 'multipart/mixed; boundary="o"', organizer)
            + "--o\r\nContent-Type: text/plain\r\n\r\nIch komme.\r\n"
            + "--o\r\nContent-Type: application/octet-stream; name=\"antwort.ics\"\r\n"
            + "Content-Transfer-Encoding: base64\r\n\r\n"
            + base64.encodebytes(ics.encode()).decode().replace("\n", "\r\n")
            + "--o--\r\n").encode()


def quoting_the_request(uid: str, sequence: int, address: str, organizer: str) -> bytes:
    """A reply that quotes the original REQUEST before its own REPLY part."""
    reply = _ics("-//Some Mailer//EN", uid, sequence,
                 f"ATTENDEE;PARTSTAT=DECLINED:mailto:{address}", organizer=organizer)
    request = reply.replace("METHOD:REPLY", "METHOD:REQUEST")
    return (_headers(address, "Absage", 'multipart/mixed; boundary="q"', organizer)
            + "--q\r\nContent-Type: text/calendar; method=REQUEST\r\n\r\n" + request
            + "--q\r\nContent-Type: text/calendar; method=REPLY\r\n\r\n" + reply
            + "--q--\r\n").encode()


def unreadable() -> dict[str, bytes]:
    """Mails that once could never be processed (their errors escaped, and the mail
    server or the IMAP poller tried again for ever), by what is odd about them."""
    def mail(headers: str, body: str = "Hallo\r\n") -> bytes:
        return (headers + "Date: " + format_datetime(datetime.now(UTC)) + "\r\n"
                + "MIME-Version: 1.0\r\n" + body).encode()

    plain = "Content-Type: text/plain; charset=utf-8\r\n\r\nHallo\r\n"
    line_break = "=?utf-8?q?Frage=0D=0ABcc=3A_x=40example=2Eorg?="
    calendar = _ics("-//Odd//EN", "uid-\x00-odd", 1, "ATTENDEE;PARTSTAT=ACCEPTED:mailto:x@y.z")

    def nested(depth: int) -> str:
        opening = "".join(f'Content-Type: multipart/mixed; boundary="b{n}"\r\n\r\n--b{n}\r\n'
                          for n in range(depth))
        closing = "".join(f"\r\n--b{n}--\r\n" for n in reversed(range(depth)))
        return opening + "Content-Type: text/plain\r\n\r\ntief\r\n" + closing

    many = "".join("--p\r\nContent-Type: text/plain\r\n\r\nTeil\r\n" for _ in range(4000))
    return {
        "line break in an encoded subject": mail(
            f"From: frage@example.org\r\nSubject: {line_break}\r\n"
            "Message-ID: <crlf@example.org>\r\n", plain),
        "NUL in the subject": mail("From: a@example.org\r\nSubject: Hal\x00lo\r\n"
                                   "Message-ID: <nul-subject@example.org>\r\n", plain),
        "NUL in the Message-ID": mail("From: a@example.org\r\nSubject: Hallo\r\n"
                                      "Message-ID: <nul\x00id@example.org>\r\n", plain),
        "NUL in From": mail("From: a\x00b@example.org\r\nSubject: Hallo\r\n"
                            "Message-ID: <nul-from@example.org>\r\n", plain),
        "NUL in a calendar part": mail(
            "From: x@y.z\r\nSubject: Zugesagt\r\nMessage-ID: <nul-ics@example.org>\r\n",
            "Content-Type: text/calendar; method=REPLY; charset=utf-8\r\n\r\n" + calendar),
        "nested 1,000 deep": mail("From: a@example.org\r\nSubject: tief\r\n"
                                  "Message-ID: <deep1000@example.org>\r\n", nested(1000)),
        "nested 5,000 deep": mail("From: a@example.org\r\nSubject: tiefer\r\n"
                                  "Message-ID: <deep5000@example.org>\r\n", nested(5000)),
        "4,000 parts": mail("From: a@example.org\r\nSubject: viele\r\n"
                            "Message-ID: <many@example.org>\r\n",
                            'Content-Type: multipart/mixed; boundary="p"\r\n\r\n' + many
                            + "--p--\r\n"),
    }
