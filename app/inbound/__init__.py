"""Mail that comes back: calendar replies, unsubscribe mails, bounces, auto-replies
and everything else, through one path (``services.receive``)."""
