"""EventEngine: entry/exit with flicker tolerance, global first/last seen, dwell, line crossings with
direction and hysteresis, zones with occupancy, ID corrections, and zones and lines on the floor."""

import cv2
import numpy as np

from mctrt.config import EventsConfig, LineConfig, ZoneConfig
from mctrt.events import EventEngine
from mctrt.events.engine import inside_polygon


def box_at(foot_x: float, foot_y: float) -> np.ndarray:
    return np.array([[foot_x - 10, foot_y - 60, foot_x + 10, foot_y]], np.float32)


def step(engine, cam, t, frame, people):
    """people: list of (global_id, track_id, foot_x, foot_y)."""
    boxes = np.concatenate([box_at(x, y) for _, _, x, y in people]) if people else np.empty((0, 4), np.float32)
    return engine.update(cam, t, frame, [p[0] for p in people], [p[1] for p in people], boxes)


def types(events):
    return [e["type"] for e in events]


def test_entry_then_exit_after_the_person_is_gone_long_enough():
    engine = EventEngine(EventsConfig(exit_after_s=2.0))
    assert types(step(engine, "c", 0.0, 1, [(1, 1, 100, 100)])) == ["first_seen", "entry"]
    assert step(engine, "c", 1.0, 2, []) == []  # 1 s gone: maybe an occlusion
    assert step(engine, "c", 2.0, 3, []) == []
    events = step(engine, "c", 2.5, 4, [])
    assert types(events) == ["exit", "last_seen"]
    assert events[0]["time"] == 0.0 and events[0]["duration_s"] == 0.0 and events[1]["cameras"] == ["c"]


def test_a_person_who_comes_back_is_first_seen_once_and_last_seen_at_each_departure():
    engine = EventEngine(EventsConfig(exit_after_s=1.0))
    step(engine, "c", 0.0, 1, [(1, 1, 100, 100)])
    first_leave = step(engine, "c", 2.0, 2, [])
    assert types(step(engine, "c", 5.0, 3, [(1, 2, 100, 100)])) == ["entry"]  # back: no second first_seen
    second_leave = step(engine, "c", 7.0, 4, [])
    assert types(first_leave) == types(second_leave) == ["exit", "last_seen"]
    assert (first_leave[1]["duration_s"], second_leave[1]["duration_s"]) == (0.0, 5.0)  # both from first_seen
    assert second_leave[1]["first_seen"] == 0.0 and engine.counts["first_seen"] == 1


def test_a_flickering_track_is_one_visit_even_with_a_new_track_id():
    engine = EventEngine(EventsConfig(exit_after_s=2.0))
    step(engine, "c", 0.0, 1, [(1, 1, 100, 100)])
    step(engine, "c", 1.0, 2, [])
    assert step(engine, "c", 1.5, 3, [(1, 9, 105, 100)]) == []  # same person, new track: no new entry
    assert engine.counts["entry"] == 1


def test_dwell_is_reported_once_past_the_camera_threshold():
    engine = EventEngine(EventsConfig(dwell_threshold_s=30.0, dwell_per_camera={"fast": 5.0}))
    dwell = []
    for k in range(12):
        dwell += [e for e in step(engine, "fast", k * 1.0, k + 1, [(1, 1, 100, 100)]) if e["type"] == "dwell"]
    assert len(dwell) == 1 and dwell[0]["duration_s"] == 5.0 and dwell[0]["threshold_s"] == 5.0


LINE = LineConfig("door", "c", ((100.0, 0.0), (100.0, 200.0)), hysteresis_px=10.0)  # vertical, a above b


def walk(engine, xs, gid=1):
    out = []
    for k, x in enumerate(xs):
        out += [e for e in step(engine, "c", k * 0.1, k + 1, [(gid, 1, x, 100)]) if e["type"] == "line_cross"]
    return out


def test_line_crossing_has_a_direction():
    # a->b points down the image, so its right-hand side (as drawn) is x < 100
    engine = EventEngine(EventsConfig(lines=(LINE,)))
    crossings = walk(engine, [150, 130, 80, 60, 130, 150])
    assert [c["direction"] for c in crossings] == ["forward", "backward"]
    assert crossings[0]["line"] == "door" and crossings[0]["global_id"] == 1


def test_jitter_on_the_line_does_not_count_twice():
    engine = EventEngine(EventsConfig(lines=(LINE,)))
    crossings = walk(engine, [150, 95, 105, 95, 105, 98, 80, 95, 104, 92, 70])
    assert len(crossings) == 1


def test_movement_beyond_the_line_segment_is_not_a_crossing():
    engine = EventEngine(EventsConfig(lines=(LINE,)))
    out = []
    for k, x in enumerate([150, 50]):
        out += [e for e in step(engine, "c", k, k + 1, [(1, 1, x, 400)]) if e["type"] == "line_cross"]
    assert out == []


