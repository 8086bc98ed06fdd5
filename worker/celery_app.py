"""Kept so that ``celery -A worker.celery_app worker`` works; see :mod:`worker.celery.app`."""

from worker.celery.app import app

__all__ = ["app"]
