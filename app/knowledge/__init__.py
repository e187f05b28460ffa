"""Knowledge that travels between districts: the topics members want (proposed,
published by organisers, voted on, planned for a meeting and then discussed)."""
