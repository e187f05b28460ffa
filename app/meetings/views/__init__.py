"""The meetings' pages by audience: ``public`` (anyone), ``organisers`` (the meetings,
the planner and venues) and ``announcements`` (topic announcements), each its own
blueprint."""
