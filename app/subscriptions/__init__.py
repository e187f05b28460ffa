"""The distribution list: double opt-in, consent history, one-click unsubscribe,
preferences, CSV import and export, the admins' list pages."""
