"""CrossCameraAssociator: the appearance rules (transit windows, one ID per person per camera,
maturity, TTL, the correction of provisional IDs) and the floor rules (overlapping views, blind gaps,
splits, merges, people standing still), on hand-made steps."""

import numpy as np
import pytest

from mctrt.association import CameraTracks, CrossCameraAssociator
from mctrt.config import AssociationConfig, FloorAssociationConfig, TransitWindow
from mctrt.geometry.feet import FloorPoints

SIGMA_M = 0.2  # the floor position error of the hand-made observations


def unit(seed: int, dim: int = 16) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=dim).astype(np.float32)
    return v / np.linalg.norm(v)


def near(v: np.ndarray, seed: int, noise: float = 0.05) -> np.ndarray:
    w = v + noise * unit(seed + 1000, len(v))
    return (w / np.linalg.norm(w)).astype(np.float32)


def alike(v: np.ndarray, similarity: float, seed: int) -> np.ndarray:
    """A unit vector whose cosine similarity with the unit vector v is exactly `similarity`."""
    other = unit(seed, len(v))
    other = other - float(other @ v) * v
    other /= np.linalg.norm(other)
    return (similarity * v + np.sqrt(1.0 - similarity ** 2) * other).astype(np.float32)


class Views:
    """What a FootLocator tells association: which calibrated cameras see given floor points. Here each
    camera sees a strip of x, remembered from the steps that placed its tracks (see step), and the
    site (the floor they cover, blind spots included) is a box, everything unless a test sets it."""

    def __init__(self) -> None:
        self.x_range: dict[str, tuple[float, float]] = {}
        self.site = (-np.inf, np.inf, -np.inf, np.inf)  # x_min, x_max, y_min, y_max

    def __call__(self, points: np.ndarray) -> dict[str, np.ndarray]:
        on_site = self.on_site(points)
        return {cam: on_site & (points[:, 0] >= low) & (points[:, 0] <= high) for cam, (low, high) in self.x_range.items()}

    def on_site(self, points: np.ndarray) -> np.ndarray:
        x_min, x_max, y_min, y_max = self.site
        return (points[:, 0] >= x_min) & (points[:, 0] <= x_max) & (points[:, 1] >= y_min) & (points[:, 1] <= y_max)


def associator(floor=None, **kw) -> CrossCameraAssociator:
    kw.setdefault("match_threshold", 0.8)
    kw.setdefault("maturity", 1)
    if floor is not None:
        kw["floor"] = FloorAssociationConfig(**floor)
    views = Views()
    return CrossCameraAssociator(AssociationConfig(**kw), views=views, site=views.on_site)


def step(a: CrossCameraAssociator, t: float, *tracks, removed=(), views=None, lags=None):
    """One step. tracks: (camera, track_id, embedding or None[, options]) with options a dict of
    give_up (bool) and xy (floor metres: the camera is calibrated). removed: (camera, track_id) pairs
    the trackers dropped. views: camera -> (x_min, x_max) of the floor it sees (default: everything).
    lags: camera -> seconds its capture time lies after t (default 0: all capture at t).
    Returns ({(camera, track_id): global ID}, corrections)."""
    cameras = {}
    for track in tracks:
        cam, tid, emb, opts = (*track, {})[:4]
        cameras.setdefault(cam, []).append((tid, emb, opts))
    for cam, _ in removed:
        cameras.setdefault(cam, [])
    if not cameras:
        cameras["idle"] = []  # a camera whose frame shows nobody: time still passes
    inputs = []
    for cam, rows in cameras.items():
        ids = np.array([tid for tid, _, _ in rows], np.int64)
        embedded = np.array([emb is not None for _, emb, _ in rows], bool)
        embeddings = None
        if embedded.any():
            dim = len(next(emb for _, emb, _ in rows if emb is not None))
            embeddings = np.stack([emb if emb is not None else np.zeros(dim, np.float32) for _, emb, _ in rows])
        give_up = np.array([opts.get("give_up", False) for _, _, opts in rows], bool)
        floor = None
        if any("xy" in opts for _, _, opts in rows) or (views and cam in views):
            floor = FloorPoints(np.array([opts.get("xy", (np.nan, np.nan)) for _, _, opts in rows], np.float64).reshape(-1, 2),
                                np.tile(SIGMA_M ** 2 * np.eye(2), (len(rows), 1, 1)), np.zeros(len(rows), bool))
            a.costs.views_of.x_range[cam] = (views or {}).get(cam, (-np.inf, np.inf))
        gone = np.array([tid for c, tid in removed if c == cam], np.int64)
        inputs.append(CameraTracks(cam, t + (lags or {}).get(cam, 0.0), ids, gone, embedded, embeddings, give_up, floor))
    gids, corrections = a.update(inputs)
    out = {}
    for cam_input, g in zip(inputs, gids):
        for tid, gid in zip(cam_input.track_id.tolist(), g.tolist()):
            out[(cam_input.camera_id, tid)] = gid
    return out, corrections