def walk_path(engine, path, gid=1):
    """path: foot points (x, y), one per frame."""
    out = []
    for k, (x, y) in enumerate(path):
        out += [e for e in step(engine, "c", k * 0.1, k + 1, [(gid, 1, x, y)]) if e["type"] == "line_cross"]
    return out


def test_walking_round_the_end_of_a_line_is_not_a_crossing():
    # from the left of the door (x > 100) past its lower end (y 200), round it, and back up on the right
    engine = EventEngine(EventsConfig(lines=(LINE,)))
    assert walk_path(engine, [(150, 150), (150, 190), (140, 260), (100, 280), (60, 260), (50, 190), (50, 150)]) == []
    # the same person then walks through it: one crossing
    assert [c["direction"] for c in walk_path(engine, [(50, 150), (150, 150)])] == ["backward"]


def test_a_crossing_near_an_end_counts_though_the_next_point_lies_past_it():
    # through the door just inside its end, the next foot point already past the end: still one crossing
    engine = EventEngine(EventsConfig(lines=(LINE,)))
    crossings = walk_path(engine, [(150, 170), (130, 190), (70, 230), (50, 260)])
    assert [c["direction"] for c in crossings] == ["forward"]
    # and a path that passes beside the end, from one side to the other, is not one
    engine = EventEngine(EventsConfig(lines=(LINE,)))
    assert walk_path(engine, [(150, 170), (130, 199), (70, 260), (50, 280)]) == []


def test_zone_enter_leave_occupancy_and_dwell():
    zone = ZoneConfig("desk", "c", ((0.0, 0.0), (200.0, 0.0), (200.0, 200.0), (0.0, 200.0)), dwell_threshold_s=2.0)
    engine = EventEngine(EventsConfig(zones=(zone,)))
    events = step(engine, "c", 0.0, 1, [(1, 1, 50, 100), (2, 2, 300, 100)])
    assert [(e["type"], e["global_id"], e["occupancy"]) for e in events if e["type"].startswith("zone")] == [("zone_enter", 1, 1)]
    events = step(engine, "c", 1.0, 2, [(1, 1, 50, 100), (2, 2, 150, 100)])
    assert [(e["type"], e["global_id"], e["occupancy"]) for e in events] == [("zone_enter", 2, 2)]
    assert engine.occupancy() == {"desk": 2}
    events = step(engine, "c", 2.0, 3, [(1, 1, 50, 100), (2, 2, 250, 100)])
    assert [(e["type"], e["global_id"]) for e in events] == [("zone_dwell", 1), ("zone_leave", 2)]
    assert events[1]["occupancy"] == 1 and events[1]["duration_s"] == 1.0


def test_exit_closes_the_zone_and_finish_closes_everything():
    zone = ZoneConfig("all", "c", ((0.0, 0.0), (500.0, 0.0), (500.0, 500.0), (0.0, 500.0)))
    engine = EventEngine(EventsConfig(zones=(zone,), exit_after_s=1.0))
    step(engine, "c", 0.0, 1, [(1, 1, 50, 100), (2, 2, 60, 100)])
    events = step(engine, "c", 2.0, 2, [(2, 2, 60, 100)])
    assert types(events) == ["zone_leave", "exit", "last_seen"]
    assert types(engine.finish()) == ["zone_leave", "exit", "last_seen"]
    assert engine.occupancy() == {"all": 0}


def test_person_seen_by_two_cameras_is_last_seen_only_after_leaving_both():
    engine = EventEngine(EventsConfig(exit_after_s=1.0))
    step(engine, "a", 0.0, 1, [(1, 1, 10, 10)])
    step(engine, "b", 0.5, 1, [(1, 4, 10, 10)])
    assert types(step(engine, "a", 2.0, 2, [])) == ["exit"]
    assert types(step(engine, "b", 3.0, 2, [])) == ["exit", "last_seen"]
    assert engine.counts["first_seen"] == 1


def test_correction_moves_the_visit_and_is_recorded():
    engine = EventEngine(EventsConfig(exit_after_s=1.0))
    step(engine, "a", 0.0, 1, [(5, 1, 10, 10)])
    events = engine.correct(5, 2, 0.5, "floor")
    assert events == [{"type": "id_corrected", "time": 0.5, "camera_id": None, "global_id": 2, "track_id": None,
                       "frame": None, "old_global_id": 5, "reason": "floor"}]
    assert step(engine, "a", 0.6, 2, [(2, 1, 10, 10)]) == []  # the visit continues under the new ID
    assert [(e["type"], e["global_id"]) for e in engine.finish()] == [("exit", 2), ("last_seen", 2)]


