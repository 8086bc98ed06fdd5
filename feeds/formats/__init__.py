"""Formats newsmon reads and writes: OPML feed lists and the JSON of exports and analyses."""
