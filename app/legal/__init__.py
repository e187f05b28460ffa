"""The legal pages (Impressum, Datenschutzerklärung) from Markdown files that the
operators write: ``LEGAL_IMPRINT_FILE`` and ``LEGAL_PRIVACY_FILE``, else the German
templates shipped in ``app/data/legal`` (marked as still to be completed)."""
