"""Workers and a central over a real Redis (redis-server on a free 127.0.0.1 port), with the fake
models of test_pipeline_steps: the central gives the global IDs one process gives, takes up after a
crash the steps it had not acknowledged, skips steps delivered twice, stores in PostgreSQL the events
one process stores in SQLite, and a worker holds its steps while Redis is down."""

from __future__ import annotations

import dataclasses
import json
import pickle
import struct
import threading
import time

import aiohttp
import cv2
import numpy as np
import pytest

from mctrt.bus.messages import CameraStep
from mctrt.bus.redis_streams import BusError, RedisPublisher, RedisSubscriber, connect, picture_stream, stream_name
from mctrt.central import Central
from mctrt.config import BusConfig, StoreConfig
from mctrt.pipeline import Pipeline
from mctrt.server import create_app
from mctrt.store import open_store

from conftest import events_by_content, start_redis
from test_bus_messages import step_at
from test_pipeline_steps import (
    ColourDetector,
    ColourEmbedder,
    config,
    frames_at,
    pipeline,
)

CAMERAS = {"west": 0, "east": 150}  # overlapping views of the drawn floor


def walk(step: int) -> dict[int, tuple[float, float]]:
    """Three people crossing both views."""
    return {0: (0.5 + 0.06 * step, 2.0), 1: (7.0 - 0.05 * step, 3.5), 2: (1.0 + 0.04 * step, 5.0)}


STEPS = 60


def one_process(cfg, tmp_path) -> dict[tuple[str, int], list[int]]:
    p = pipeline(cfg, tmp_path)
    ids = {}
    for step in range(STEPS):
        for r in p.process(frames_at(step, step + 1, walk(step), CAMERAS)):
            ids[(r.camera_id, r.step.index)] = sorted(r.global_ids.tolist())
    p.close()
    return ids


def publish_workers(cfg, tmp_path, url, steps=range(STEPS), end=True) -> None:
    """One worker per camera, each publishing its camera's steps (and, offline, its end marker)."""
    for name in CAMERAS:
        publisher = RedisPublisher(cfg.bus, [name], url)
        worker = Pipeline(cfg, offline=True, detector=ColourDetector(), embedder=ColourEmbedder(), use_store=False,
                          camera_ids=[name], publisher=publisher)
        for step in steps:
            worker.process([f for f in frames_at(step, step + 1, walk(step), CAMERAS) if f.camera_id == name])
        if end:
            publisher.publish([CameraStep.end(name, steps[-1] + 1, 0.0)])
        publisher.close()


def central_ids(cfg, url) -> tuple[dict[tuple[str, int], list[int]], Central]:
    central = Central(cfg, RedisSubscriber(cfg.bus, cfg.camera_ids, url), offline=True)
    ids = {}
    central.listeners.append(lambda results, _: ids.update(
        {(r.camera_id, r.step.index): sorted(r.global_ids.tolist()) for r in results}))
    central.run()
    return ids, central


def test_two_workers_and_a_central_give_the_global_ids_of_one_process(tmp_path, redis_url):
    cfg = config(CAMERAS, tmp_path)
    expected = one_process(cfg, tmp_path)
    publish_workers(cfg, tmp_path, redis_url)
    got, central = central_ids(cfg, redis_url)
    assert len(got) == 2 * STEPS and got == expected
    assert {g for ids in got.values() for g in ids} == {1, 2, 3}  # three people, three IDs across both cameras
    assert central.duplicates == 0 and central.orderer.late == 0
    client = connect(redis_url)
    assert all(client.xpending(stream_name(cfg.bus.prefix, cam), "central")["pending"] == 0 for cam in CAMERAS)


def publish_ends(cfg, url) -> None:
    publisher = RedisPublisher(cfg.bus, list(CAMERAS), url)
    publisher.publish([CameraStep.end(name, STEPS, 0.0) for name in CAMERAS])
    publisher.close()


