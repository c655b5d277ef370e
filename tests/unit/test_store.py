"""The event store: the queries the API needs and identity summaries that follow corrections, on
SQLite and on PostgreSQL (a server the tests start); no committed event lost when the writing process
is killed; SQLite stores of older versions upgraded."""

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from mctrt.config import StoreConfig
from mctrt.store import EventStore, PostgresStore, open_store


def event(kind, t, gid, cam="a", **extra):
    return {"type": kind, "time": t, "camera_id": cam, "global_id": gid, "track_id": 1, "frame": int(t), **extra}


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        s = EventStore(tmp_path / "sub" / "events.db")
    else:
        s = PostgresStore(request.getfixturevalue("postgres_server")())
    yield s
    s.close()


def test_events_filter_by_since_type_camera_and_limit(store):
    store.add([event("entry", 1.0, 1), event("entry", 2.0, 2, "b"), event("line_cross", 3.0, 1, line="door", direction="forward"),
               event("exit", 4.0, 1)])
    assert [e["type"] for e in store.events()] == ["entry", "entry", "line_cross", "exit"]
    assert [e["time"] for e in store.events(since=2.0)] == [3.0, 4.0]
    assert [e["global_id"] for e in store.events(type="entry")] == [1, 2]
    assert [e["time"] for e in store.events(camera="b")] == [2.0]
    assert [e["time"] for e in store.events(limit=2)] == [3.0, 4.0]  # the newest two, oldest first
    crossing = store.events(type="line_cross")[0]
    assert crossing["line"] == "door" and crossing["direction"] == "forward" and crossing["id"] == 3


def test_polling_after_an_id_gets_every_event_once_even_an_exit_stored_after_newer_ones(store):
    store.add([event("entry", 100.0, 1), event("entry", 105.0, 2)])
    seen = store.events(after_id=0)
    store.add([event("exit", 101.0, 1), event("entry", 110.0, 3), event("entry", 111.0, 4)])  # 1's exit: last seen at 101
    assert store.events(since=105.0, limit=10)[0]["time"] == 110.0  # polling by time passes the exit by
    while batch := store.events(after_id=seen[-1]["id"], limit=2):
        seen += batch
    assert [(e["type"], e["time"]) for e in seen] == [("entry", 100.0), ("entry", 105.0), ("exit", 101.0),
                                                      ("entry", 110.0), ("entry", 111.0)]


def test_bad_queries_say_what_is_allowed(store):
    with pytest.raises(ValueError, match="type must be one of entry, exit"):
        store.events(type="entered")
    with pytest.raises(ValueError, match="limit must be in 1..10000"):
        store.events(limit=0)


def test_identity_summaries_fold_a_corrected_id_into_its_replacement(store):
    store.add([event("entry", 1.0, 1, "a"), event("entry", 5.0, 7, "b"), event("exit", 9.0, 7, "b")])
    store.add([{"type": "id_corrected", "time": 10.0, "camera_id": None, "global_id": 1, "track_id": None,
                "frame": None, "old_global_id": 7}])
    assert store.identities() == [{"global_id": 1, "first_seen": 1.0, "last_seen": 9.0, "cameras": ["a", "b"], "events": 3}]


def test_a_persons_events_include_those_of_the_ids_corrected_into_theirs(store):
    """global_id=1 finds person 1's events under 7 and under 9 (corrected into 7, then 7 into 1), not 3's."""
    store.add([event("entry", 1.0, 1, "a"), event("entry", 2.0, 9, "b"), event("entry", 2.5, 3, "a"),
               {**event("id_corrected", 3.0, 7, None), "old_global_id": 9, "reason": "floor"},
               event("line_cross", 4.0, 7, "b"),
               {**event("id_corrected", 5.0, 1, None), "old_global_id": 7, "reason": "appearance"},
               event("exit", 6.0, 1, "a")])
    assert [(e["type"], e["global_id"]) for e in store.events(global_id=1)] == [
        ("entry", 1), ("entry", 9), ("id_corrected", 7), ("line_cross", 7), ("id_corrected", 1), ("exit", 1)]
    assert [e["type"] for e in store.events(global_id=1, type="entry")] == ["entry", "entry"]
    assert [e["global_id"] for e in store.events(global_id=7)] == [9, 7, 7]
    assert [e["global_id"] for e in store.events(global_id=3)] == [3]


def test_a_batch_summarises_people_as_its_events_one_by_one_would(store, tmp_path):
    """add() writes each person's summary once per batch, and before a correction, which reads it."""
    events = [event("entry", 1.0, 1, "a"), event("entry", 2.0, 7, "b"), event("line_cross", 3.0, 7, "c"),
              event("dwell", 4.0, 1, "a"), {"type": "id_corrected", "time": 5.0, "camera_id": None, "global_id": 1,
                                            "track_id": None, "frame": None, "old_global_id": 7},
              event("exit", 6.0, 7, "b", corrected_to=1), event("entry", 0.5, 3, "a"), event("exit", 8.0, 3, "a")]
    one_by_one = EventStore(tmp_path / "one_by_one.db")
    for e in events:
        one_by_one.add([dict(e)])
    store.add(events)
    assert store.identities() == one_by_one.identities()
    assert store.identity(1) == {"global_id": 1, "first_seen": 1.0, "last_seen": 6.0, "cameras": ["a", "b", "c"], "events": 5}
    one_by_one.close()


