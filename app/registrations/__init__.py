"""NetzWerkStatt registration: the public form with double opt-in, places and
child-care places, a waiting list that moves up by itself with offers that hold a
place for a while, cancelling from the mail, the reminder, the host's export, and
forgetting the people a while after the day (only counts remain)."""