def test_a_central_that_died_before_processing_what_it_read_gets_it_again_and_repeats_are_skipped(tmp_path, redis_url):
    cfg = config(CAMERAS, tmp_path)
    expected = one_process(cfg, tmp_path)
    publish_workers(cfg, tmp_path, redis_url, end=False)
    crashed = RedisSubscriber(cfg.bus, cfg.camera_ids, redis_url)
    delivered = crashed.read() + crashed.read()  # its pending entries (none), then new ones
    assert len(delivered) > 0  # delivered, never acknowledged: the central died before processing them
    client = connect(redis_url)
    for cam in CAMERAS:  # a worker's publisher sending its last 5 steps again (a retry after a timeout)
        stream = stream_name(cfg.bus.prefix, cam)
        for _, fields in client.xrange(stream)[-5:]:
            client.xadd(stream, fields)
    publish_ends(cfg, redis_url)
    got, central = central_ids(cfg, redis_url)
    assert got == expected
    assert central.duplicates == 2 * 5


def crash_at(cfg, url, frames: int) -> Central:
    """A central that processes up to `frames` frames per camera and dies there (no clean close: what
    it had not checkpointed stays unacknowledged and out of the store)."""
    central = Central(cfg, RedisSubscriber(cfg.bus, cfg.camera_ids, url), offline=True)
    central.close = lambda: None  # killed: nothing of a clean stop happens
    central.run(max_frames=frames)
    return central


@pytest.mark.parametrize("store", ["sqlite", "postgresql", "none"])
def test_a_central_killed_mid_run_resumes_and_its_store_ends_as_an_uninterrupted_runs(tmp_path, redis_url, store,
                                                                                       request):
    zone = {"zones": [{"name": "middle", "polygon_m": [[2, 0], [5, 0], [5, 6], [2, 6]]}]}
    base = config(CAMERAS, tmp_path, events=zone)
    uninterrupted = dataclasses.replace(base, store=StoreConfig(str(tmp_path / "one.db")))
    one = Pipeline(uninterrupted, offline=True, detector=ColourDetector(), embedder=ColourEmbedder())
    ids = {}
    for step in range(STEPS):
        ids.update({(r.camera_id, r.step.index): sorted(r.global_ids.tolist())
                    for r in one.process(frames_at(step, step + 1, walk(step), CAMERAS))})
    one.close()
    where = {"sqlite": StoreConfig(str(tmp_path / "central.db")), "none": StoreConfig(None),
             "postgresql": StoreConfig(url=request.getfixturevalue("postgres_server")()) if store == "postgresql" else None}
    cfg = dataclasses.replace(base, store=where[store])
    publish_workers(cfg, tmp_path, redis_url)
    # committed after every step up to frame 20, then killed after frame 40 with 21..40 not committed
    crash_at(dataclasses.replace(cfg, bus=BusConfig(checkpoint_s=0.0)), redis_url, 20)
    crash_at(dataclasses.replace(cfg, bus=BusConfig(checkpoint_s=3600.0)), redis_url, 40)
    got, central = central_ids(cfg, redis_url)
    assert central.resumed and min(frame for _, frame in got) == 21  # from the checkpoint on
    assert got == {key: value for key, value in ids.items() if key[1] > 20}
    if store != "none":
        expected, stored = open_store(uninterrupted.store), open_store(cfg.store)
        try:
            assert len(events_by_content(expected)) > 6 and events_by_content(stored) == events_by_content(expected)
        finally:
            expected.close()
            stored.close()
    rerun = Central(cfg, RedisSubscriber(cfg.bus, cfg.camera_ids, redis_url), offline=True, use_store=store != "none")
    assert not rerun.resumed  # the last central stopped cleanly: nothing to resume
    rerun.subscriber.close()


