"""One SMTP connection to the relay, kept open across batches, and the transfer of
many mails over it.

Where the relay offers PIPELINING (RFC 2920), each mail costs one round trip and
one write: its body with the final dot, and the next message's MAIL, RCPT and DATA.
While the relay answers, the sender renders the next mail; it then starts recording
the answer (``record``) and reads the next envelope's answers while the database
writes it.
A relay without PIPELINING gets one mail after the other through smtplib's
``sendmail``.

Crash guarantee: a mail's final dot is sent only once the answer to the mail before
it is recorded for good (``settle``), so a sender killed (or failing) at any moment
leaves at most one mail per open connection accepted by the relay but not recorded;
that one is sent again.
"""

import smtplib
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from flask import current_app


class RelayError(Exception):
    """The connection failed or the relay closed it: what is unrecorded is retried."""


@dataclass
class Outgoing:
    """One mail to transfer; ``render`` gives its bytes (called once, when needed)."""

    row_id: int
    sender: str
    recipient: str
    render: Callable[[], bytes]
    data: bytes | None = field(default=None, repr=False)

    def prepare(self) -> bytes:
        if self.data is None:
            self.data = self.render()
        return self.data


# record(mail, code, text): the relay's answer to a mail (250: accepted); it may
# return before the answer is stored for good.
Record = Callable[[Outgoing, int, str], None]
# settle(): returns once every answer recorded so far is stored for good.
Settle = Callable[[], None]


def _body(message: bytes) -> bytes:
    """The message as DATA carries it, without the final dot: dot-stuffed, ending
    in CRLF."""
    message = message.replace(b"\n.", b"\n..")  # what smtplib's regex does, faster
    if message.startswith(b"."):
        message = b"." + message
    return message if message.endswith(b"\r\n") else message + b"\r\n"


def _text(reply: bytes) -> str:
    return reply.decode(errors="replace")


class Relay:
    """An open SMTP connection configured like Flask-Mail's, with a timeout."""

    def __init__(self):
        settings = current_app.extensions["mail"]  # Flask-Mail's state for this app
        timeout = current_app.config["MAIL_TIMEOUT"]
        try:
            if settings.use_ssl:
                self.smtp = smtplib.SMTP_SSL(settings.server, settings.port, timeout=timeout)
            else:
                self.smtp = smtplib.SMTP(settings.server, settings.port, timeout=timeout)
            if settings.use_tls:
                self.smtp.starttls()
            self.smtp.ehlo_or_helo_if_needed()
            if settings.username and settings.password:
                self.smtp.login(settings.username, settings.password)
        except (smtplib.SMTPException, OSError) as error:
            raise RelayError(f"{type(error).__name__}: {error}") from error
        # Small writes (a final dot and the next envelope) go out at once, not after
        # the relay's delayed acknowledgement of the body before (Nagle).
        self.smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.pipelining = self.smtp.has_extn("pipelining")
        self.utf8 = self.smtp.has_extn("smtputf8")

    @classmethod
    def check(cls) -> str:
        """Connect, log in as configured and leave without sending: what the relay
        offers (for ``doctor``). ``RelayError`` when that fails."""
        relay = cls()
        offers = ", ".join(sorted(relay.smtp.esmtp_features)) or "nothing"
        relay.close()
        return offers

    def close(self) -> None:
        try:
            self.smtp.quit()
        except (smtplib.SMTPException, OSError):
            self.smtp.close()

    def abort(self) -> None:
        """Drop the connection without a word (after an error of our own)."""
        self.smtp.close()

    def transfer(self, mails: Iterable[Outgoing], record: Record, settle: Settle) -> None:
        """Send ``mails``, telling ``record`` each answer; ``settle`` before each
        final dot. ``RelayError`` when the connection fails; mails not yet recorded
        then stay for a retry."""
        try:
            if self.pipelining:
                self._pipelined(iter(mails), record, settle)
            else:
                for mail in mails:
                    mail.prepare()
                    settle()
                    self._one(mail, record)
        except (smtplib.SMTPException, OSError) as error:
            raise RelayError(f"{type(error).__name__}: {error}") from error

    def _options(self, mail: Outgoing) -> list[str]:
        return [] if mail.recipient.isascii() or not self.utf8 else ["SMTPUTF8"]

    def _one(self, mail: Outgoing, record: Record) -> None:
        try:
            self.smtp.sendmail(mail.sender, [mail.recipient], mail.prepare(),
                               mail_options=self._options(mail))
        except smtplib.SMTPRecipientsRefused as error:
            code, text = next(iter(error.recipients.values()))
            record(mail, code, _text(text))
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as error:
            record(mail, error.smtp_code, _text(error.smtp_error))
        else:
            record(mail, 250, "OK")

    def _envelope(self, mail: Outgoing) -> bytes:
        options = "".join(f" {option}" for option in self._options(mail))
        return (f"MAIL FROM:<{mail.sender}>{options}\r\n"
                f"RCPT TO:<{mail.recipient}>\r\nDATA\r\n").encode()

    def _reply(self) -> tuple[int, str]:
        code, text = self.smtp.getreply()
        if code == 421:  # the relay is closing the connection
            raise smtplib.SMTPServerDisconnected(f"421 {_text(text)}")
        return code, _text(text)

    def _envelope_replies(self, mail: Outgoing, record: Record) -> bool:
        """Read the answers to MAIL, RCPT and DATA; True when the data may follow."""
        answers = [self._reply() for _ in range(3)]
        if answers[2][0] == 354:
            return True
        code, text = next((answer for answer in answers if answer[0] >= 400), answers[2])
        record(mail, code, text)
        return False

    def _pipelined(self, mails, record: Record, settle: Settle) -> None:
        mail = next(mails, None)
        if mail is None:
            return
        self.smtp.send(self._envelope(mail))
        mail.prepare()
        accepted = self._envelope_replies(mail, record)
        while mail is not None:
            following = next(mails, None)
            # One write: the body with its final dot, and the next envelope.
            out = _body(mail.prepare()) + b".\r\n" if accepted else b"RSET\r\n"
            if following is not None:
                out += self._envelope(following)
            # The mail before is recorded for good before this final dot goes
            # out: so at most one accepted mail is ever unrecorded.
            settle()
            self.smtp.send(out)
            if following is not None:
                following.prepare()  # rendered while the relay answers
            code, text = self._reply()
            if accepted:
                record(mail, code, text)  # the database writes it while we go on
            if following is not None:
                accepted = self._envelope_replies(following, record)
            mail = following
