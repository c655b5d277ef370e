"""The event store: SQLite, embedded, WAL."""

from mctrt.store.sqlite import EventStore

__all__ = ["EventStore"]