def test_correction_merging_two_open_visits_closes_the_old_one_so_entries_and_exits_balance():
    zone = ZoneConfig("desk", "a", ((0, 0), (200, 0), (200, 200), (0, 200)))
    engine = EventEngine(EventsConfig(exit_after_s=1.0, zones=(zone,)))
    step(engine, "a", 0.0, 1, [(5, 1, 10, 10)])  # one person, two IDs open at once in camera a and zone desk
    step(engine, "a", 0.2, 2, [(5, 1, 10, 10), (2, 3, 50, 50)])
    assert engine.occupancy() == {"desk": 2}
    events = engine.correct(5, 2, 0.5)
    assert [(e["type"], e["global_id"], e.get("corrected_to")) for e in events] == [
        ("id_corrected", 2, None), ("zone_leave", 5, 2), ("exit", 5, 2), ("last_seen", 5, 2)]
    assert events[1]["occupancy"] == 1 and engine.occupancy() == {"desk": 1}
    assert engine.visits["a"][2].entered == 0.0  # the merged visit keeps the earlier start
    step(engine, "a", 0.6, 3, [(2, 3, 50, 50)])
    engine.finish()
    assert engine.counts["entry"] == engine.counts["exit"] == 2
    assert engine.counts["zone_enter"] == engine.counts["zone_leave"] == 2
    assert engine.counts["first_seen"] == engine.counts["last_seen"] == 2  # one of them closed by the correction


def test_a_new_id_that_crossed_a_line_and_is_then_corrected_into_the_person_crosses_once():
    engine = EventEngine(EventsConfig(lines=(LINE,), exit_after_s=5.0))
    step(engine, "c", 0.0, 1, [(7, 1, 150, 100)])  # person 7 right of the door; then their track breaks
    step(engine, "c", 0.2, 3, [(50, 2, 150, 100)])  # their new track founds ID 50 ...
    crossed = [e for e in step(engine, "c", 0.3, 4, [(50, 2, 60, 100)]) if e["type"] == "line_cross"]  # ... crosses
    engine.correct(50, 7, 0.35)  # and is found to be 7: 7's side is now 50's, the later one
    crossed += [e for e in step(engine, "c", 0.4, 5, [(7, 2, 60, 100)]) if e["type"] == "line_cross"]
    assert [e["global_id"] for e in crossed] == [50]


def test_merged_visits_keep_the_latest_sighting_so_the_exit_is_not_early():
    engine = EventEngine(EventsConfig(exit_after_s=2.0))
    for t in (0.0, 1.0):
        step(engine, "a", t, 1, [(7, 1, 10, 10)])
    for t in (1.5, 2.5):
        step(engine, "a", t, 2, [(50, 2, 10, 10)])
    engine.correct(50, 7, 2.8)
    assert step(engine, "a", 3.05, 3, []) == []  # 7 was seen here at 2.5 (as 50), not last at 1.0
    exits = [e for e in step(engine, "a", 4.6, 4, []) if e["type"] == "exit"]
    assert [(e["global_id"], e["time"], e["duration_s"]) for e in exits] == [(7, 2.5, 2.5)]


def test_people_in_a_camera_that_stops_sending_leave_it_after_exit_after_s():
    engine = EventEngine(EventsConfig(exit_after_s=2.0))
    step(engine, "a", 0.0, 1, [(7, 1, 10, 10)])
    events = []
    for k in range(1, 40):  # only camera b sends from now on
        t = 0.1 * k
        events += step(engine, "b", t, k + 1, [(8, 1, 10, 10)]) + engine.expire(t, ["b"])
    exits = [e for e in events if e["type"] == "exit"]
    assert [(e["global_id"], e["camera_id"], e["time"]) for e in exits] == [(7, "a", 0.0)]
    assert "a" not in {e["camera_id"] for e in events if e["type"] == "exit" and e["global_id"] == 8}


# -- the floor ---------------------------------------------------------------------------------------

SQUARE = ZoneConfig(name="square", polygon_m=((0, 0), (4, 0), (4, 4), (0, 4)), dwell_threshold_s=2.0)
GATE = LineConfig(name="gate", points_m=((10, -5), (10, 5)), hysteresis_m=0.2)


def placed(*people):
    """Floor positions as the associator reports them: (global_id, x, y)."""
    return [{"global_id": g, "x": x, "y": y} for g, x, y in people]


