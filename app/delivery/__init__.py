"""Delivery: the outbox (every mail is a row first, sent after the commit), MIME,
DKIM, composing mail from templates, the mail quota, the sender, the local mail
catcher, the sends page.

It knows no other domain: it sends what it is given, to subscribers, organisers
and registrants alike; what a mailing's mail says, who still wants list mail and
where a hard bounce counts it learns through ``hooks``, which ``create_app`` fills.
"""