def seen(a, t, cam, tid, emb=None, **opts):
    return step(a, t, (cam, tid, emb, opts))[0][(cam, tid)] or None


# -- appearance ----------------------------------------------------------------------------------------


def test_overlapping_cameras_share_a_person_seen_at_once():
    a = associator(transit_windows=(TransitWindow(("west", "east"), 0.0, 30.0),))
    person = unit(1)
    g1 = seen(a, 0.0, "west", 1, person)
    ids, _ = step(a, 1.0, ("west", 1, None), ("east", 7, near(person, 2)))
    assert ids[("east", 7)] == g1
    assert a.stats()["handoffs"] == 1 and a.stats()["cross_camera_ids"] == 1


def test_views_that_do_not_overlap_never_share_a_person_seen_at_once():
    a = associator(transit_windows=(TransitWindow(("lobby", "lift"), 5.0, 30.0),))
    person = unit(1)
    g1 = seen(a, 0.0, "lobby", 1, person)
    ids, _ = step(a, 1.0, ("lobby", 1, None), ("lift", 2, near(person, 2)))
    assert ids[("lift", 2)] != g1


@pytest.mark.parametrize(("gap_s", "same_person"), [(10.0, True), (2.0, False), (45.0, False)],
                         ids=["inside-window", "too-soon", "too-late"])
def test_blind_gap_between_cameras_must_lie_in_the_transit_window(gap_s, same_person):
    a = associator(transit_windows=(TransitWindow(("lobby", "lift"), 5.0, 30.0),))
    person = unit(3)
    g1 = seen(a, 0.0, "lobby", 1, person)
    step(a, 0.1, removed=[("lobby", 1)])
    assert (seen(a, gap_s, "lift", 4, near(person, 4)) == g1) is same_person


def test_two_tracks_of_one_camera_never_share_a_global_id():
    a = associator()
    person = unit(5)
    g1 = seen(a, 0.0, "cam", 1, person)
    ids, _ = step(a, 0.1, ("cam", 1, None), ("cam", 2, near(person, 6)))
    assert ids[("cam", 2)] not in (0, g1)


def test_two_new_tracks_compete_for_one_identity_and_the_better_match_wins():
    a = associator(match_threshold=0.5)
    person = unit(7)
    g1 = seen(a, 0.0, "a", 1, person)
    step(a, 0.1, removed=[("a", 1)])
    ids, _ = step(a, 5.0, ("b", 1, near(person, 8, noise=0.6)), ("b", 2, near(person, 9, noise=0.05)))
    assert ids[("b", 2)] == g1 and ids[("b", 1)] != g1


def test_identity_is_a_candidate_only_once_mature():
    a = associator(maturity=3)
    person = unit(10)
    g1 = seen(a, 0.0, "a", 1, person)
    seen(a, 1.0, "a", 1, near(person, 11))  # two embeddings: not yet mature
    assert seen(a, 1.0, "b", 1, near(person, 12)) != g1
    a2 = associator(maturity=3)
    g2 = seen(a2, 0.0, "a", 1, person)
    for t in (1.0, 2.0):
        seen(a2, t, "a", 1, near(person, int(t) + 20))
    assert seen(a2, 3.0, "b", 1, near(person, 13)) == g2


def test_identity_unseen_for_ttl_is_forgotten():
    a = associator(ttl_s=10.0, default_window=TransitWindow(("*", "*"), 0.0, 1000.0))
    person = unit(14)
    g1 = seen(a, 0.0, "a", 1, person)
    step(a, 0.1, removed=[("a", 1)])
    step(a, 5.0)
    assert g1 in a.identities
    step(a, 11.0)
    assert g1 not in a.identities
    assert seen(a, 12.0, "b", 1, near(person, 15)) != g1


def test_provisional_identity_is_corrected_when_its_track_matches_an_established_one():
    a = associator()
    person = unit(16)
    g1 = seen(a, 0.0, "a", 1, person)
    step(a, 0.1, removed=[("a", 1)])
    # track 2 first looks like nobody (its first crop is a poor one) and founds a provisional identity
    g2 = seen(a, 1.0, "b", 2, unit(99))
    assert g2 != g1
    ids, corrections = step(a, 2.0, ("b", 2, near(person, 17)))
    assert [(c.old_global_id, c.new_global_id, c.reason) for c in corrections] == [(g2, g1, "appearance")]
    assert ids[("b", 2)] == g1 and g2 not in a.identities