def test_a_worker_holds_its_steps_while_redis_is_down_and_drops_the_oldest_beyond_its_buffer(tmp_path, free_port):
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    server = start_redis(port, tmp_path)
    cfg = config(CAMERAS, tmp_path)
    cfg = dataclasses.replace(cfg, bus=BusConfig(buffer=3))
    publisher = RedisPublisher(cfg.bus, ["west"], url)
    worker = Pipeline(cfg, offline=True, detector=ColourDetector(), embedder=ColourEmbedder(), use_store=False,
                      camera_ids=["west"], publisher=publisher)
    try:
        worker.process([f for f in frames_at(0, 1, walk(0), CAMERAS) if f.camera_id == "west"])
        server.terminate()
        server.wait(timeout=10)
        for step in range(1, 6):  # Redis is gone: nothing raises
            worker.process([f for f in frames_at(step, step + 1, walk(step), CAMERAS) if f.camera_id == "west"])
        assert publisher.dropped == 2 and publisher.published == 1
        server = start_redis(port, tmp_path)
        assert publisher.flush(wait=True)
        client = connect(url)
        frames = [int(f[b"frame"]) for _, f in client.xrange(stream_name(cfg.bus.prefix, "west"))]
        assert frames == [4, 5, 6]  # the newest three; the first step went down with the old server's memory
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_an_unreachable_bus_is_an_error_naming_the_url_and_the_fix(tmp_path, free_port):
    url = f"redis://127.0.0.1:{free_port()}/0"
    with pytest.raises(BusError, match=f"cannot reach Redis at {url}.*redis-server"):
        RedisPublisher(config(CAMERAS, tmp_path).bus, ["west"], url)
    with pytest.raises(BusError, match="not a Redis URL"):
        connect("http://example.com")


def test_a_central_stores_in_postgresql_the_events_one_process_stores_in_sqlite(tmp_path, redis_url, postgres_server):
    zone = {"zones": [{"name": "middle", "polygon_m": [[2, 0], [5, 0], [5, 6], [2, 6]]}]}
    sqlite_cfg = dataclasses.replace(config(CAMERAS, tmp_path, events=zone), store=StoreConfig(str(tmp_path / "one.db")))
    one = Pipeline(sqlite_cfg, offline=True, detector=ColourDetector(), embedder=ColourEmbedder())
    for step in range(STEPS):
        one.process(frames_at(step, step + 1, walk(step), CAMERAS))
    one.close()
    pg_cfg = dataclasses.replace(sqlite_cfg, store=StoreConfig(url=postgres_server()))
    publish_workers(sqlite_cfg, tmp_path, redis_url)
    Central(pg_cfg, RedisSubscriber(pg_cfg.bus, pg_cfg.camera_ids, redis_url), offline=True).run()
    expected, got = open_store(sqlite_cfg.store), open_store(pg_cfg.store)
    try:
        assert len(events_by_content(expected)) > 6 and events_by_content(got) == events_by_content(expected)
        assert {e["type"] for e in got.events(limit=10_000)} >= {"entry", "exit", "zone_enter", "zone_leave"}
    finally:
        expected.close()
        got.close()


