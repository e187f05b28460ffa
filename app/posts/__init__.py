"""Members write to the list: posts by mail or on the web, held for an organiser
unless the author is trusted, sent as list mail or in digests, kept in an archive."""