@pytest.mark.parametrize(("appeared_s", "corrected"), [(1.0, False), (6.0, True)], ids=["too-soon", "in-window"])
def test_a_provisional_identity_is_corrected_only_where_its_track_appeared_within_the_transit_window(
        appeared_s, corrected):
    """The window is judged at the track's appearance, not at its later embedding: a person lost by
    the lobby at 0 s cannot have appeared in the lift 1 s later (5 s at least), however late the
    lift's track comes to look like them."""
    a = associator(transit_windows=(TransitWindow(("lobby", "lift"), 5.0, 30.0),))
    person = unit(22)
    g1 = seen(a, 0.0, "lobby", 1, person)
    step(a, 0.1, removed=[("lobby", 1)])
    g2 = seen(a, appeared_s, "lift", 2, unit(98))  # its first crop looks like nobody
    assert g2 != g1
    ids, corrections = step(a, appeared_s + 8.0, ("lift", 2, near(person, 23)))  # inside the window from 0 s
    assert (ids[("lift", 2)] == g1) is corrected
    assert [(c.old_global_id, c.new_global_id) for c in corrections] == ([(g2, g1)] if corrected else [])


def test_an_identity_another_track_has_joined_is_never_rewritten():
    a = associator()
    person, other = unit(18), unit(19)
    g_person = seen(a, 0.0, "a", 1, person)
    g_other = seen(a, 0.0, "b", 5, other)
    step(a, 0.1, removed=[("a", 1), ("b", 5)])
    assert seen(a, 1.0, "c", 3, near(other, 20)) == g_other  # joined: no longer provisional
    ids, corrections = step(a, 2.0, ("c", 3, near(person, 21)))
    assert corrections == [] and ids[("c", 3)] == g_other and g_person in a.identities


def test_track_with_no_usable_crop_gets_its_own_id_after_waiting():
    a = associator()
    assert seen(a, 0.0, "a", 1) is None
    assert seen(a, 1.0, "a", 1, give_up=True) == 1


def test_disabled_association_gives_every_track_its_own_id():
    a = associator(enabled=False)
    person = unit(22)
    assert seen(a, 0.0, "a", 1, person, xy=(0.0, 0.0)) == 1
    assert seen(a, 0.0, "b", 1, person, xy=(0.0, 0.0)) == 2


def test_a_track_the_tracker_removed_loses_its_link():
    a = associator()
    g1 = seen(a, 0.0, "a", 1, unit(23))
    step(a, 0.1, removed=[("a", 1)])
    assert a.global_id("a", 1) is None and not a.identities[g1].tracks


# -- the floor ---------------------------------------------------------------------------------------


def walk(a, start_t, end_t, cam, tid, start_xy, velocity, dt=0.1, emb=None, others=(), views=None):
    """A person walking in a straight line in one camera, one step every dt; returns the last IDs."""
    ids = {}
    for k in range(int(round((end_t - start_t) / dt)) + 1):
        t = start_t + k * dt
        xy = (start_xy[0] + velocity[0] * (t - start_t), start_xy[1] + velocity[1] * (t - start_t))
        extra = [o(t) for o in others]
        ids, _ = step(a, t, (cam, tid, emb if k == 0 else None, {"xy": xy}), *extra, views=views)
    return ids


def test_a_person_standing_where_a_calibrated_camera_already_sees_someone_is_that_someone():
    a = associator()
    ids, _ = step(a, 0.0, ("west", 1, unit(30), {"xy": (2.0, 1.0)}))
    # east sees them at once at the same floor spot, without waiting for re-ID and however unlike
    ids, _ = step(a, 0.1, ("west", 1, None, {"xy": (2.05, 1.0)}), ("east", 4, None, {"xy": (2.0, 1.05)}))
    assert ids[("east", 4)] == ids[("west", 1)]


def test_two_people_in_an_overlap_are_told_apart_by_where_they_stand_not_by_looks():
    a = associator()
    twin = unit(31)
    ids, _ = step(a, 0.0, ("west", 1, twin, {"xy": (0.0, 0.0)}), ("west", 2, near(twin, 1), {"xy": (3.0, 0.0)}))
    ids, _ = step(a, 0.1, ("west", 1, None, {"xy": (0.0, 0.0)}), ("west", 2, None, {"xy": (3.0, 0.0)}),
                  ("east", 8, near(twin, 2), {"xy": (3.05, 0.0)}), ("east", 9, near(twin, 3), {"xy": (0.05, 0.0)}))
    assert ids[("east", 8)] == ids[("west", 2)] and ids[("east", 9)] == ids[("west", 1)]


def test_new_tracks_of_two_cameras_at_one_spot_found_one_id():
    a = associator()
    ids, _ = step(a, 0.0, ("west", 1, unit(32), {"xy": (1.0, 1.0)}), ("east", 1, unit(33), {"xy": (1.1, 1.0)}))
    assert ids[("west", 1)] == ids[("east", 1)] == 1


