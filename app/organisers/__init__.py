"""The organiser area's accounts: sign-in by one-time link, roles, and the audit
log's page. The guards (``shared.web``) check what this package loads."""
