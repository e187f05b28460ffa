"""Running vernetzer for years: ``/healthz`` for monitors, ``doctor`` for the person
who installs it, and ``backup``/``restore`` of all data. On top of every domain: it
asks each through its services."""
