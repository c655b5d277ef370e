"""The event store: events and per-person summaries in SQL, the same tables and queries on SQLite
(EventStore: one file, stdlib sqlite3, WAL; the embedded default) and PostgreSQL (PostgresStore,
`store: {url: postgresql://...}`: one database shared by several readers and a central).

Each add() is one transaction: once it returns, its events survive the process being killed (SQLite's
WAL with synchronous=NORMAL loses nothing on a process crash; only a power cut can take the last
transactions; PostgreSQL commits durably). The pipeline writes from its own thread; the API reads
through its own connection. Identity summaries follow id_corrected events, so a retired global ID's
history is folded into the one that replaced it.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

from mctrt.errors import MctrtError
from mctrt.events import EVENT_TYPES, corrected_id

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time REAL NOT NULL,
    type TEXT NOT NULL,
    camera_id TEXT,
    global_id INTEGER,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_time ON events (time);
CREATE INDEX IF NOT EXISTS events_type_time ON events (type, time);
CREATE INDEX IF NOT EXISTS events_camera_time ON events (camera_id, time);
CREATE TABLE IF NOT EXISTS identities (
    global_id INTEGER PRIMARY KEY,
    first_seen REAL NOT NULL,
    last_seen REAL NOT NULL,
    cameras TEXT NOT NULL,
    events INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS checkpoints (
    name TEXT PRIMARY KEY,
    time REAL NOT NULL,
    state BLOB NOT NULL
);
"""


