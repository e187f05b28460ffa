"""One SMTP connection to the relay, opened as Flask-Mail's settings say and kept
open across batches, and what the relay's answers mean.

A web host's mailbox is rationed (say 100 mails an hour). When it has had enough it
says so: ``421``, ``450 4.7.0 … limit exceeded``, and with some hosts a
permanent-looking ``550 5.7.1 Your mail limit has been reached``. ``classify`` tells
such an answer (the door is closed: wait, for every mail) from one about the
recipient (this mail failed; a bounce) and from a passing hitch of this one mail.
"""

import enum
import logging
import re
import smtplib

from flask import current_app

log = logging.getLogger(__name__)


class RelayError(Exception):
    """The connection failed or the relay closed it: what is unrecorded is retried.
    ``answer`` is the relay's (code, text) where it gave one (a ``421`` greeting)."""

    def __init__(self, message: str, answer: tuple[int, str] | None = None):
        super().__init__(message)
        self.answer = answer


class Verdict(enum.Enum):
    SENT = "sent"
    BOUNCE = "bounce"  # this recipient cannot get mail: fail the row, count a bounce
    THROTTLED = "throttled"  # the account or connection is rationed: pause all sending
    RETRY = "retry"  # this mail, later


_ENHANCED = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_GREYLISTED = re.compile(r"greylist", re.I)
_LIMIT_WORDS = re.compile(r"limit|quota|rate|too many|exceeded", re.I)
# Enhanced codes about the recipient's own mailbox: full (x.2.2) is not our quota.
_MAILBOX_FULL = ("2", "2")


def classify(code: int, text: str) -> Verdict:
    """What an SMTP answer to one mail means for it and for the senders."""
    if code < 300:
        return Verdict.SENT
    enhanced = _ENHANCED.search(text)
    detail = enhanced.group(2, 3) if enhanced else None
    if detail == _MAILBOX_FULL:
        return Verdict.RETRY if code < 500 else Verdict.BOUNCE
    if code < 500 and _GREYLISTED.search(text):  # the recipient's server, not our account
        return Verdict.RETRY
    if code == 421 or (code in (450, 451, 452) and detail and detail[0] in ("7", "3")):
        return Verdict.THROTTLED
    if _LIMIT_WORDS.search(text):
        return Verdict.THROTTLED
    if code < 500:
        return Verdict.RETRY
    if detail is None or detail[0] not in ("1", "2"):  # not about the address or mailbox
        log.warning("relay answer of no known kind, counted as a bounce: %d %s", code, text)
    return Verdict.BOUNCE


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
        except smtplib.SMTPResponseException as error:  # say, "421 too many connections"
            answer = (error.smtp_code, _text(error.smtp_error))
            raise RelayError(f"{answer[0]} {answer[1]}", answer) from error
        except (smtplib.SMTPException, OSError) as error:
            raise RelayError(f"{type(error).__name__}: {error}") from error
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

    def send(self, sender: str, recipient: str, message: bytes) -> tuple[int, str]:
        """Transfer one mail: the relay's answer (code, text). ``RelayError`` when the
        connection fails before an answer."""
        options = [] if recipient.isascii() or not self.utf8 else ["SMTPUTF8"]
        try:
            self.smtp.sendmail(sender, [recipient], message, mail_options=options)
        except smtplib.SMTPRecipientsRefused as error:
            code, text = next(iter(error.recipients.values()))
            return code, _text(text)
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as error:
            return error.smtp_code, _text(error.smtp_error)
        except smtplib.SMTPResponseException as error:  # say, 421 to RSET or HELO
            return error.smtp_code, _text(error.smtp_error)
        except (smtplib.SMTPException, OSError) as error:
            raise RelayError(f"{type(error).__name__}: {error}") from error
        return 250, "OK"


def _text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else reply
