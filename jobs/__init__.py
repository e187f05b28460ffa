"""Scheduled work. Each job is a plain function that runs inside an app context and
commits its own work, so tests, ``flask jobs run-due`` and the worker call the same code.

The worker (``flask --app app worker``) runs them with APScheduler in its own process,
never inside the web server, beside the outbox's senders (``app.delivery.sender``),
which send continuously. Correctness comes from the database, so several workers
may run at once.
"""

from . import delivery, housekeeping, inbound, knowledge, posts, registrations

# name -> (function, seconds between runs); ``run_due`` keeps this order, so that
# nothing is sent to a sign-up that is being purged.
SCHEDULE = {
    "purge_unconfirmed": (housekeeping.purge_unconfirmed, 3600),
    "purge_unconfirmed_topics": (knowledge.purge_unconfirmed_topics, 3600),
    "mark_meetings_held": (housekeeping.mark_meetings_held, 3600),
    "forget_registrations": (housekeeping.forget_registrations, 3600),
    "forget_rate_limits": (housekeeping.forget_rate_limits, 3600),
    "move_waiting_lists": (registrations.move_waiting_lists, 60),
    "queue_meeting_mails": (delivery.queue_meeting_mails, 60),
    "purge_held_posts": (posts.purge_held_posts, 3600),
    "queue_digests": (posts.queue_digests, 300),
    "queue_follow_up_mails": (knowledge.queue_follow_up_mails, 3600),
    "poll_mailbox": (inbound.poll_mailbox, 60),
}


def run_due() -> dict[str, int]:
    """Run every job once, in order, then send what is due (what the worker's
    senders do continuously); each is safe to run again at any time."""
    results = {name: function() for name, (function, _) in SCHEDULE.items()}
    results["drain_outbox"] = delivery.drain_outbox()
    return results
