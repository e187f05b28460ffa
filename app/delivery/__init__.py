"""Delivery: the outbox (every mail is a row first, sent after the commit), MIME,
DKIM, composing mail from templates, the local mail catcher, the sends page.

It knows no other domain: it sends what it is given, to subscribers, organisers
and registrants alike; who still wants list mail and where a hard bounce counts it
learns through ``recipients``, which subscriptions registers.
"""
