"""The event store: SQLite (embedded, WAL; the default) or PostgreSQL (store.url), one schema and
one set of queries (sql.py)."""

from __future__ import annotations

from mctrt.config import StoreConfig
from mctrt.store.sql import EventStore, PostgresStore, SqlStore


def open_store(config: StoreConfig) -> SqlStore | None:
    """The store the config names (store.url: PostgreSQL, else store.path: SQLite), or None for none."""
    if config.url is not None:
        return PostgresStore(config.url)
    return EventStore(config.path) if config.path is not None else None


__all__ = ["EventStore", "PostgresStore", "SqlStore", "open_store"]