def test_a_restarted_worker_starts_a_new_run_whose_people_keep_their_global_ids(tmp_path, redis_url):
    """A worker dies after 30 steps; its replacement counts frames and track IDs from 1 again, and
    sees the first person a few frames late, so its track 1 is another person than the old run's.
    The central ends the old run's tracks and the floor finds the same three people again."""
    cfg = config(CAMERAS, tmp_path)
    for name in CAMERAS:
        for first, last in ((0, 30), (30, STEPS)):  # two runs of the worker: frames 1..30, then 1..30 again
            publisher = RedisPublisher(cfg.bus, [name], redis_url)
            worker = Pipeline(cfg, offline=True, detector=ColourDetector(), embedder=ColourEmbedder(), use_store=False,
                              camera_ids=[name], publisher=publisher)
            for step in range(first, last):
                people = walk(step)
                if first and step - first < 5:
                    del people[0]
                frame = [f for f in frames_at(step, step - first + 1, people, CAMERAS) if f.camera_id == name]
                worker.process(frame)
            publisher.close()
    publish_ends(cfg, redis_url)
    central = Central(cfg, RedisSubscriber(cfg.bus, cfg.camera_ids, redis_url), offline=True)
    seen, links_after = [], {}

    def listen(results, _):
        seen.extend((r.camera_id, r.step.index, r.step.run, sorted(r.global_ids.tolist())) for r in results)
        for r in results:  # the links of the camera's tracks just after its worker's restart
            if r.step.index == 1 and any(c == r.camera_id and i > 1 for c, i, _, _ in seen):
                links_after[r.camera_id] = (r.step.time_s, {k: link.since for k, link in
                                                            central.scene.associator.links.items() if k[0] == r.camera_id})

    central.listeners.append(listen)
    central.run()
    for restart_s, links in links_after.values():  # the old run's links ended: any link is of the new run
        assert all(since >= restart_s for since in links.values()), links
    runs = {cam: [] for cam in CAMERAS}
    for cam, _, run, _ in seen:
        if run not in runs[cam]:
            runs[cam].append(run)
    assert all(len(r) == 2 for r in runs.values()) and len(links_after) == 2  # both runs of each camera, none skipped
    assert central.duplicates == 0 and len(seen) == 2 * STEPS
    expected = one_process(cfg, tmp_path)  # no restart: frame k + 30 of it is frame k of the second run
    second = {(cam, index + 30): ids for cam, index, run, ids in seen if run == runs[cam][1] and index > 8}
    assert second == {key: ids for key, ids in expected.items() if key[1] > 38}  # the same people, the same IDs
    assert not central.scene.associator.links  # every track, of both runs, ended at the close


async def test_the_dashboard_serves_a_central_its_cameras_stats_identities_and_events(tmp_path, redis_url,
                                                                                      aiohttp_client):
    cfg = dataclasses.replace(config(CAMERAS, tmp_path), store=StoreConfig(str(tmp_path / "central.db")))
    publish_workers(cfg, tmp_path, redis_url)
    central = Central(cfg, RedisSubscriber(cfg.bus, cfg.camera_ids, redis_url), offline=True)
    central.run()
    client = await aiohttp_client(create_app(central))
    health = await client.get("/health")  # the workers' runs ended, and with them the central's
    assert health.status == 503 and (await health.json())["status"] == "stopped"
    cameras = (await (await client.get("/api/cameras")).json())["cameras"]
    assert [(c["camera_id"], c["state"]) for c in cameras] == [(cam, "ended") for cam in CAMERAS]
    stats = await (await client.get("/api/stats")).json()
    assert stats["total_frames"] == 2 * STEPS and stats["association"]["global_ids"] == 3
    identities = (await (await client.get("/api/identities")).json())["identities"]
    assert sorted(i["global_id"] for i in identities) == [1, 2, 3]
    entries = (await (await client.get("/api/events", params={"type": "entry"})).json())["events"]
    assert len(entries) >= 3


def test_a_central_refuses_a_newer_workers_messages_naming_the_fix_and_leaves_them_for_an_upgraded_one(
        tmp_path, redis_url, caplog):
    cfg = config(CAMERAS, tmp_path)
    publish_workers(cfg, tmp_path, redis_url, steps=range(2), end=False)
    client = connect(redis_url)
    stream = stream_name(cfg.bus.prefix, "west")
    newer = {**client.xrange(stream)[-1][1], b"v": b"99"}
    client.xadd(stream, newer)
    subscriber = RedisSubscriber(cfg.bus, cfg.camera_ids, redis_url)
    got = subscriber.read() + subscriber.read()
    assert len(got) == 4  # two steps of each camera; not the newer one
    assert "bus schema v99" in caplog.text and "upgrade mctrt on the central first" in caplog.text
    subscriber.ack([token for _, token in got])
    assert client.xpending(stream, "central")["pending"] == 1  # still there for an upgraded central


