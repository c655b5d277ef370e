"""The bus's message (CameraStep) on the wire, and the central's ordering of camera steps by capture
time (StepOrderer); no Redis needed."""

import numpy as np
import pytest

from mctrt.bus.messages import (
    END,
    SCHEMA_VERSION,
    BusVersionError,
    CameraStep,
    decode,
    encode,
)
from mctrt.bus.ordering import StepOrderer
from mctrt.types import Tracks


def camera_step(camera="west", index=1, time_s=100.0, m=3, embedded=(True, False, True), dim=512, seed=0):
    rng = np.random.default_rng(seed)
    xyxy = rng.uniform(0, 500, (m, 4)).astype(np.float32)
    tracks = Tracks(xyxy, np.arange(1, m + 1, dtype=np.int64), rng.uniform(0, 1, m).astype(np.float32),
                    np.arange(m, dtype=np.int64), np.array([7, 9], np.int64))
    embedded = np.array(embedded[:m], bool)
    embeddings = None
    if embedded.any():
        embeddings = np.zeros((m, dim), np.float32)
        rows = rng.normal(size=(int(embedded.sum()), dim)).astype(np.float32)
        embeddings[embedded] = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    return CameraStep(camera, index, time_s, 5.0, (640, 480), m + 2, tracks, embedded, embeddings,
                      np.array([False, True, False][:m]), status={"camera_id": camera, "state": "reading"})


@pytest.mark.parametrize("dtype, tolerance", [("float32", 0.0), ("float16", 1e-3)])
def test_a_step_survives_the_wire(dtype, tolerance):
    step = camera_step()
    back = decode(encode(step, dtype), capture_ts=1.5)
    assert (back.camera_id, back.index, back.time_s, back.size, back.detections) == ("west", 1, 100.0, (640, 480), 5)
    assert back.capture_ts == 1.5 and back.status == step.status and back.kind == step.kind
    t, b = step.tracks, back.tracks
    assert np.array_equal(t.xyxy, b.xyxy) and np.array_equal(t.track_id, b.track_id)
    assert np.array_equal(t.score, b.score) and np.array_equal(t.det_index, b.det_index)
    assert np.array_equal(t.removed_id, b.removed_id)
    assert np.array_equal(back.embedded, step.embedded) and np.array_equal(back.give_up, step.give_up)
    assert back.embeddings.dtype == np.float32 and back.embeddings.shape == step.embeddings.shape
    assert np.abs(back.embeddings - step.embeddings).max() <= tolerance
    assert not back.embeddings[~step.embedded].any()
    cosine = (back.embeddings[0] @ step.embeddings[0]) / np.linalg.norm(back.embeddings[0])
    assert cosine > 1 - 1e-5


def test_float16_halves_the_embeddings_and_only_embedded_rows_travel():
    step = camera_step(m=3, embedded=(True, False, False))
    assert len(encode(step, "float32")["embeddings"]) == 512 * 4
    assert len(encode(step, "float16")["embeddings"]) == 512 * 2
    assert "embeddings" not in encode(camera_step(embedded=(False, False, False)))


def test_an_empty_step_and_an_end_marker_survive_the_wire():
    empty = decode(encode(camera_step(m=0, embedded=())), 0.0)
    assert len(empty.tracks) == 0 and empty.tracks.xyxy.shape == (0, 4) and empty.embeddings is None
    end = decode(encode(CameraStep.end("east", 795, 0.0)), 0.0)
    assert end.kind == END and end.index == 795 and end.camera_id == "east"


def test_a_newer_or_foreign_message_is_refused_with_what_to_do():
    fields = encode(camera_step())
    fields["v"] = str(SCHEMA_VERSION + 1).encode()
    with pytest.raises(BusVersionError, match=f"v{SCHEMA_VERSION + 1}.*upgrade mctrt on the central"):
        decode(fields, 0.0)
    with pytest.raises(BusVersionError, match="not written by an mctrt worker"):
        decode({b"camera": b"x"}, 0.0)


def step_at(camera, index, time_s):
    return camera_step(camera, index, time_s, m=1, embedded=(False,))


def released(orderer, now_s=None):
    return [[(s.camera_id, s.index) for s, _ in group] for group in orderer.ready(now_s)]