class SqlStore:
    """What both databases share: every query, written once with ? placeholders. A subclass opens
    the connection (self._db: autocommit, transactions by explicit BEGIN/COMMIT) and says how its
    driver marks parameters (_PARAM), and names the store as logs may show it (name: no password)."""

    _PARAM = "?"
    _db: sqlite3.Connection
    name: str

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def _execute(self, sql: str, params: tuple | list = ()):
        return self._db.execute(sql.replace("?", self._PARAM) if self._PARAM != "?" else sql, params)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def add(self, events: list[dict], checkpoint: tuple[str, bytes] | None = None) -> list[int]:
        """Save events in one transaction; returns their ids (also set as event["id"]). checkpoint:
        (name, state) saved in the same transaction, replacing that name's (a central's state that
        these events are the effects of: both are there after a crash, or neither)."""
        if not events and checkpoint is None:
            return []
        ids = []
        with self._lock:
            self._execute("BEGIN")
            try:
                if checkpoint is not None:
                    self._execute("INSERT INTO checkpoints (name, time, state) VALUES (?, ?, ?) ON CONFLICT (name) DO "
                                  "UPDATE SET time = excluded.time, state = excluded.state",
                                  (checkpoint[0], time.time(), checkpoint[1]))
                summaries: dict[int, list] = {}  # the people's summaries these events add to, till a correction
                for event in events:
                    (id_,) = self._execute(
                        "INSERT INTO events (time, type, camera_id, global_id, body) VALUES (?, ?, ?, ?, ?) RETURNING id",
                        (event["time"], event["type"], event["camera_id"], event["global_id"], json.dumps(event))).fetchone()
                    event["id"] = id_
                    ids.append(id_)
                    self._summarise(event, summaries)
                self._merge_all(summaries)
                self._execute("COMMIT")
            except BaseException:
                self._execute("ROLLBACK")
                raise
        return ids

    def _summarise(self, event: dict, summaries: dict[int, list]) -> None:
        """Add an event to its person's summary in `summaries` (gid -> [first, last, cameras, count]),
        written (_merge_all) before a correction and at the end of the batch: one query per person, not per event."""
        # An exit or last_seen closing a corrected ID's visit counts for the ID it was corrected into:
        # the retired ID's summary is gone.
        gid = event.get("corrected_to") or event["global_id"]
        if gid is None:  # about a camera, not a person
            return
        if event["type"] == "id_corrected":
            self._merge_all(summaries)
            old = self._execute("SELECT first_seen, last_seen, cameras, events FROM identities WHERE global_id = ?",
                                   (event["old_global_id"],)).fetchone()
            if old is not None:
                self._execute("DELETE FROM identities WHERE global_id = ?", (event["old_global_id"],))
                self._merge(gid, old[0], old[1], json.loads(old[2]), old[3])
            return
        summary = summaries.setdefault(gid, [event["time"], event["time"], set(), 0])
        summary[0], summary[1] = min(summary[0], event["time"]), max(summary[1], event["time"])
        if event["camera_id"]:
            summary[2].add(event["camera_id"])
        summary[3] += 1

    def _merge_all(self, summaries: dict[int, list]) -> None:
        for gid, (first, last, cameras, count) in summaries.items():
            self._merge(gid, first, last, list(cameras), count)
        summaries.clear()

    def _merge(self, gid: int, first: float, last: float, cameras: list[str], count: int) -> None:
        row = self._execute("SELECT first_seen, last_seen, cameras, events FROM identities WHERE global_id = ?",
                               (gid,)).fetchone()
        if row is None:
            self._execute("INSERT INTO identities VALUES (?, ?, ?, ?, ?)", (gid, first, last, json.dumps(sorted(cameras)), count))
            return
        merged = sorted(set(json.loads(row[2])) | set(cameras))
        self._execute("UPDATE identities SET first_seen = ?, last_seen = ?, cameras = ?, events = ? WHERE global_id = ?",
                         (min(row[0], first), max(row[1], last), json.dumps(merged), row[3] + count, gid))

    def events(self, since: float | None = None, type: str | None = None, camera: str | None = None,
               global_id: int | None = None, limit: int = 100, after_id: int | None = None) -> list[dict]:
        """The newest `limit` events matching the filters (time > since, type, camera, person: their
        global ID and those corrected into it), oldest first.
        after_id: instead, the first `limit` stored after the event of that id, in the order they were
        stored: a cursor for polling (an exit carries the time the person was last seen, so it is stored
        after newer events and `since` would pass it by)."""
        if type is not None and type not in EVENT_TYPES:
            raise ValueError(f"type must be one of {', '.join(EVENT_TYPES)}; got {type!r}")
        if not 1 <= limit <= 10_000:
            raise ValueError(f"limit must be in 1..10000; got {limit}")
        clauses, values = [], []
        for clause, value in (("time > ?", since), ("type = ?", type), ("camera_id = ?", camera), ("id > ?", after_id)):
            if value is not None:
                clauses.append(clause)
                values.append(value)
        order = "id" if after_id is not None else "time DESC, id DESC"
        with self._lock:
            if global_id is not None:  # the person's events under the IDs corrected into theirs too
                ids = self._merged_into(global_id)
                clauses.append(f"global_id IN ({', '.join('?' * len(ids))})")
                values += ids
            where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
            rows = self._execute(f"SELECT id, body FROM events {where} ORDER BY {order} LIMIT ?", (*values, limit)).fetchall()
        return [{**json.loads(body), "id": id_} for id_, body in (rows if after_id is not None else reversed(rows))]

    def highest_global_id(self) -> int:
        """The highest global ID any stored event names (0 for none): a new run numbers its people after
        it, so that no ID stands for two people in one store."""
        with self._lock:
            row = self._execute("SELECT MAX(global_id) FROM events").fetchone()
        return int(row[0] or 0)

    def unclosed_visits(self) -> list[dict]:
        """The entries and zone_enters no exit or zone_leave closed: what a run that stopped without
        closing its visits (killed, crashed) left open. Each is its opening event under the person's
        final ID (corrections followed, as an exit may come under the ID a person was corrected into),
        with `until`: the time of that person's last stored event."""
        with self._lock:
            rows = self._execute("SELECT body FROM events WHERE type IN ('entry', 'exit', 'zone_enter', 'zone_leave', "
                                    "'id_corrected') ORDER BY id").fetchall()
        events = [json.loads(body) for (body,) in rows]
        renamed = {e["old_global_id"]: e["global_id"] for e in events if e["type"] == "id_corrected"}

        still_open: dict[tuple, list[dict]] = {}
        for event in events:
            if event["type"] == "id_corrected":
                continue
            key = (corrected_id(event["global_id"], renamed), event["camera_id"], event.get("zone"))
            if event["type"] in ("entry", "zone_enter"):
                still_open.setdefault(key, []).append(event)
            elif still_open.get(key):
                still_open[key].pop()
        out = []
        for (gid, _, _), opened in still_open.items():
            if not opened:
                continue
            ids = [g for g in {gid, *renamed} if corrected_id(g, renamed) == gid]
            with self._lock:
                (until,) = self._execute(f"SELECT MAX(time) FROM events WHERE global_id IN ({', '.join('?' * len(ids))})",
                                            ids).fetchone()
            out += [{**event, "global_id": gid, "until": until} for event in opened]
        return out

    def identities(self, limit: int = 1000) -> list[dict]:
        """Per person: first and last seen, cameras, number of events; most recently seen first."""
        with self._lock:
            rows = self._execute(f"SELECT {_IDENTITY_COLUMNS} FROM identities ORDER BY last_seen DESC LIMIT ?",
                                    (limit,)).fetchall()
        return [_identity(row) for row in rows]

    def identity(self, global_id: int) -> dict | None:
        """One person's summary (as identities() gives it), or None."""
        with self._lock:
            row = self._execute(f"SELECT {_IDENTITY_COLUMNS} FROM identities WHERE global_id = ?",
                                   (global_id,)).fetchone()
        return None if row is None else _identity(row)

    def journey(self, global_id: int, limit: int = 10_000) -> list[dict]:
        """Every event of a person, oldest first, including those of the global IDs corrected into it."""
        with self._lock:
            ids = self._merged_into(global_id)
            rows = self._execute(f"SELECT id, body FROM events WHERE global_id IN ({', '.join('?' * len(ids))}) "
                                 "ORDER BY time, id LIMIT ?", (*ids, limit)).fetchall()
        return [{**json.loads(body), "id": id_} for id_, body in rows]

    def _merged_into(self, global_id: int) -> list[int]:
        """global_id and every global ID an id_corrected event moved into it, directly or by a chain."""
        ids, todo = {global_id}, [global_id]
        while todo:
            rows = self._execute("SELECT body FROM events WHERE type = 'id_corrected' AND global_id = ?",
                                 (todo.pop(),)).fetchall()
            for (body,) in rows:
                old = json.loads(body)["old_global_id"]
                if old not in ids:
                    ids.add(old)
                    todo.append(old)
        return sorted(ids)

    def checkpoint(self, name: str) -> bytes | None:
        """The state add() last saved under this name, or None."""
        with self._lock:
            row = self._execute("SELECT state FROM checkpoints WHERE name = ?", (name,)).fetchone()
        return None if row is None else bytes(row[0])

    def drop_checkpoint(self, name: str) -> None:
        with self._lock:
            self._execute("DELETE FROM checkpoints WHERE name = ?", (name,))

    def count(self) -> int:
        with self._lock:
            return self._execute("SELECT COUNT(*) FROM events").fetchone()[0]