def test_a_worker_sends_pictures_of_a_camera_only_while_a_centrals_dashboard_watches_it(tmp_path, redis_url):
    cfg = config(CAMERAS, tmp_path)
    worker = Pipeline(cfg, detector=ColourDetector(), embedder=ColourEmbedder(), use_store=False, camera_ids=["west"],
                      publisher=RedisPublisher(cfg.bus, ["west"], redis_url))
    central = Central(cfg, RedisSubscriber(cfg.bus, cfg.camera_ids, redis_url), use_store=False)  # live
    runner = threading.Thread(target=central.run)
    runner.start()
    client, pictures = connect(redis_url), picture_stream(cfg.bus.prefix, "west")
    try:
        step = 0
        for step in range(5):
            worker.process([f for f in frames_at(step, step + 1, walk(step), CAMERAS) if f.camera_id == "west"])
        assert not client.exists(pictures)  # nobody watches
        assert central.picture("west") is None  # asking for it is watching it
        deadline = time.monotonic() + 60
        while central.picture("west") is None:
            assert time.monotonic() < deadline, "no picture came"
            step += 1
            worker.process([f for f in frames_at(step, step + 1, walk(step), CAMERAS) if f.camera_id == "west"])
            time.sleep(0.1)
        image = cv2.imdecode(np.frombuffer(central.picture("west").jpeg, np.uint8), cv2.IMREAD_COLOR)
        assert image.shape == (300, 250, 3) and client.xlen(pictures) <= 2
        assert not client.exists(picture_stream(cfg.bus.prefix, "east"))  # not watched
    finally:
        central.stop()
        runner.join(timeout=30)
        worker.publisher.close()


async def test_a_centrals_dashboard_shows_a_cameras_video_from_its_workers_pictures_with_global_ids(
        tmp_path, redis_url, aiohttp_client):
    cfg = config(CAMERAS, tmp_path)
    worker = Pipeline(cfg, detector=ColourDetector(), embedder=ColourEmbedder(), use_store=False, camera_ids=["west"],
                      publisher=RedisPublisher(cfg.bus, ["west"], redis_url))
    central = Central(cfg, RedisSubscriber(cfg.bus, cfg.camera_ids, redis_url), use_store=False)  # live
    client = await aiohttp_client(create_app(central))
    runner, stop = threading.Thread(target=central.run), threading.Event()

    def work():
        for step in range(10_000):
            if stop.is_set():
                return
            worker.process([f for f in frames_at(step % 100, step + 1, walk(step % 100), CAMERAS)
                            if f.camera_id == "west"])
            time.sleep(0.05)

    feeder = threading.Thread(target=work)
    runner.start()
    feeder.start()
    try:
        ws = await client.ws_connect("/ws/west")
        message = await ws.receive(timeout=60)
        assert message.type == aiohttp.WSMsgType.BINARY
        (size,) = struct.unpack(">I", message.data[:4])
        header = json.loads(message.data[4:4 + size])
        image = cv2.imdecode(np.frombuffer(message.data[4 + size:], np.uint8), cv2.IMREAD_COLOR)
        assert header["camera_id"] == "west" and (header["width"], header["height"], header["scale"]) == (250, 300, 1.0)
        assert image.shape == (300, 250, 3) and header["tracks"]
        await ws.close()
    finally:
        stop.set()
        feeder.join(timeout=30)
        central.stop()
        runner.join(timeout=30)
        worker.publisher.close()


