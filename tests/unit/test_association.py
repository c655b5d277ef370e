"""CrossCameraAssociator: joining identities by appearance, within transit windows, one ID per person
per camera, maturity, TTL and the correction rule."""

import numpy as np
import pytest

from mctrt.association import CrossCameraAssociator, Observation
from mctrt.config import AssociationConfig, TransitWindow


def unit(seed: int, dim: int = 16) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=dim).astype(np.float32)
    return v / np.linalg.norm(v)


def near(v: np.ndarray, seed: int, noise: float = 0.05) -> np.ndarray:
    w = v + noise * unit(seed + 1000, len(v))
    return (w / np.linalg.norm(w)).astype(np.float32)


def associator(**kw) -> CrossCameraAssociator:
    kw.setdefault("match_threshold", 0.8)
    kw.setdefault("maturity", 1)
    return CrossCameraAssociator(AssociationConfig(**kw))


def seen(a, t, cam, tid, emb=None):
    a.update(t, [Observation(cam, tid, emb)])
    return a.global_id_of.get((cam, tid))


def test_overlapping_cameras_share_a_person_seen_at_once():
    a = associator(transit_windows=(TransitWindow(("west", "east"), 0.0, 30.0),))
    person = unit(1)
    g1 = seen(a, 0.0, "west", 1, person)
    a.update(1.0, [Observation("west", 1, None), Observation("east", 7, near(person, 2))])
    assert a.global_id_of[("east", 7)] == g1
    assert a.stats()["handoffs"] == 1 and a.stats()["cross_camera_ids"] == 1


def test_views_that_do_not_overlap_never_share_a_person_seen_at_once():
    a = associator(transit_windows=(TransitWindow(("lobby", "lift"), 5.0, 30.0),))
    person = unit(1)
    g1 = seen(a, 0.0, "lobby", 1, person)
    a.update(1.0, [Observation("lobby", 1, None), Observation("lift", 2, near(person, 2))])
    assert a.global_id_of[("lift", 2)] != g1


@pytest.mark.parametrize(("gap_s", "same_person"), [(10.0, True), (2.0, False), (45.0, False)],
                         ids=["inside-window", "too-soon", "too-late"])
def test_blind_gap_between_cameras_must_lie_in_the_transit_window(gap_s, same_person):
    a = associator(transit_windows=(TransitWindow(("lobby", "lift"), 5.0, 30.0),))
    person = unit(3)
    g1 = seen(a, 0.0, "lobby", 1, person)
    a.end_track("lobby", 1)
    assert (seen(a, gap_s, "lift", 4, near(person, 4)) == g1) is same_person


def test_two_tracks_of_one_camera_never_share_a_global_id():
    a = associator()
    person = unit(5)
    g1 = seen(a, 0.0, "cam", 1, person)
    a.update(0.1, [Observation("cam", 1, None), Observation("cam", 2, near(person, 6))])
    assert a.global_id_of[("cam", 2)] not in (None, g1)


def test_two_new_tracks_compete_for_one_identity_and_the_better_match_wins():
    a = associator(match_threshold=0.5)
    person = unit(7)
    g1 = seen(a, 0.0, "a", 1, person)
    a.end_track("a", 1)
    a.update(5.0, [Observation("b", 1, near(person, 8, noise=0.6)), Observation("b", 2, near(person, 9, noise=0.05))])
    assert a.global_id_of[("b", 2)] == g1
    assert a.global_id_of[("b", 1)] != g1


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
    a.end_track("a", 1)
    a.update(5.0, [])
    assert g1 in a.identities
    a.update(11.0, [])
    assert g1 not in a.identities
    assert seen(a, 12.0, "b", 1, near(person, 15)) != g1


def test_provisional_identity_is_corrected_when_its_track_matches_an_established_one():
    a = associator()
    person = unit(16)
    g1 = seen(a, 0.0, "a", 1, person)
    a.end_track("a", 1)
    # track 2 first looks like nobody (its first crop is a poor one) and founds a provisional identity
    g2 = seen(a, 1.0, "b", 2, unit(99))
    assert g2 != g1
    corrections = a.update(2.0, [Observation("b", 2, near(person, 17))])
    assert [(c.old_global_id, c.new_global_id) for c in corrections] == [(g2, g1)]
    assert a.global_id_of[("b", 2)] == g1 and g2 not in a.identities


def test_an_identity_another_track_has_joined_is_never_rewritten():
    a = associator()
    person, other = unit(18), unit(19)
    g_person = seen(a, 0.0, "a", 1, person)
    a.end_track("a", 1)
    g_other = seen(a, 0.0, "b", 5, other)
    a.end_track("b", 5)
    assert seen(a, 1.0, "c", 3, near(other, 20)) == g_other  # joined: no longer provisional
    assert a.update(2.0, [Observation("c", 3, near(person, 21))]) == []
    assert a.global_id_of[("c", 3)] == g_other and g_person in a.identities


def test_track_with_no_usable_crop_gets_its_own_id_after_waiting():
    a = associator()
    assert seen(a, 0.0, "a", 1) is None
    a.update(1.0, [Observation("a", 1, None, give_up_waiting=True)])
    assert a.global_id_of[("a", 1)] == 1


def test_disabled_association_gives_every_track_its_own_id():
    a = associator(enabled=False)
    person = unit(22)
    assert seen(a, 0.0, "a", 1, person) == 1
    assert seen(a, 0.0, "b", 1, person) == 2