def test_a_person_back_in_two_overlapping_views_at_once_gets_their_id_in_both_without_a_new_one():
    # both new tracks have one option, the person; the assignment gives it to one, and the other waits
    # a step (then the person is seen in the overlap) instead of founding an ID to be merged later
    a = associator()
    for k in range(20):
        ids, _ = step(a, 0.1 * k, ("west", 1, unit(35) if k == 0 else None, {"xy": (0.0, 0.0)}),
                      ("east", 1, None, {"xy": (0.0, 0.0)}))
    gid = ids[("west", 1)]
    step(a, 2.0, removed=[("west", 1), ("east", 1)])
    corrections = []
    for k in range(10):
        ids, c = step(a, 2.5 + 0.1 * k, ("west", 2, None, {"xy": (0.05, 0.0)}), ("east", 2, None, {"xy": (0.05, 0.0)}))
        corrections += c
    assert ids[("west", 2)] == ids[("east", 2)] == gid and corrections == [] and set(a.identities) == {gid}


def test_ids_standing_together_that_one_camera_shows_apart_are_never_both_merged_into_a_third():
    # a pair walks up beside someone camera "solo" sees; "pair" shows the two apart, so once the first
    # is merged into the third, the second is that ID's distinct person and stays apart
    a = associator(floor={"merge_after_s": 0.3})
    for k in range(50):
        t = 0.1 * k
        x = max(0.0, 4.0 - t)
        ids, _ = step(a, t, ("solo", 1, None, {"xy": (0.0, 0.0), "give_up": True}),  # no looks to tell them apart
                      ("pair", 1, None, {"xy": (x, 0.1), "give_up": True}),
                      ("pair", 2, None, {"xy": (x, -0.1), "give_up": True}))
        assert ids[("pair", 1)] != ids[("pair", 2)]


def test_a_person_crossing_a_blind_gap_keeps_their_id_and_a_stranger_elsewhere_does_not_get_it():
    a = associator()
    walker = unit(34)
    ids = walk(a, 0.0, 2.0, "west", 1, (0.0, 0.0), (1.2, 0.0), emb=walker)
    gid = ids[("west", 1)]
    step(a, 2.1, removed=[("west", 1)])
    # 1.5 s later the walker appears in east where walking on would have taken them (1.2 m/s): 4.2 m;
    # seen from another side they look only somewhat alike (appearance alone would not link them)
    ids, _ = step(a, 3.6, ("east", 5, alike(walker, 0.7, 8), {"xy": (4.25, 0.05)}),
                  ("east", 6, alike(walker, 0.7, 9), {"xy": (4.2, 6.0)}))
    assert ids[("east", 5)] == gid and ids[("east", 6)] not in (0, gid)


def test_a_walker_turning_in_a_blind_spot_between_views_is_looked_for_there():
    # West sees x <= 4, east x >= 8. Walking on as the walker walked into the gap (slowing over
    # turn_time_s) never reaches either view, but the gap is on the site: they have not left.
    views = {"west": (-10.0, 4.0), "east": (8.0, 20.0)}
    a = associator()
    a.costs.views_of.site = (-10.0, 20.0, -6.0, 6.0)
    walker = unit(35)
    gid = walk(a, 0.0, 2.0, "west", 1, (2.9, -1.0), (0.5, 0.5), emb=walker, views=views)[("west", 1)]
    step(a, 2.1, removed=[("west", 1)], views=views)
    # 4 s later they come out of the gap into east, having turned towards it; they look only somewhat alike
    ids, _ = step(a, 6.0, ("east", 3, alike(walker, 0.7, 10), {"xy": (8.3, 1.4)}), views=views)
    assert ids[("east", 3)] == gid


def test_a_walker_who_left_the_site_is_not_given_to_a_newcomer_where_they_left():
    views = {"west": (-10.0, 4.0), "east": (8.0, 20.0)}
    a = associator()
    a.costs.views_of.site = (-10.0, 20.0, -6.0, 6.0)
    walker = unit(36)
    gid = walk(a, 0.0, 1.0, "west", 1, (2.0, 4.7), (0.0, 1.2), emb=walker, views=views)[("west", 1)]  # to y = 5.9
    step(a, 1.1, removed=[("west", 1)], views=views)
    # walking on takes them off the site (y > 6) at once; someone coming in there 1 s later is someone else
    ids, _ = step(a, 2.0, ("west", 2, alike(walker, 0.7, 11), {"xy": (2.0, 5.8)}), views=views)
    assert ids[("west", 2)] not in (0, gid)


def test_a_person_out_of_sight_longer_than_max_gap_is_not_placed_by_the_floor():
    a = associator(floor={"max_gap_s": 2.0})
    ids = walk(a, 0.0, 1.0, "west", 1, (0.0, 0.0), (0.0, 1.0), emb=unit(37))
    gid = ids[("west", 1)]
    step(a, 1.1, removed=[("west", 1)])
    ids, _ = step(a, 4.0, ("east", 2, unit(38), {"xy": (0.0, 4.0)}))  # where they would be, but 3 s on
    assert ids[("east", 2)] not in (0, gid)


