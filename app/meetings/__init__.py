"""Meetings: venues, the rotation planner with its holidays, topic announcements,
the calendar (feed and files), and what goes to the list when (``invitations``).
Registration and RSVP, when they come, live here too."""