def test_a_killed_worker_shows_offline_the_other_camera_goes_on_and_a_restarted_one_is_back(tmp_path, redis_url):
    """Live: the west worker dies; the central goes on with east (it waits for west at most
    bus.lateness_s), says camera_offline for west, and camera_ok once a new west worker sends."""
    health = {"camera_health": {"offline_after_s": 2.0, "debounce_s": 0.2, "window_s": 1.0}}
    cfg = dataclasses.replace(config(CAMERAS, tmp_path, events=health), bus=BusConfig(lateness_s=0.3))

    def worker(name):
        return Pipeline(cfg, detector=ColourDetector(), embedder=ColourEmbedder(), use_store=False, camera_ids=[name],
                        publisher=RedisPublisher(cfg.bus, [name], redis_url))

    central = Central(cfg, RedisSubscriber(cfg.bus, cfg.camera_ids, redis_url), use_store=False)  # live
    events, processed = [], []
    central.listeners.append(lambda results, new: (events.extend(new), processed.extend(
        (r.camera_id, r.step.run) for r in results)))
    workers = {name: worker(name) for name in CAMERAS}  # before the central's health clock starts
    runner = threading.Thread(target=central.run)
    runner.start()
    step = 0

    def run_until(condition, names, what):
        nonlocal step
        deadline = time.monotonic() + 60
        while not condition():
            assert time.monotonic() < deadline, what
            step += 1
            for name in names:
                frames = frames_at(step % 100, step, walk(step % 100), CAMERAS)
                workers[name].process([f for f in frames if f.camera_id == name])
            time.sleep(0.05)

    def said(kind, camera, since=0):  # since: events before it (a loaded machine's slow start) are not asked about
        return any(e["type"] == kind and e["camera_id"] == camera for e in list(events)[since:])

    try:
        run_until(lambda: {"west", "east"} <= {c for c, _ in processed}, CAMERAS, "both cameras never processed")
        workers["west"].publisher.close()  # killed: it sends nothing more
        east_before, killed = sum(c == "east" for c, _ in processed), len(events)
        run_until(lambda: said("camera_offline", "west", killed), ["east"], "west never went offline")
        assert sum(c == "east" for c, _ in processed) > east_before + 5  # east went on meanwhile
        assert not said("camera_offline", "east", killed)
        states = {s["camera_id"]: s["state"] for s in central.camera_status()}  # as /api/cameras shows them
        assert states["west"] == "offline" and states["east"] != "offline"
        old_run = workers["west"].run_id
        workers["west"] = worker("west")  # restarted: a new run
        run_until(lambda: said("camera_ok", "west", killed), CAMERAS, "west never came back")
        assert ("west", workers["west"].run_id) in processed and workers["west"].run_id != old_run
        assert "offline" not in {s["state"] for s in central.camera_status()}
    finally:
        central.stop()
        runner.join(timeout=30)
        for w in workers.values():
            w.publisher.close()


def test_a_central_whose_redis_lost_its_streams_makes_them_again_and_reads_on(tmp_path, redis_url):
    cfg = config(CAMERAS, tmp_path)
    subscriber = RedisSubscriber(cfg.bus, cfg.camera_ids, redis_url)
    connect(redis_url).flushall()  # a Redis restarted without persistence
    assert subscriber.read() == [] and subscriber.read(block_ms=10) == []
    publish_workers(cfg, tmp_path, redis_url, steps=range(3), end=False)
    assert len(subscriber.read()) == 6


def test_a_checkpoint_of_another_version_is_not_misread_the_central_starts_afresh(tmp_path, redis_url, caplog):
    cfg = dataclasses.replace(config(CAMERAS, tmp_path), store=StoreConfig(str(tmp_path / "central.db")))
    store = open_store(cfg.store)
    older = {"scene": None, "done": dict.fromkeys(cfg.camera_ids, 7), "runs": {}, "live": {}, "origin": 0.0}  # no format
    store.add([], checkpoint=(cfg.bus.prefix, pickle.dumps(older)))
    store.close()
    central = Central(cfg, RedisSubscriber(cfg.bus, cfg.camera_ids, redis_url), offline=True)
    assert not central.resumed and "written by another mctrt version" in caplog.text
    central.subscriber.close()