def test_a_camera_that_disagrees_on_the_floor_for_split_after_s_loses_the_id():
    a = associator(floor={"split_after_s": 0.5})
    ids = {}
    for k in range(12):
        t = 0.1 * k
        west = (0.0, 0.0)
        east = (0.0, 0.0) if k < 3 else (0.0, 2.0 + 0.2 * k)  # east's tracker switched to someone walking away
        ids, _ = step(a, t, ("west", 1, unit(39) if k == 0 else None, {"xy": west}), ("east", 2, None, {"xy": east}))
    assert ids[("west", 1)] != ids[("east", 2)] and 0 not in ids.values()
    assert ids[("west", 1)] == 1  # the camera that agreed with the ID's past keeps it


def test_of_two_cameras_drifting_apart_evenly_the_later_linked_one_loses_the_id():
    # the ID's floor track lies between the two, so both disagree with it: the one linked first keeps
    # the ID, as when one camera alone disagrees, and the person is not left without one
    a = associator(floor={"split_after_s": 0.3})
    for k in range(30):
        t = 0.1 * k
        apart = max(0.0, 0.5 * (t - 1.0))  # from t = 1 s on, the two go 0.5 m/s each way
        tracks = [("west", 1, unit(44) if k == 0 else None, {"xy": (t, apart)})]
        if k >= 3:
            tracks.append(("east", 1, None, {"xy": (t, -apart)}))
        ids, _ = step(a, t, *tracks)
        if k == 3:
            gid = ids[("west", 1)]
            assert ids[("east", 1)] == gid
    assert ids[("west", 1)] == gid and ids[("east", 1)] not in (0, gid)


def test_a_tracker_that_jumps_to_another_person_is_detached_from_the_id():
    a = associator(floor={"split_after_s": 0.3})
    ids = walk(a, 0.0, 1.0, "cam", 1, (0.0, 0.0), (1.0, 0.0), emb=unit(40))
    gid = ids[("cam", 1)]
    for k in range(6):  # the track comes back 3 m off the walker's path and stays there
        ids, _ = step(a, 1.1 + 0.1 * k, ("cam", 1, None, {"xy": (1.1, 3.0)}))
    assert ids[("cam", 1)] not in (0, gid)


def test_a_track_disagreeing_with_its_id_is_in_doubt_until_it_agrees_again_or_is_detached():
    """in_doubt: the rows that the results files hold back, to give them the ID the doubt ends with."""
    a = associator(floor={"split_after_s": 0.3})
    ids = walk(a, 0.0, 1.0, "cam", 1, (0.0, 0.0), (1.0, 0.0), emb=unit(40))
    gid = ids[("cam", 1)]
    assert not a.in_doubt("cam", np.array([1, 2])).any()
    doubt, shown = [], []
    path = [(1.1, 3.0), (1.2, 3.0), (1.3, 0.0), (1.4, 0.0), (1.5, 3.0), (1.6, 3.0), (1.7, 3.0), (1.8, 3.0), (1.9, 3.0)]
    for k, xy in enumerate(path):  # a 0.2 s jump 3 m off the walk and back, then a jump for good
        ids, _ = step(a, 1.1 + 0.1 * k, ("cam", 1, None, {"xy": xy}))
        doubt.append(bool(a.in_doubt("cam", np.array([1]))[0]))
        shown.append(ids[("cam", 1)])
    assert doubt == [True, True, False, False, True, True, True, False, False]
    assert shown[:7] == [gid] * 7 and shown[7] not in (0, gid)  # live, the ID stays while in doubt


def test_a_doubt_that_no_floor_position_settles_lapses_after_split_after_s():
    a = associator(floor={"split_after_s": 0.25})
    ids = walk(a, 0.0, 1.0, "cam", 1, (0.0, 0.0), (1.0, 0.0), emb=unit(40))
    gid = ids[("cam", 1)]
    step(a, 1.1, ("cam", 1, None, {"xy": (1.1, 3.0)}))
    doubt = []
    for k in range(5):  # then no floor position (its feet unknown): nothing settles the doubt
        ids, _ = step(a, 1.2 + 0.1 * k, ("cam", 1, None))
        doubt.append(bool(a.in_doubt("cam", np.array([1]))[0]))
    assert doubt == [True, True, False, False, False] and ids[("cam", 1)] == gid