def test_one_person_seen_by_three_cameras_enters_a_floor_zone_once():
    engine = EventEngine(EventsConfig(exit_after_s=1.0, zones=(SQUARE,)))
    for cam in ("a", "b", "c"):  # every camera's own events know nothing of the floor zone
        assert "zone_enter" not in types(step(engine, cam, 0.0, 1, [(7, 1, 100, 100)]))
    events = engine.update_floor(0.0, placed((7, 1.0, 1.0)))
    assert types(events) == ["zone_enter"]
    assert events[0]["camera_id"] is None and events[0]["global_id"] == 7 and (events[0]["x"], events[0]["y"]) == (1.0, 1.0)
    assert engine.update_floor(0.1, placed((7, 1.1, 1.0))) == [] and engine.occupancy()["square"] == 1


def test_floor_zone_dwell_leave_and_occupancy_follow_the_floor_track():
    engine = EventEngine(EventsConfig(exit_after_s=1.0, zones=(SQUARE,)))
    engine.update_floor(0.0, placed((1, 1.0, 1.0), (2, 3.0, 3.0)))
    assert engine.occupancy()["square"] == 2
    assert types(engine.update_floor(2.0, placed((1, 1.0, 1.5), (2, 3.0, 3.0)))) == ["zone_dwell", "zone_dwell"]
    events = engine.update_floor(2.5, placed((1, 6.0, 1.5), (2, 3.0, 3.0)))  # 1 walks out
    assert types(events) == ["zone_leave"] and events[0]["global_id"] == 1 and events[0]["occupancy"] == 1


def test_a_person_no_camera_places_for_exit_after_s_has_left_the_floor_zone():
    engine = EventEngine(EventsConfig(exit_after_s=1.0, zones=(SQUARE,)))
    engine.update_floor(0.0, placed((1, 1.0, 1.0)))
    assert engine.update_floor(0.9, []) == []  # occluded for a moment: still inside
    events = engine.update_floor(1.5, [])
    assert types(events) == ["zone_leave"] and events[0]["time"] == 0.0 and engine.occupancy()["square"] == 0


def test_someone_standing_on_a_floor_zones_edge_is_one_visit_until_they_walk_away():
    engine = EventEngine(EventsConfig(zones=(SQUARE,)))  # hysteresis_m 0.2 by default
    rng = np.random.default_rng(0)
    events = []
    for k in range(50):  # on the x = 4 edge, their position jittering 5 cm either way
        events += engine.update_floor(0.1 * k, placed((1, 4.0 + 0.05 * rng.normal(), 2.0)))
    events += engine.update_floor(5.0, placed((1, 5.0, 2.0)))  # then 1 m out
    assert [e["type"] for e in events] == ["zone_enter", "zone_dwell", "zone_leave"]


def test_floor_line_crossing_has_a_direction_as_on_a_map():
    engine = EventEngine(EventsConfig(lines=(GATE,)))
    engine.update_floor(0.0, placed((3, 9.0, 0.0)))
    assert engine.update_floor(0.1, placed((3, 9.9, 0.0))) == []  # inside the hysteresis band
    events = engine.update_floor(0.2, placed((3, 10.5, 0.0)))
    # a -> b points up the map (+y), so +x is on its right: walking towards +x crosses left to right
    assert types(events) == ["line_cross"] and events[0]["direction"] == "forward" and events[0]["camera_id"] is None
    assert engine.update_floor(0.3, placed((3, 10.5, 0.0))) == []
    assert [e["direction"] for e in engine.update_floor(0.4, placed((3, 9.0, 0.0)))] == ["backward"]


def test_finish_closes_floor_zones_and_a_correction_moves_the_floor_visit():
    engine = EventEngine(EventsConfig(exit_after_s=5.0, zones=(SQUARE,)))
    engine.update_floor(0.0, placed((4, 1.0, 1.0)))
    engine.update_floor(0.0, placed((9, 2.0, 2.0)))
    events = engine.correct(9, 4, 0.5, "floor")  # 9 was 4 all along: both visits merge, 9's is closed
    assert types(events) == ["id_corrected", "zone_leave"] and events[1]["corrected_to"] == 4
    events = engine.finish()
    assert [(e["type"], e["global_id"]) for e in events] == [("zone_leave", 4)]
    assert engine.counts["zone_enter"] == engine.counts["zone_leave"] == 2


def test_inside_polygon_agrees_with_opencv_on_a_concave_polygon():
    """The zone test, for all of a camera's feet at once, against cv2.pointPolygonTest (an L shape
    with a horizontal edge; random points never land on an edge)."""
    polygon = ((0.0, 0.0), (10.0, 0.0), (10.0, 4.0), (4.0, 4.0), (4.0, 10.0), (0.0, 10.0))
    points = np.random.default_rng(5).uniform(-2.0, 12.0, (500, 2))
    contour = np.array(polygon, np.float32).reshape(-1, 1, 2)
    expected = [cv2.pointPolygonTest(contour, (float(x), float(y)), False) > 0 for x, y in points]
    assert inside_polygon(polygon, points).tolist() == expected and 100 < sum(expected) < 400