def test_unwritable_path_names_the_store(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(Exception, match="event store .* cannot be opened .* fix store.path"):
        EventStore(tmp_path / "file" / "events.db")


def test_committed_events_survive_the_process_being_killed(tmp_path):
    path = tmp_path / "events.db"
    writer = textwrap.dedent(f"""
        import os, sys
        from mctrt.store import EventStore
        store = EventStore({str(path)!r})
        for k in range(50):
            store.add([{{"type": "entry", "time": float(k), "camera_id": "a", "global_id": k, "track_id": 1, "frame": k}}])
        print("committed", flush=True)
        sys.stdin.readline()  # wait here, store open, until killed
    """)
    proc = subprocess.Popen([sys.executable, "-c", writer], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "committed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    reopened = EventStore(path)
    assert reopened.count() == 50
    assert [e["global_id"] for e in reopened.events(limit=3)] == [47, 48, 49]
    reopened.close()


def test_camera_events_without_a_person_are_stored_and_summarise_nobody(store):
    store.add([{"type": "camera_offline", "time": 5.0, "camera_id": "a", "global_id": None, "track_id": None,
                "frame": None, "since": 0.0}])
    assert [e["type"] for e in store.events(camera="a")] == ["camera_offline"] and store.identities() == []


def test_a_store_made_before_camera_events_is_upgraded_keeping_its_events(tmp_path):
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.executescript("""CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, time REAL NOT NULL, type TEXT NOT NULL,
                        camera_id TEXT, global_id INTEGER NOT NULL, body TEXT NOT NULL);
                        INSERT INTO events (time, type, camera_id, global_id, body) VALUES
                        (1.0, 'entry', 'a', 3, '{"type": "entry", "time": 1.0, "camera_id": "a", "global_id": 3}');""")
    db.commit()
    db.close()
    store = EventStore(path)
    try:
        store.add([{"type": "camera_ok", "time": 2.0, "camera_id": "a", "global_id": None, "track_id": None, "frame": None}])
        assert [(e["type"], e["global_id"]) for e in store.events()] == [("entry", 3), ("camera_ok", None)]
        assert [e["type"] for e in store.events(type="entry")] == ["entry"]
    finally:
        store.close()
    db = sqlite3.connect(path)
    indexes = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events'")}
    columns = {name: notnull for _, name, _, notnull, _, _ in db.execute("PRAGMA table_info(events)")}
    db.close()
    assert {"events_time", "events_type_time", "events_camera_time"} <= indexes and columns["global_id"] == 0


def test_unclosed_visits_follow_corrections_and_skip_what_was_closed(store):
    store.add([event("entry", 1.0, 5), event("entry", 1.5, 7), event("entry", 2.0, 9, "b"),
               event("zone_enter", 2.0, 9, "b", zone="door", occupancy=1),
               {**event("id_corrected", 3.0, 7, None), "old_global_id": 5, "reason": "floor"},
               event("exit", 4.0, 7, duration_s=2.5),  # 7's visit of a; 5's, now 7's, is still open
               event("exit", 6.0, 9, "b", duration_s=4.0), event("dwell", 7.0, 7, duration_s=6.0)])
    still_open = store.unclosed_visits()
    assert sorted((v["type"], v["global_id"], v["camera_id"], v["until"]) for v in still_open) == [
        ("entry", 7, "a", 7.0), ("zone_enter", 9, "b", 6.0)]


def test_events_closing_a_corrected_id_count_for_the_id_it_became(store):
    store.add([event("entry", 1.0, 5), event("entry", 1.2, 2), event("first_seen", 1.0, 5, None), event("first_seen", 1.2, 2, None),
               {**event("id_corrected", 2.0, 2, None), "old_global_id": 5, "reason": "floor"},
               event("exit", 1.5, 5, corrected_to=2, duration_s=0.5),
               event("last_seen", 1.5, 5, None, corrected_to=2, duration_s=0.5, first_seen=1.0, cameras=["a"])])
    assert [i["global_id"] for i in store.identities()] == [2]


def test_times_keep_their_precision_and_ids_are_never_reused_after_a_reopen(store, tmp_path):
    t = 1_764_700_000.123456  # Unix seconds with microseconds: a 4-byte float would round them to minutes
    store.add([event("entry", t, 41)])
    assert store.events()[0]["time"] == t and store.identity(41)["first_seen"] == t
    reopened = open_store(StoreConfig(url=store.url) if isinstance(store, PostgresStore) else StoreConfig(store.path))
    try:
        assert reopened.highest_global_id() == 41 and reopened.count() == 1
    finally:
        reopened.close()


def test_an_unreachable_postgresql_names_the_url_without_its_password_and_the_fix(free_port):
    url = f"postgresql://mctrt:secret@127.0.0.1:{free_port()}/mctrt"
    with pytest.raises(Exception, match=r"event store postgresql://mctrt:\*\*\*@127.0.0.1:\d+/mctrt cannot be opened "
                                        r".*start PostgreSQL there or fix store.url") as caught:
        open_store(StoreConfig(url=url))
    assert "secret" not in str(caught.value)