def test_two_ids_that_stand_together_and_no_camera_shows_both_are_merged_into_the_older():
    a = associator(floor={"merge_after_s": 0.5})
    # east's person is 3 m away from west's when west's track gives up waiting for re-ID: two IDs
    person = unit(41)
    step(a, 0.0, ("east", 1, person, {"xy": (3.0, 0.0)}))
    ids, _ = step(a, 0.1, ("east", 1, None, {"xy": (2.9, 0.0)}), ("west", 1, None, {"xy": (0.0, 0.0), "give_up": True}))
    older, younger = ids[("east", 1)], ids[("west", 1)]
    assert older < younger
    corrections = []
    for k in range(2, 50):  # east's person walks over (1 m/s) and stays where west's is: west's, all along
        t = 0.1 * k
        ids, c = step(a, t, ("east", 1, None, {"xy": (max(0.0, 3.0 - t), 0.0)}), ("west", 1, None, {"xy": (0.0, 0.0)}))
        corrections += c
    assert [(c.old_global_id, c.new_global_id, c.reason) for c in corrections] == [(younger, older, "floor")]
    assert ids[("west", 1)] == ids[("east", 1)] == older


def test_two_people_close_together_are_never_merged_once_one_camera_showed_both():
    a = associator(floor={"merge_after_s": 0.3})
    step(a, 0.0, ("west", 1, unit(42), {"xy": (0.0, 0.0)}), ("west", 2, unit(43), {"xy": (0.5, 0.0)}))
    corrections = []
    for k in range(1, 10):  # then west loses one of them and east picks that one up
        _, c = step(a, 0.1 * k, ("west", 1, None, {"xy": (0.0, 0.0)}), ("east", 3, unit(43) if k == 1 else None,
                                                                         {"xy": (0.3, 0.0)}))
        corrections += c
    assert corrections == []


def test_ids_seen_by_cameras_that_cannot_see_each_others_spot_are_not_merged():
    # Strips of one scene: west sees x < 1, east x > 0.8. Two people close to the border, each in one strip only.
    views = {"west": (-10.0, 1.0), "east": (0.8, 10.0)}
    a = associator(floor={"merge_after_s": 0.3})
    corrections = []
    for k in range(10):
        _, c = step(a, 0.1 * k, ("west", 1, unit(44) if k == 0 else None, {"xy": (0.4, 0.0)}),
                    ("east", 1, unit(45) if k == 0 else None, {"xy": (1.2, 0.0)}), views=views)
        corrections += c
    assert corrections == []


def test_a_person_seated_still_is_found_again_where_they_sat_after_a_long_gap():
    a = associator(floor={"max_gap_s": 2.0})
    seated = unit(46)
    ids = {}
    for k in range(40):  # seen for 4 s (more than still_window_s)
        jitter = 0.15 * np.sin(k)  # a seated person's foot point wanders with the desk in the way
        ids, _ = step(a, 0.1 * k, ("cam2", 1, seated if k == 0 else None, {"xy": (3.0 + jitter, 0.0)}))
    gid = ids[("cam2", 1)]
    step(a, 4.0, removed=[("cam2", 1)])
    ids, _ = step(a, 12.0, ("cam1", 1, alike(seated, 0.75, 5), {"xy": (3.1, 0.2)}))  # seen from the other side
    assert ids[("cam1", 1)] == gid


def test_a_walker_out_of_sight_longer_than_max_gap_is_not_looked_for_where_they_were():
    a = associator(floor={"max_gap_s": 2.0})
    walker = unit(47)
    ids = walk(a, 0.0, 4.0, "cam2", 1, (0.0, 0.0), (1.4, 0.0), emb=walker)
    gid = ids[("cam2", 1)]
    step(a, 4.1, removed=[("cam2", 1)])
    ids, _ = step(a, 14.0, ("cam1", 1, alike(walker, 0.9, 6), {"xy": (5.6, 0.0)}))  # not enough for appearance alone
    assert ids[("cam1", 1)] != gid


def test_an_uncalibrated_camera_beside_calibrated_ones_keeps_the_appearance_rule():
    a = associator()
    person = unit(48)
    ids, _ = step(a, 0.0, ("floor", 1, person, {"xy": (0.0, 0.0)}))
    ids, _ = step(a, 0.1, ("floor", 1, None, {"xy": (0.0, 0.0)}), ("door", 1, near(person, 7)))
    assert ids[("door", 1)] == ids[("floor", 1)]
    ids, _ = step(a, 0.2, ("floor", 1, None, {"xy": (0.0, 0.0)}), ("door", 1, None), ("door", 2, unit(49)))
    assert ids[("door", 2)] not in (0, ids[("floor", 1)])


def test_floor_positions_report_the_people_placed_in_a_step():
    a = associator()
    step(a, 0.0, ("west", 1, unit(50), {"xy": (1.0, 2.0)}), ("door", 1, unit(51)))
    positions = a.floor_positions(since=0.0)
    assert [(p["global_id"], round(p["x"], 3), round(p["y"], 3), p["cameras"]) for p in positions] == [(1, 1.0, 2.0, ["west"])]
    assert a.floor_positions(since=1.0) == []



