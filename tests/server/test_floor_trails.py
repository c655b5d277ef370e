"""The floor view's people and trails (server/floor.py), step by step without a model: a trail keeps
trail_s seconds of scene time, gains a point only when the person was placed again, and ages out
once they have gone."""

from mctrt.server.floor import PeopleOnFloor

STEP_S = 0.1


def person(gid, x, y, time_s, cameras=("west",)):
    return {"global_id": gid, "x": x, "y": y, "vx": 1.0, "vy": 0.0, "time": time_s, "cameras": list(cameras)}


def test_a_trail_keeps_only_the_last_trail_s_seconds():
    floor = PeopleOnFloor(trail_s=0.25)
    for k in range(10):
        t = 100.0 + k * STEP_S
        floor.update(t, [person(1, k * 0.5, 2.0, t)])
    (walker,) = floor.body()["people"]
    assert walker["trail"] == [[3.5, 2.0], [4.0, 2.0], [4.5, 2.0]]  # 100.7, 100.8 and 100.9 s
    assert floor.body()["time"] == 100.9 and [walker["x"], walker["y"]] == walker["trail"][-1]


def test_a_person_not_placed_again_adds_no_point():
    floor = PeopleOnFloor(trail_s=5.0)
    floor.update(10.0, [person(3, 1.0, 1.0, 10.0)])
    floor.update(10.1, [person(3, 1.0, 1.0, 10.0)])  # still linked to a track, no new floor correction
    assert floor.body()["people"][0]["trail"] == [[1.0, 1.0]]


def test_people_who_left_are_not_shown_and_their_trails_age_out():
    floor = PeopleOnFloor(trail_s=0.5)
    floor.update(1.0, [person(1, 0.0, 0.0, 1.0), person(2, 5.0, 5.0, 1.0)])
    floor.update(1.1, [person(2, 5.1, 5.0, 1.1)])
    assert [p["global_id"] for p in floor.body()["people"]] == [2]
    floor.update(1.2, [person(1, 0.1, 0.0, 1.2)])  # back within trail_s: the trail goes on
    assert floor.body()["people"][0]["trail"] == [[0.0, 0.0], [0.1, 0.0]]
    floor.update(1.8, [person(2, 5.2, 5.0, 1.8)])
    floor.update(1.9, [person(1, 0.2, 0.0, 1.9)])  # back after trail_s: a new trail
    assert floor.body()["people"][0]["trail"] == [[0.2, 0.0]]


def test_positions_are_rounded_to_millimetres():
    floor = PeopleOnFloor(trail_s=1.0)
    floor.update(2.0, [person(4, 1.23456, -0.00049, 2.0)])
    (body,) = floor.body()["people"]
    assert (body["x"], body["y"], body["trail"]) == (1.235, -0.0, [[1.235, -0.0]])
