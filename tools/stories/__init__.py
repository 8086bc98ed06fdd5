"""Offline tools for story grouping (fitting the same-event scorer)."""
