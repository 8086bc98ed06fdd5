"""Schema revisions, oldest first; each file is written by hand and reviewed."""