def test_a_walker_at_the_sites_edge_is_looked_for_until_their_walk_has_taken_them_off_it():
    # West sees x <= 4, east x >= 6; the site ends at y = 6. Walking on as the walker walked into the
    # gap would take them off the site before east sees them, but they turn at the edge: 1.5 s later
    # (by now still on the site, as walked on) they come into east.
    views = {"west": (-10.0, 4.0), "east": (6.0, 20.0)}
    walker = unit(48)

    def into_the_gap():
        a = associator()
        a.costs.views_of.site = (-10.0, 20.0, -6.0, 6.0)
        gid = walk(a, 0.0, 2.0, "west", 1, (2.4, 3.8), (0.8, 0.6), emb=walker, views=views)[("west", 1)]  # to (4.0, 5.0)
        step(a, 2.1, removed=[("west", 1)], views=views)
        return a, gid

    a, gid = into_the_gap()
    ids, _ = step(a, 3.5, ("east", 2, alike(walker, 0.7, 12), {"xy": (6.1, 5.4)}), views=views)
    assert ids[("east", 2)] == gid
    # had they walked on, they would be off the site 4 s later: someone coming into east there is new
    b, gid = into_the_gap()
    ids, _ = step(b, 6.0, ("east", 2, alike(walker, 0.7, 13), {"xy": (6.5, 5.9)}), views=views)
    assert ids[("east", 2)] not in (0, gid)


def crossing(swap: bool, a=None, bystander: bool = False, cameras=("cam",)):
    """A walks east along y = 0 (track 1), B west along y = 0.3 (track 2) in one camera; B's track is
    lost at t = 2.2 as they close in. With swap, track 1 follows B from t = 2.6 on (trackers swap
    people who cross) and A gets track 3 at t = 3.4; without, track 1 stays on A. With bystander,
    a second camera capturing 40 ms later shows someone walking 20 m away. cameras: the cameras
    that see all this alike (overlapping views). Returns the associator, A's and B's IDs, and the
    IDs of the last step (t = 4.0)."""
    a = a or associator()
    ids = {}
    for k in range(41):
        t = 0.1 * k
        on_a, on_b = (1.2 * t, 0.0), (6.0 - 1.2 * t, 0.3)
        tracks = []
        for cam in cameras:
            tracks.append((cam, 1, unit(49) if k == 0 else None, {"xy": on_b if swap and t > 2.55 else on_a}))
            if t < 2.15:
                tracks.append((cam, 2, unit(50) if k == 0 else None, {"xy": on_b}))
            if swap and t > 3.35:
                tracks.append((cam, 3, None, {"xy": on_a}))
        if bystander:
            tracks.append(("far", 1, unit(51) if k == 0 else None, {"xy": (20.0, 20.0 + t)}))
        removed = [(cam, 2) for cam in cameras] if 2.15 < t < 2.25 else ()
        ids, _ = step(a, t, *tracks, removed=removed, lags={"far": 0.04})
        if k == 0:
            gid_a, gid_b = ids[("cam", 1)], ids[("cam", 2)]
    return a, gid_a, gid_b, ids


def test_a_track_that_swapped_people_where_they_crossed_follows_the_one_it_moves_like():
    _, gid_a, gid_b, ids = crossing(swap=True)
    assert ids[("cam", 1)] == gid_b  # it moves the way B was walking when lost, not as A was
    assert ids[("cam", 3)] == gid_a  # A, free again, is found where they walked on
    # without the meeting rule, track 1 keeps A, and A's own new track cannot have A's ID
    _, gid_a, gid_b, ids = crossing(swap=True, a=associator(floor={"meeting_s": 0.0}))
    assert ids[("cam", 1)] == gid_a and ids[("cam", 3)] != gid_a
    # the same with another camera capturing at its own moment: people are met at each track's time
    _, gid_a, gid_b, ids = crossing(swap=True, bystander=True)
    assert ids[("cam", 1)] == gid_b and ids[("cam", 3)] == gid_a and ids[("far", 1)] not in (gid_a, gid_b)


def test_trackers_of_overlapping_cameras_that_swapped_the_same_people_both_follow_the_one_they_move_like():
    # each camera's track settles its own meeting; the second must not be refused because the first
    # has just given the person it moves like a track
    _, gid_a, gid_b, ids = crossing(swap=True, cameras=("cam", "cam2"))
    assert ids[("cam", 1)] == ids[("cam2", 1)] == gid_b
    assert ids[("cam", 3)] == ids[("cam2", 3)] == gid_a


def test_a_track_that_met_someone_lost_but_walked_on_as_before_keeps_its_id():
    _, gid_a, gid_b, ids = crossing(swap=False)
    assert ids[("cam", 1)] == gid_a