class EventStore(SqlStore):
    """Events and identities in SQLite at `path` (created with its folder if missing)."""

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self.path = Path(path)
        self.name = str(self.path)  # as logs show it
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            _let_events_have_no_person(self._db)
            self._db.executescript(_SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise MctrtError(f"event store {self.path} cannot be opened ({exc}); fix store.path in the config") from None


class PostgresStore(SqlStore):
    """Events and identities in the PostgreSQL database at `url` (postgresql://USER@HOST:PORT/DB; the
    tables are created if missing). Needs psycopg 3 (pip install "mctrt[postgres]")."""

    _PARAM = "%s"

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        self.name = _without_password(url)  # as logs show it
        try:
            import psycopg
        except ImportError:
            raise MctrtError(f"store.url {_without_password(url)} needs psycopg 3: pip install \"mctrt[postgres]\"") from None
        try:
            self._db = psycopg.connect(url, autocommit=True, connect_timeout=5)
            with self._lock:  # two runs starting together both create the tables: one at a time
                self._db.execute("SELECT pg_advisory_lock(7261)")
                try:
                    self._db.execute(_POSTGRES_SCHEMA)
                finally:
                    self._db.execute("SELECT pg_advisory_unlock(7261)")
        except psycopg.Error as exc:
            reason = " ".join(str(exc).split())  # one line
            raise MctrtError(f"event store {_without_password(url)} cannot be opened ({reason}); start "
                             "PostgreSQL there or fix store.url in the config") from None


# The same tables as _SCHEMA in PostgreSQL's types: times in double precision (REAL is 4 bytes there).
_POSTGRES_SCHEMA = (_SCHEMA.replace("id INTEGER PRIMARY KEY AUTOINCREMENT", "id BIGSERIAL PRIMARY KEY")
                    .replace("REAL", "DOUBLE PRECISION").replace("global_id INTEGER", "global_id BIGINT")
                    .replace("BLOB", "BYTEA"))


def _without_password(url: str) -> str:
    """The URL as logs and errors may show it."""
    scheme, sep, rest = url.partition("://")
    if "@" not in rest:
        return url
    user, _, host = rest.rpartition("@")
    return f"{scheme}{sep}{user.split(':', 1)[0]}:***@{host}" if ":" in user else url


_IDENTITY_COLUMNS = "global_id, first_seen, last_seen, cameras, events"


def _let_events_have_no_person(db: sqlite3.Connection) -> None:
    """Stores made before camera health events had events.global_id NOT NULL: rebuild that table once,
    keeping every row (SQLite cannot drop a constraint in place)."""
    columns = db.execute("PRAGMA table_info(events)").fetchall()  # (cid, name, type, notnull, default, pk)
    if not any(name == "global_id" and notnull for _, name, _, notnull, _, _ in columns):
        return
    create_events = _SCHEMA[_SCHEMA.index("CREATE TABLE IF NOT EXISTS events"):_SCHEMA.index(");") + 2]
    db.executescript("BEGIN; ALTER TABLE events RENAME TO events_before_health;" + create_events
                     + "INSERT INTO events SELECT * FROM events_before_health; DROP TABLE events_before_health; COMMIT;")


def _identity(row: tuple) -> dict:
    g, first, last, cameras, n = row
    return {"global_id": g, "first_seen": first, "last_seen": last, "cameras": json.loads(cameras), "events": n}