def test_a_central_that_no_camera_sends_to_still_stores_its_health_events_while_it_runs(tmp_path, redis_url):
    """Its events are held until a checkpoint, which came only with processed steps: camera_offline for
    cameras whose workers never started stayed out of the store (and /api/events) until it stopped."""
    health = {"camera_health": {"offline_after_s": 0.5, "debounce_s": 0.2, "window_s": 1.0}}
    cfg = dataclasses.replace(config(CAMERAS, tmp_path, events=health), store=StoreConfig(str(tmp_path / "central.db")),
                              bus=BusConfig(checkpoint_s=0.2))
    central = Central(cfg, RedisSubscriber(cfg.bus, cfg.camera_ids, redis_url))  # live, and no worker sends
    runner = threading.Thread(target=central.run)
    runner.start()
    reader = open_store(cfg.store)
    try:
        deadline = time.monotonic() + 60
        while {e["camera_id"] for e in reader.events(type="camera_offline")} != set(CAMERAS):
            assert time.monotonic() < deadline, "the cameras' camera_offline never reached the store"
            assert runner.is_alive(), "the central stopped"
            time.sleep(0.1)
    finally:
        central.stop()
        runner.join(timeout=30)
        reader.close()


def test_a_central_started_on_a_backlog_takes_it_in_capture_order(tmp_path, redis_url):
    """Read 256 entries per stream at a time, a backlog was released by the wall clock as each batch came:
    west sends twice as often as east, so west's second batch held steps older than east's first."""
    cfg = config(CAMERAS, tmp_path)
    publisher = RedisPublisher(cfg.bus, list(CAMERAS), redis_url)
    start = time.time() - 600.0  # sent ten minutes ago, while no central ran
    publisher.publish([step_at("west", i, start + 0.05 * i) for i in range(1, 601)]
                      + [step_at("east", i, start + 0.1 * i) for i in range(1, 301)])
    publisher.close()
    central = Central(cfg, RedisSubscriber(cfg.bus, cfg.camera_ids, redis_url), use_store=False)  # live
    times = []
    central.listeners.append(lambda results, _: times.extend(r.step.time_s for r in results))
    runner = threading.Thread(target=central.run)
    runner.start()
    try:
        deadline = time.monotonic() + 60
        while len(times) < 900:
            assert time.monotonic() < deadline and runner.is_alive(), f"{len(times)} of 900 steps processed"
            time.sleep(0.1)
    finally:
        central.stop()
        runner.join(timeout=30)
    assert central.orderer.late == 0 and times == sorted(times)


def test_steps_a_central_processed_before_a_clean_stop_that_redis_never_acknowledged_are_not_processed_again(
        tmp_path, redis_url):
    """A clean stop left an empty checkpoint: with Redis unreachable for the last acknowledgements, the
    next central read those steps again as new and stored their events twice."""
    zone = {"zones": [{"name": "middle", "polygon_m": [[2, 0], [5, 0], [5, 6], [2, 6]]}]}
    cfg = dataclasses.replace(config(CAMERAS, tmp_path, events=zone), store=StoreConfig(str(tmp_path / "central.db")))
    publish_workers(cfg, tmp_path, redis_url)
    first = Central(cfg, RedisSubscriber(cfg.bus, cfg.camera_ids, redis_url), offline=True)
    first.subscriber.ack = lambda tokens, checkpoint=None: None  # Redis took none of them
    first.run()
    store = open_store(cfg.store)
    try:
        stored = len(store.events(limit=10_000))
        assert stored > 6
        again = Central(cfg, RedisSubscriber(cfg.bus, cfg.camera_ids, redis_url), offline=True)
        processed = []
        again.listeners.append(lambda results, _: processed.extend(results))
        again.run()
        assert not again.resumed and again.duplicates == len(CAMERAS) * STEPS and processed == []
        assert len(store.events(limit=10_000)) == stored
    finally:
        store.close()
