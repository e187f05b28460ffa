"""What every domain uses: database types, the user-error exception, validation,
time, districts, signed tokens, rate limits, Markdown, the audit log, external URLs,
and the one way each entry point (pages, command line) reports a user error.

Nothing here imports a domain package; the domains build on it.
"""