def test_offline_steps_are_released_in_capture_order_one_per_camera_whatever_the_arrival_order():
    orderer = StepOrderer(["a", "b"], window_s=0.05, lateness_s=None)
    for i in range(1, 4):  # camera a runs ahead of b
        orderer.add(step_at("a", i, 0.1 * i), token=("a", i))
    assert released(orderer) == []  # nothing from b yet: it may still send older steps
    orderer.add(step_at("b", 1, 0.1), ("b", 1))
    assert released(orderer) == [[("a", 1), ("b", 1)]]
    orderer.add(step_at("b", 2, 0.2), ("b", 2))
    orderer.add(step_at("b", 3, 0.3), ("b", 3))
    assert released(orderer) == [[("a", 2), ("b", 2)], [("a", 3), ("b", 3)]]
    orderer.add(step_at("a", 4, 0.4), ("a", 4))
    assert released(orderer) == []  # b has not ended
    orderer.add(CameraStep.end("b", 3, 0.0), ("b", "end"))
    assert released(orderer) == [[("a", 4)]] and not orderer.done
    orderer.add(CameraStep.end("a", 4, 0.0), ("a", "end"))
    assert orderer.done and len(orderer.ends) == 2 and orderer.late == 0


def test_live_a_camera_that_falls_behind_is_waited_for_at_most_the_lateness_and_its_late_steps_are_kept():
    orderer = StepOrderer(["a", "b"], window_s=0.01, lateness_s=0.5)
    orderer.add(step_at("b", 1, 10.0), None)
    orderer.add(step_at("a", 1, 10.0), None)
    assert released(orderer) == [[("a", 1), ("b", 1)]]
    for i in range(2, 6):  # b goes silent; a goes on
        orderer.add(step_at("a", i, 10.0 + 0.2 * (i - 1)), None)
    assert released(orderer) == [[("a", 2)]]  # up to 10.8 - 0.5
    assert released(orderer, now_s=20.0) == [[("a", 3)], [("a", 4)], [("a", 5)]]  # the wall clock moves it too
    orderer.add(step_at("b", 2, 10.2), None)  # b's step from long ago: processed, counted late
    assert released(orderer) == [[("b", 2)]] and orderer.late == 1


def test_live_the_wall_clock_never_releases_past_a_camera_whose_stream_holds_more_to_read():
    """A backlog read in batches (a central restarted): b's first batch reaches 1.0 s, a's 2.0 s; the wall
    clock is long past both, but b's next batch may hold steps older than a's."""
    orderer = StepOrderer(["a", "b"], window_s=0.01, lateness_s=0.5)
    for i in range(1, 5):
        orderer.add(step_at("a", i, 0.5 * i), None)
        orderer.add(step_at("b", i, 0.25 * i), None)
    orderer.backlogged = {"b"}
    assert [s for g in released(orderer, now_s=1000.0) for s in g] == [
        ("b", 1), ("a", 1), ("b", 2), ("b", 3), ("a", 2), ("b", 4)]  # up to b's newest, 1.0 s
    for i in range(5, 9):
        orderer.add(step_at("b", i, 0.25 * i), None)
    orderer.backlogged = set()  # read to the end
    assert [s for g in released(orderer, now_s=1000.0) for s in g] == [
        ("b", 5), ("a", 3), ("b", 6), ("b", 7), ("a", 4), ("b", 8)]
    assert orderer.late == 0


def test_steps_within_the_window_make_one_scene_step_and_a_camera_never_appears_twice_in_one():
    orderer = StepOrderer(["a", "b", "c"], window_s=0.05, lateness_s=None)
    for cam, times in {"a": [1.00, 1.03], "b": [1.02, 1.10], "c": [1.20]}.items():
        for i, t in enumerate(times, 1):
            orderer.add(step_at(cam, i, t), None)
    for cam in "abc":
        orderer.add(CameraStep.end(cam, 9, 0.0), None)
    assert released(orderer) == [[("a", 1), ("b", 1)], [("a", 2)], [("b", 2)], [("c", 1)]]


def test_a_step_from_a_camera_not_in_the_config_is_refused():
    with pytest.raises(KeyError, match="'x'"):
        StepOrderer(["a"], 0.05, None).add(step_at("x", 1, 0.0), None)


def test_a_worker_holds_its_steps_while_redis_refuses_writes(monkeypatch):
    """MISCONF (Redis cannot save), OOM, READONLY after a failover: held and retried like an
    unreachable Redis, never raised out of publish()."""
    import redis

    from mctrt.bus import redis_streams
    from mctrt.config import BusConfig

    class Refusing:
        def pipeline(self, transaction=False):
            return self

        def xadd(self, *args, **kwargs):
            pass

        def execute(self):
            raise redis.ResponseError("MISCONF Redis is configured to save RDB snapshots, but it's unable to persist")

    monkeypatch.setattr(redis_streams, "connect", lambda url: Refusing())
    publisher = redis_streams.RedisPublisher(BusConfig(), ["west"], "redis://127.0.0.1:1/0")
    publisher.publish([camera_step()])
    assert publisher.flush(wait=True) is False and len(publisher._buffer) == 1 and publisher.published == 0
