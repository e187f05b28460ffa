"""What the relay's answers mean (``relay.classify``), as web hosts, big providers and
Postfix write them: a rationed mailbox pauses everyone, a bad address fails its mail
and counts as a bounce, anything else temporary is retried."""

import pytest

from app.delivery.relay import Verdict, classify


@pytest.mark.parametrize("code, text, verdict", [
    (250, "2.0.0 Ok: queued as 4Xyz", Verdict.SENT),
    # The mailbox's ration: pause every sender, count nothing against anyone.
    (421, "4.7.0 Too many connections, closing", Verdict.THROTTLED),
    (450, "4.7.0 Requested action aborted: limit exceeded", Verdict.THROTTLED),
    (451, "4.3.0 Temporary system problem, please try again", Verdict.THROTTLED),
    (452, "4.3.1 Insufficient system storage", Verdict.THROTTLED),
    (550, "5.7.1 Your mail limit has been reached", Verdict.THROTTLED),
    (554, "5.7.0 Sending quota exceeded for this account", Verdict.THROTTLED),
    (451, "Ratelimit: too many mails in the last hour", Verdict.THROTTLED),
    # The recipient: this mail fails and counts toward the bounce limit.
    (550, "5.1.1 <anna@example.org>: Recipient address rejected: User unknown", Verdict.BOUNCE),
    (550, "5.2.1 The email account that you tried to reach is disabled", Verdict.BOUNCE),
    (556, "5.1.10 Recipient address has null MX", Verdict.BOUNCE),
    (552, "5.2.2 Mailbox full", Verdict.BOUNCE),
    (554, "Transaction failed", Verdict.BOUNCE),  # no enhanced code: a bounce, logged
    # A passing hitch of this one mail: retried later with backoff.
    (452, "4.2.2 Mailbox full, quota exceeded", Verdict.RETRY),  # theirs, not our quota
    (451, "4.7.1 Greylisted, please try again in 5 minutes", Verdict.RETRY),
    (451, "4.4.1 No answer from host", Verdict.RETRY),
    (450, "4.2.0 Mailbox temporarily unavailable", Verdict.RETRY),
])
def test_each_answer_means_what_it_says(code, text, verdict):
    assert classify(code, text) == verdict


def test_an_answer_of_no_known_kind_is_logged_whole(caplog):
    assert classify(554, "Transaction failed: ask the postmaster") == Verdict.BOUNCE
    assert "554 Transaction failed: ask the postmaster" in caplog.text
