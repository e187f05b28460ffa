"""A relay that rations mail as a web host's mailbox does: ``amount`` recipients per
window of ``seconds`` (windows counted from the epoch, as "per hour" means at most
hosts), and past that a refusal until the window turns: ``450 4.7.0 … limit
exceeded``, or what a host answers instead (``550 5.7.1 Your mail limit has been
reached``). An aiosmtpd handler; ``bench/quota.py`` and the tests run it.
"""

import time
from email import policy
from email.parser import BytesParser

from aiosmtpd.controller import Controller

LIMIT_EXCEEDED = "450 4.7.0 Requested action aborted: limit exceeded"
LIMIT_REACHED = "550 5.7.1 Your mail limit has been reached"


class QuotaRelay:
    def __init__(self, amount: int, seconds: float, refusal: str = LIMIT_EXCEEDED):
        self.amount, self.seconds, self.refusal = amount, seconds, refusal
        self.window, self.used = None, 0
        self.refused = 0
        # (time, envelope recipient, parsed message) of every mail accepted, in order.
        self.received: list[tuple[float, str, object]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        now = time.time()
        window = int(now // self.seconds)
        if window != self.window:
            self.window, self.used = window, 0
        if self.used >= self.amount:
            self.refused += 1
            return self.refusal
        self.used += 1
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = BytesParser(policy=policy.default).parsebytes(envelope.original_content)
        for address in envelope.rcpt_tos:
            self.received.append((time.time(), address, message))
        return "250 OK"


def start(handler: QuotaRelay, port: int) -> Controller:
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    return controller