def test_ids_one_camera_showed_apart_are_never_merged_when_they_later_stand_together():
    # lab4cam: a camera showed a seated person and a walker 1.4 m apart; its tracker later drifted onto
    # the walker's place. Merging the two IDs would rewrite that camera's rows to show one ID twice.
    a = associator(floor={"merge_after_s": 0.3})
    seated, walker = unit(48), alike(unit(48), 0.85, 49)  # OSNet x0.25 rates different people this alike
    step(a, 0.0, ("west", 1, seated, {"xy": (0.0, 0.0)}), ("west", 2, walker, {"xy": (1.4, 0.0)}))
    corrections = []
    for k in range(1, 12):  # west's track 2 ends; east's track of the walker comes to where west's track 1 is
        ids, c = step(a, 0.1 * k, ("west", 1, None, {"xy": (0.0, 0.0)}),
                      ("east", 3, walker if k == 1 else None, {"xy": (max(0.1, 1.4 - 0.3 * k), 0.0)}),
                      removed=[("west", 2)] if k == 1 else ())
        corrections += c
    assert ids == {("west", 1): 1, ("east", 3): 2} and corrections == []


def test_a_new_track_where_other_cameras_see_someone_is_not_given_a_vague_prediction_instead():
    # lab4cam: a seated person's jittery boxes gave their floor track a velocity; out of sight for 4 s,
    # its prediction covers metres and reaches the spot where two cameras see a standing person. A new
    # track there is that person, although by Mahalanobis distance alone the vague prediction is nearer.
    a = associator()
    ids = {}
    for k in range(30):
        ids, _ = step(a, 0.1 * k, ("cam2", 1, unit(52) if k == 0 else None, {"xy": (2.8 - 0.03 * k, 0.1 + 0.03 * k)}),
                      ("cam0", 1, unit(53) if k == 0 else None, {"xy": (1.2, 1.5)}))
    seated, standing = ids[("cam2", 1)], ids[("cam0", 1)]
    step(a, 3.0, ("cam0", 1, None, {"xy": (1.2, 1.5)}), removed=[("cam2", 1)])
    for k in range(31, 70):
        ids, _ = step(a, 0.1 * k, ("cam0", 1, None, {"xy": (1.2, 1.5)}), ("cam1", 1, None, {"xy": (1.2, 1.5)}))
    assert ids[("cam1", 1)] == standing
    ids, _ = step(a, 7.0, ("cam0", 1, None, {"xy": (1.2, 1.5)}), ("cam1", 1, None, {"xy": (1.2, 1.5)}),
                  ("cam3", 1, None, {"xy": (1.45, 1.3), "give_up": True}))
    assert ids[("cam3", 1)] == standing != seated


def test_tracks_of_cameras_capturing_at_different_moments_are_costed_as_each_moment_alone():
    """Live cameras capture at their own moments: the floor costs of a step's waiting tracks predict
    every person to each track's capture time, all in one pass, and come out as one time at a time."""
    a = associator()
    for k in range(10):  # five people walking different ways, seen by camera a for a second
        t = 0.1 * k
        step(a, t, *[("a", p + 1, unit(p) if k == 0 else None, {"xy": (2.0 * p + 0.8 * t * (p % 3 - 1), 1.0 + 0.5 * t)})
                     for p in range(5)])
    cameras = [CameraTracks("a", 1.0, np.arange(1, 4), np.array([4, 5]), np.zeros(3, bool), None, np.zeros(3, bool),
                            FloorPoints(np.array([[0.0, 1.5], [2.0, 1.5], [4.8, 1.5]]), np.tile(SIGMA_M ** 2 * np.eye(2), (3, 1, 1)),
                                        np.zeros(3, bool)))]
    for c, lag, xy in (("b", 0.01, [[6.0, 1.5], [8.8, 1.55]]), ("c", 0.04, [[7.9, 1.5]]), ("d", 0.07, [[6.1, 1.6], [0.1, 1.5]])):
        n = len(xy)
        cameras.append(CameraTracks(c, 1.0 + lag, np.arange(1, n + 1), np.zeros(0, np.int64), np.zeros(n, bool), None,
                                    np.zeros(n, bool), FloorPoints(np.array(xy), np.tile(SIGMA_M ** 2 * np.eye(2), (n, 1, 1)),
                                                                   np.zeros(n, bool))))
    rows = a._rows(cameras)
    for rule in (a._one_track_per_camera, a._follow_floor, a._settle_meetings, a._learn_appearance):
        rule(rows)  # as update() does before matching the waiting tracks
    waiting = np.flatnonzero(rows.gid == 0)
    a._follow_pending(rows, waiting)  # their own floor tracks: the 4-D costs against people out of sight
    gallery = a.costs.gallery(rows)
    together = a.costs.floor_costs(rows, waiting, gallery)
    assert len(np.unique(rows.time[waiting])) == 3 and np.isfinite(together).sum() >= 10
    assert gallery.live.sum() == 3 and (~gallery.live).sum() == 2  # people in view and out of it
    for time_s in np.unique(rows.time[waiting]):
        mine = rows.time[waiting] == time_s
        assert np.array_equal(together[mine], a.costs.floor_costs(rows, waiting[mine], gallery), equal_nan=True)
