"""The floor's building blocks: foot points and their uncertainty (FootLocator), floor tracks
(FloorTracks), per-track tables, the re-ID schedule, and the floor layout the dashboard draws."""

import numpy as np
import pytest

from mctrt.association import FloorTracks, ReidScheduler
from mctrt.association.floor_tracks import mahalanobis_sq
from mctrt.config import FloorAssociationConfig, ReidScheduleConfig, config_from_dict
from mctrt.geometry import CameraCalibration
from mctrt.geometry.feet import CameraFrame, FootLocator
from mctrt.geometry.layout import field_of_view, floor_layout
from mctrt.tracking.track_table import TrackTable
from mctrt.types import Tracks

# A camera looking down at the floor at an angle: rows further up the image are further away.
TILTED = CameraCalibration.from_point_pairs([[0, 480], [640, 480], [420, 100], [220, 100]],
                                            [[-2, 2], [2, 2], [3, 30], [-3, 30]])
IMAGE = (640, 480)


class OneCamera:
    """A FootLocator for the one TILTED camera, placing one frame at a time."""

    def __init__(self, config=None, calibration=TILTED):
        self.locator = FootLocator({"cam": calibration}, config)

    def locate(self, tracks, image_size, time_s):
        return self.locator.locate([CameraFrame("cam", tracks, image_size, time_s)])[0]

    def in_view(self, points):
        return self.locator.in_view("cam", points)


def tracks(*boxes, ids=None, removed=()):
    xyxy = np.array(boxes, np.float32).reshape(-1, 4)
    n = len(xyxy)
    return Tracks(xyxy, np.array(ids or range(1, n + 1), np.int64), np.full(n, 0.9, np.float32),
                  np.arange(n, dtype=np.int64), np.array(removed, np.int64))


def test_the_foot_point_is_the_bottom_centre_mapped_through_the_calibration():
    locator = OneCamera()
    points = locator.locate(tracks((300, 200, 340, 300)), IMAGE, 0.0)
    assert np.allclose(points.xy[0], TILTED.to_floor([[320, 300]])[0]) and not points.estimated[0]


def test_the_uncertainty_grows_with_the_distance_from_the_camera():
    locator = OneCamera(FloorAssociationConfig(floor_sigma_m=0.001))
    near, far = locator.locate(tracks((300, 300, 340, 470), (300, 60, 310, 110)), IMAGE, 0.0).cov
    # the far person is smaller, yet each pixel there covers so much more floor that their error is larger
    assert np.linalg.eigvalsh(far).max() > 4 * np.linalg.eigvalsh(near).max()


def test_a_foot_just_below_the_horizon_is_no_position():
    """TILTED's horizon is the image's top row: a foot 2 px below it lies 1.8 km off, give or take
    tens of metres. It was placed, and such positions overflowed the floor tracks (inf - inf)."""
    points = OneCamera().locate(tracks((318, 0, 322, 2), (300, 200, 340, 300)), IMAGE, 0.0)
    assert np.isnan(points.xy[0]).all() and np.isfinite(points.xy[1]).all()


def test_a_box_cut_by_the_lower_edge_gets_its_foot_from_the_last_full_height():
    locator = OneCamera()
    locator.locate(tracks((300, 300, 340, 440)), IMAGE, 0.0)  # whole: 140 px tall
    cut = locator.locate(tracks((300, 350, 340, 480)), IMAGE, 0.1)
    assert cut.estimated[0] and np.allclose(cut.xy[0], TILTED.to_floor([[320, 490]])[0])
    assert np.isnan(OneCamera().locate(tracks((300, 350, 340, 480)), IMAGE, 0.0).xy).all()  # never seen whole


def test_legs_hidden_behind_something_are_estimated_but_a_person_sitting_down_is_not():
    locator = OneCamera()
    locator.locate(tracks((300, 200, 340, 340), (100, 200, 140, 340)), IMAGE, 0.0)
    hidden_legs = (300, 200, 340, 280)  # the top stayed, the bottom moved up: something in front
    sat_down = (100, 260, 140, 340)  # the bottom stayed, the top came down
    points = locator.locate(tracks(hidden_legs, sat_down), IMAGE, 0.1)
    assert points.estimated.tolist() == [True, False]
    assert np.allclose(points.xy[0], TILTED.to_floor([[320, 340]])[0], atol=1e-6)


def test_one_box_of_two_people_merged_does_not_make_the_person_taller():
    # PETS09, a tuning cut: a person's box (88 px) merged for one frame with someone behind (118 px),
    # then the tracker followed the other, 79 px tall. Taken at once as the height, 118 px made that
    # whole box read as hidden legs, placed at the first person's feet for the 3 s of height memory.
    locator = OneCamera()
    for k in range(3):
        locator.locate(tracks((300, 210, 340, 298)), IMAGE, 0.1 * k)
    locator.locate(tracks((300, 180, 340, 298)), IMAGE, 0.3)
    after = locator.locate(tracks((300, 180, 340, 259)), IMAGE, 0.4)
    assert not after.estimated[0] and np.allclose(after.xy[0], TILTED.to_floor([[320, 259]])[0])
    hidden = locator.locate(tracks((300, 180, 340, 240)), IMAGE, 0.5)  # legs hidden for real: still estimated
    assert hidden.estimated[0]


def test_the_height_memory_runs_out():
    locator = OneCamera(FloorAssociationConfig(height_memory_s=1.0))
    locator.locate(tracks((300, 300, 340, 440)), IMAGE, 0.0)
    assert np.isnan(locator.locate(tracks((300, 350, 340, 480)), IMAGE, 5.0).xy).all()


def test_a_box_cut_by_a_side_edge_is_uncertain_across():
    locator = OneCamera(FloorAssociationConfig(floor_sigma_m=0.001))
    inside, cut = locator.locate(tracks((300, 300, 340, 440), (0, 300, 40, 440)), IMAGE, 0.0).cov
    assert cut[0, 0] > 4 * inside[0, 0]  # across (x); along the view the two are alike


def test_in_view_is_the_image_minus_a_side_margin():
    locator = OneCamera(FloorAssociationConfig(view_margin=0.1))
    assert not locator.in_view(np.array([[0.0, 5.0]])).any()  # no frame yet
    locator.locate(tracks(), IMAGE, 0.0)
    points = TILTED.to_floor(np.array([[320, 300], [20, 300], [320, 50]]))
    assert locator.in_view(points).tolist() == [True, False, True] and not locator.in_view(np.array([[0.0, -30.0]]))[0]


def test_the_site_is_the_floor_the_cameras_cover_blind_spots_between_them_included():
    def strip(x0):  # columns x0 .. x0 + 250 of the TILTED camera's image, as a camera of its own
        return CameraCalibration.from_homography(TILTED.image_to_floor @ np.array([[1.0, 0, x0], [0, 1, 0], [0, 0, 1]]))
    locator = FootLocator({"left": strip(0), "right": strip(390)}, FloorAssociationConfig(view_margin=0.0))
    gap, nearer = TILTED.to_floor(np.array([[320.0, 300.0], [320.0, 700.0]]))  # between the strips; below the image
    assert not locator.on_site(np.array([gap])).any()  # no frame yet
    locator.locate([CameraFrame(cam, tracks(), (250, 480), 0.0) for cam in ("left", "right")])
    assert not any(seen[0] for seen in locator.views_of(np.array([gap])).values())
    assert locator.on_site(np.array([gap, nearer])).tolist() == [True, False]


def test_floor_tracks_predict_at_a_time_and_fuse_measurements():
    floor = FloorTracks(speed_sigma=0.5, turn_time_s=5.0)
    floor.start(7, 0.0, np.array([0.0, 0.0]), 0.01 * np.eye(2))
    for k in range(1, 11):  # walking +x at 1 m/s
        floor.update([7], np.array([0.1 * k]), np.array([[0.1 * k, 0.0]]), 0.01 * np.eye(2)[None])
    (x, y, vx, vy), t = floor.state(7)
    assert t == pytest.approx(1.0) and vx == pytest.approx(1.0, abs=0.15) and abs(vy) < 0.1
    mean, cov = floor.predict(floor.slots([7]), np.array([3.0]))
    assert mean[0, 0] == pytest.approx(2.65, abs=0.4) and cov[0, 0, 0] > floor.cov[floor.slots([7])[0], 0, 0]
    assert floor.state(7)[1] == pytest.approx(1.0)  # predicting changed nothing


def test_an_unseen_walker_is_extrapolated_for_about_the_turn_time_and_then_spreads_linearly():
    floor = FloorTracks(speed_sigma=1.0, turn_time_s=4.0)
    floor.start(1, 0.0, np.array([0.0, 0.0]), 0.01 * np.eye(2))
    slot = floor.slots([1])
    floor.mean[slot, 2:] = (1.5, 0.0)  # walking +x at 1.5 m/s
    floor.cov[slot, 2:, 2:] = 0.01 * np.eye(2)
    mean, cov = floor.predict(np.repeat(slot, 4), np.array([0.5, 30.0, 60.0, 120.0]))
    assert mean[0, 0] == pytest.approx(1.5 * 4.0 * (1 - np.exp(-0.5 / 4.0)))  # about 0.5 s of walking
    assert mean[2, 0] == pytest.approx(6.0, abs=1e-3) and mean[3, 0] == pytest.approx(6.0, abs=1e-6)  # 1.5 m/s x 4 s
    # Long after, the variance grows by 2 sigma^2 tau per second: a random walk, not a thrown stone.
    assert (cov[3, 0, 0] - cov[2, 0, 0]) / 60.0 == pytest.approx(2 * 1.0 * 4.0, rel=0.01)


def test_views_of_every_camera_at_once_agree_with_each_cameras_in_view():
    behind = CameraCalibration.from_point_pairs([[0, 480], [640, 480], [420, 100], [220, 100]],
                                                [[2, -2], [-2, -2], [-3, -30], [3, -30]])  # looking the other way
    distorted = CameraCalibration.from_lens([[500, 0, 320], [0, 500, 240], [0, 0, 1]], [-0.2, 0.05, 0, 0, 0],
                                            [[1, 0, 0, 0], [0, 0, -1, 1.5], [0, 1, 0, 4], [0, 0, 0, 1]])
    locator = FootLocator({"tilted": TILTED, "behind": behind, "lens": distorted, "idle": TILTED},
                          FloorAssociationConfig(view_margin=0.05))
    locator.locate([CameraFrame(cam, tracks(), IMAGE, 0.0) for cam in ("tilted", "behind", "lens")])
    points = np.random.default_rng(1).uniform(-40, 40, (500, 2))
    views = locator.views_of(points)
    assert sorted(views) == ["behind", "lens", "tilted"]  # "idle" has had no frame
    for cam, seen in views.items():
        assert seen.tolist() == locator.in_view(cam, points).tolist() and 0 < seen.sum() < len(points), cam


def test_feet_to_floor_in_cpp_is_the_homography_and_its_derivative():
    from mctrt._native import core
    from mctrt.geometry.calibration import NEAR_ZERO
    rule = core.FootRule(height_memory_s=2.0, edge_margin_px=2.0, occlusion_ratio=0.8, width_ratio=0.4, foot_sigma=0.02,
                         estimated_foot_sigma=0.08, floor_sigma_m=0.1)
    foot = np.array([[320.0, 400.0], [100.0, 300.0], [500.0, 450.0], [320.0, 20.0]])
    body = np.array([200.0, 120.0, 250.0, 30.0])
    hidden, estimated = np.array([False, True, True, False]), np.array([False, True, False, False])
    cut_side = np.array([False, False, False, True])
    xy, cov = core.feet_to_floor(rule, TILTED.image_to_floor[None], np.array([TILTED.floor_sign]), np.zeros(4, np.int64),
                                 foot, body, hidden, estimated, cut_side, NEAR_ZERO)
    expected = TILTED.undistorted_to_floor(foot)
    expected[2] = np.nan  # hidden and not estimated: no position
    assert np.allclose(xy, expected, equal_nan=True)
    sigma_v = np.where(estimated, 0.08, 0.02) * body
    sigma_u = np.where(cut_side, np.maximum(sigma_v, 0.08 * body), sigma_v)
    jac = TILTED.jacobian(foot)
    pixel_cov = np.zeros((4, 2, 2))
    pixel_cov[:, 0, 0], pixel_cov[:, 1, 1] = sigma_u ** 2, sigma_v ** 2
    assert np.allclose(cov, jac @ pixel_cov @ jac.transpose(0, 2, 1) + 0.01 * np.eye(2))


def reference_floor_step(mean, cov, dt, speed_sigma, turn_time_s, xy=None, xy_cov=None):
    """The textbook Kalman predict (and update) with full matrices, the motion discretised from its
    continuous form (dx = v dt, dv = -v / tau dt + noise of density 2 sigma^2 / tau) by Van Loan's
    matrix exponential: what core.floor_* must equal."""
    from scipy.linalg import expm
    a = np.block([[np.zeros((2, 2)), np.eye(2)], [np.zeros((2, 2)), -np.eye(2) / turn_time_s]])
    noise = np.zeros((4, 4))
    noise[2:, 2:] = 2 * speed_sigma ** 2 / turn_time_s * np.eye(2)
    blocks = expm(np.block([[-a, noise], [np.zeros((4, 4)), a.T]]) * dt)
    f = blocks[4:, 4:].T
    q = f @ blocks[:4, 4:]
    mean, cov = f @ mean, f @ cov @ f.T + q
    if xy is None:
        return mean, cov
    h = np.eye(2, 4)
    gain = cov @ h.T @ np.linalg.inv(h @ cov @ h.T + xy_cov)
    return mean + gain @ (xy - h @ mean), (np.eye(4) - gain @ h) @ cov


def test_floor_filter_in_cpp_matches_the_textbook_matrices():
    rng = np.random.default_rng(3)
    floor = FloorTracks(speed_sigma=0.8, turn_time_s=2.5, capacity=4)
    for gid in (1, 2, 3):
        floor.start(gid, 0.0, rng.normal(size=2), 0.05 * np.eye(2))
    slots = floor.slots([1, 2, 3])
    floor.mean[slots, 2:] = rng.normal(size=(3, 2))
    before_mean, before_cov = floor.mean[slots].copy(), floor.cov[slots].copy()
    times = np.array([0.1, 0.7, 2.5])
    mean, cov = floor.predict_state(slots, times)
    for k in range(3):
        expected = reference_floor_step(before_mean[k], before_cov[k], times[k], 0.8, 2.5)
        assert np.allclose(mean[k], expected[0]) and np.allclose(cov[k], expected[1])
    xy, xy_cov = rng.normal(size=(3, 2)), np.array([0.2, 0.1, 0.4])[:, None, None] * np.eye(2)
    floor.update([1, 2, 3], times, xy, xy_cov)
    for k in range(3):
        expected = reference_floor_step(before_mean[k], before_cov[k], times[k], 0.8, 2.5, xy[k], xy_cov[k])
        assert np.allclose(floor.mean[slots[k]], expected[0]) and np.allclose(floor.cov[slots[k]], expected[1])
    assert floor.time[slots].tolist() == times.tolist()


def test_floor_filter_names_a_bad_slot_and_a_copied_array():
    floor = FloorTracks(capacity=2)
    with pytest.raises(ValueError, match=r"slots\[0\] = 5 is outside the 2 slots"):
        floor.predict_state(np.array([5]), np.array([0.0]))
    from mctrt._native import core
    with pytest.raises(ValueError, match="changed in place"):
        core.floor_update(floor.mean[:, ::-1], floor.cov, floor.time, floor.anchor, floor.wander, np.array([0]),
                          np.array([0.0]), np.zeros((1, 2)), np.eye(2)[None], 1.0, 5.0, 3.0)


def test_floor_merge_keeps_the_newer_state_under_the_kept_id():
    floor = FloorTracks()
    floor.start(1, 0.0, np.array([0.0, 0.0]), np.eye(2))
    floor.start(2, 5.0, np.array([3.0, 3.0]), np.eye(2))
    floor.merge(2, 1)
    assert 2 not in floor and floor.state(1)[1] == 5.0 and floor.state(1)[0][0] == 3.0


def test_copying_an_unknown_floor_track_changes_nothing_in_the_target():
    source, target = FloorTracks(), FloorTracks()
    source.start(1, 0.0, np.array([1.0, 2.0]), np.eye(2))
    source.copy([1], target, [7])
    assert target.state(7)[0][:2].tolist() == [1.0, 2.0]
    with pytest.raises(KeyError):
        source.copy([2], target, [8])
    assert 8 not in target and 7 in target


def test_mahalanobis_matches_the_matrix_formula():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(5, 2, 2))
    cov = a @ a.transpose(0, 2, 1) + 0.1 * np.eye(2)
    diff = rng.normal(size=(5, 2))
    expected = [d @ np.linalg.inv(c) @ d for d, c in zip(diff, cov)]
    assert np.allclose(mahalanobis_sq(diff, cov), expected)


def test_slot_map_reuses_released_slots_and_renames():
    from mctrt._native import core
    slots = core.SlotMap()
    found, fresh = slots.find_or_add(np.array([40, 7, 40, 9]))
    assert found.tolist() == [0, 1, 0, 2] and fresh.tolist() == [True, True, False, True]  # a key twice: one slot
    slots.release(np.array([7, 123]))  # 123 was never held
    assert slots.find(np.array([7, 9])).tolist() == [-1, 2] and len(slots) == 2
    assert slots.find_or_add(np.array([11]))[0].tolist() == [1] and slots.slots_used == 3  # 7's slot again
    assert slots.rename(11, 12) and 11 not in slots and slots.find(np.array([12])).tolist() == [1]
    assert not slots.rename(11, 13) and slots.keys() == [9, 12, 40]
    with pytest.raises(ValueError, match="already held"):
        slots.rename(12, 40)
    with pytest.raises(ValueError, match="keys must be a int64 numpy array"):
        slots.find(np.array([1.5]))


def test_a_pickled_slot_map_is_the_same_map_free_slots_and_their_order_included():
    import pickle

    from mctrt._native import core
    slots = core.SlotMap()
    slots.find_or_add(np.array([5, 6, 7, 8], np.int64))
    slots.release(np.array([6, 8], np.int64))  # slots 1 and 3 free; 3 is handed out first
    copy = pickle.loads(pickle.dumps(slots))
    assert copy.keys() == [5, 7] and copy.slots_used == 4
    assert copy.find_or_add(np.array([20, 21, 22], np.int64))[0].tolist() == \
        slots.find_or_add(np.array([20, 21, 22], np.int64))[0].tolist() == [3, 1, 4]
    with pytest.raises(ValueError, match="a slot outside"):
        core.SlotMap.__new__(core.SlotMap).__setstate__(([1], [9], [], 2))


@pytest.mark.parametrize("dim", [1, 2, 3, 4])
def test_mahalanobis_in_cpp_matches_the_matrix_formula(dim):
    from mctrt._native import core
    rng = np.random.default_rng(dim)
    a = rng.normal(size=(6, dim, dim))
    cov = a @ a.transpose(0, 2, 1) + 0.1 * np.eye(dim)
    diff = rng.normal(size=(6, dim))
    cov[5] = -np.eye(dim)  # not positive definite: infinitely far
    expected = [d @ np.linalg.inv(c) @ d for d, c in zip(diff[:5], cov[:5])]
    got = core.mahalanobis_sq(diff, cov)
    assert np.allclose(got[:5], expected) and got[5] == np.inf


def test_pairwise_mahalanobis_in_cpp_matches_the_matrix_formula_for_every_pair():
    from mctrt._native import core
    rng = np.random.default_rng(5)
    xy_a, xy_b = rng.uniform(0, 10, (4, 2)), rng.uniform(0, 10, (3, 2))
    a, b = rng.normal(scale=0.3, size=(4, 2, 2)), rng.normal(scale=0.3, size=(3, 2, 2))
    cov_a, cov_b = a @ a.transpose(0, 2, 1) + 0.05 * np.eye(2), b @ b.transpose(0, 2, 1) + 0.05 * np.eye(2)
    xy_a[3] = np.nan  # not placed: NaN against everyone
    d2, logdet = core.pairwise_mahalanobis_sq(xy_a, cov_a, xy_b, cov_b)
    assert d2.shape == logdet.shape == (4, 3)
    for i in range(3):
        for j in range(3):
            s = cov_a[i] + cov_b[j]
            d = xy_a[i] - xy_b[j]
            assert d2[i, j] == pytest.approx(d @ np.linalg.inv(s) @ d) and logdet[i, j] == pytest.approx(np.linalg.slogdet(s)[1])
    assert np.isnan(d2[3]).all()
    with pytest.raises(ValueError, match=r"cov_b must be a float64 numpy array of shape \(B, 2, 2\)"):
        core.pairwise_mahalanobis_sq(xy_a, cov_a, xy_b, cov_a)


def test_pairwise_mahalanobis_by_block_compares_each_row_with_its_own_block_only():
    from mctrt._native import core
    rng = np.random.default_rng(6)
    xy_a, xy_b = rng.uniform(0, 10, (5, 2)), rng.uniform(0, 10, (3, 4, 2))  # 3 blocks (capture times) of 4 people
    a, b = rng.normal(scale=0.3, size=(5, 2, 2)), rng.normal(scale=0.3, size=(3, 4, 2, 2))
    cov_a, cov_b = a @ a.transpose(0, 2, 1) + 0.05 * np.eye(2), b @ np.swapaxes(b, -1, -2) + 0.05 * np.eye(2)
    block = np.array([2, 0, 2, 1, 0])
    d2, logdet = core.pairwise_mahalanobis_sq(xy_a, cov_a, xy_b, cov_b, block)
    for i, t in enumerate(block):  # the same as the unblocked call against that row's block
        alone = core.pairwise_mahalanobis_sq(xy_a[i:i + 1], cov_a[i:i + 1], xy_b[t], cov_b[t])
        assert np.array_equal(d2[i], alone[0][0]) and np.array_equal(logdet[i], alone[1][0])
    assert not np.array_equal(d2[0], core.pairwise_mahalanobis_sq(xy_a[:1], cov_a[:1], xy_b[0], cov_b[0])[0][0])
    with pytest.raises(ValueError, match=r"block must lie in \[0, 3\); row 1 has 3"):
        core.pairwise_mahalanobis_sq(xy_a, cov_a, xy_b, cov_b, np.array([0, 3, 0, 0, 0]))
    with pytest.raises(ValueError, match=r"xy_b must be a float64 numpy array of shape \(T, B, 2\)"):
        core.pairwise_mahalanobis_sq(xy_a, cov_a, xy_b[0], cov_b[0], block)


def test_close_pairs_are_those_a_brute_force_search_finds():
    from mctrt._native import core
    rng = np.random.default_rng(4)
    xy = rng.uniform(0, 20, (300, 2))
    xy[7] = np.nan  # not placed: in no pair
    a = rng.normal(scale=0.3, size=(300, 2, 2))
    cov = a @ a.transpose(0, 2, 1) + 0.05 * np.eye(2)
    first, second = core.close_pairs(xy, cov, 2.0, 9.0)
    i, j = np.triu_indices(300, 1)
    near = (np.abs(xy[i] - xy[j]) <= 2.0).all(axis=1) & (mahalanobis_sq(xy[i] - xy[j], cov[i] + cov[j]) <= 9.0)
    assert sorted(zip(first.tolist(), second.tolist())) == sorted(zip(i[near].tolist(), j[near].tolist()))
    assert len(first) > 10


def test_track_table_rows_start_fresh_and_are_reused_after_release():
    table = TrackTable({"first": -1, "height": np.nan})
    rows = table.rows(np.array([5, 9]))
    table["first"][rows] = [10, 20]
    assert table["first"][table.rows(np.array([9, 5]))].tolist() == [20, 10] and len(table) == 2
    table.release([5])
    new = table.rows(np.array([11]))
    assert table["first"][new].tolist() == [-1] and 5 not in table
    many = table.rows(np.arange(100, 200))  # grows
    assert len(set(many.tolist())) == 100 and np.isnan(table["height"][many]).all()


def test_reid_schedule_embeds_new_tracks_then_every_n_frames_on_good_boxes_only():
    schedule = ReidScheduler(ReidScheduleConfig(every_n_frames=5, min_box_height=50, max_wait_frames=4))
    good, small = (100, 100, 140, 200), (300, 100, 320, 130)
    plan = schedule.plan("a", 1, IMAGE, tracks(good, small))
    assert plan.due.tolist() == [True, False] and plan.give_up.tolist() == [False, False]
    assert schedule.plan("a", 3, IMAGE, tracks(good, small)).due.tolist() == [False, False]
    plan = schedule.plan("a", 6, IMAGE, tracks(good, small))  # 5 frames later (frames 4 and 5 were dropped)
    assert plan.due.tolist() == [True, False] and plan.give_up.tolist() == [True, True]
    assert schedule.plan("b", 6, IMAGE, tracks(good)).due.tolist() == [True]  # cameras apart


def test_reid_schedule_forgets_removed_tracks_and_without_a_model_nobody_waits():
    schedule = ReidScheduler(ReidScheduleConfig(every_n_frames=5))
    schedule.plan("a", 1, IMAGE, tracks((100, 100, 140, 200)))
    assert schedule.plan("a", 2, IMAGE, tracks(ids=[], removed=[1])).due.tolist() == []
    off = ReidScheduler(enabled=False).plan("a", 1, IMAGE, tracks((100, 100, 140, 200)))
    assert off.due.tolist() == [False] and off.give_up.tolist() == [True]


def test_floor_layout_places_calibrated_cameras_their_views_and_the_floor_zones(tmp_path):
    lens = {"intrinsics": [[500, 0, 320], [0, 500, 240], [0, 0, 1]], "distortion": [],
            "world_to_camera": [[1, 0, 0, 0], [0, 0, -1, 2.5], [0, 1, 0, 3], [0, 0, 0, 1]]}  # 2.5 m up, looking along +y
    config = config_from_dict({
        "inputs": [{"camera_id": "lens", "path": "a.mp4", "calibration": lens},
                   {"camera_id": "plain", "path": "b.mp4"}],
        "modules": {"detector": {"model": "m.onnx"}},
        "events": {"zones": [{"name": "desk", "polygon_m": [[0, 1], [1, 1], [1, 2]]}],
                   "lines": [{"name": "door", "points_m": [[0, 5], [1, 5]]}]}}, tmp_path)
    layout = floor_layout(config, {"lens": (640, 480)})
    lens_cam, plain = layout["cameras"]
    assert lens_cam["position"] == [0.0, -3.0] and lens_cam["height_m"] == 2.5 and len(lens_cam["view"]) > 10
    assert all(y > -3.0 for _, y in lens_cam["view"])  # the camera sees the floor in front of it
    assert plain == {"camera_id": "plain", "calibrated": False, "position": None, "height_m": None, "view": []}
    assert layout["zones"][0]["name"] == "desk" and layout["lines"][0]["points_m"] == [[0.0, 5.0], [1.0, 5.0]]
    x0, y0, x1, y1 = layout["bounds"]
    assert x0 <= 0 and y0 <= -3.0 and y1 >= 5.0


def test_cameras_placed_together_keep_their_own_tracks_and_lenses():
    """Two cameras in one pass: the same track ID in each is two tracks, and each camera's own
    calibration (one with a lens that distorts) places its boxes."""
    lens = CameraCalibration.from_lens([[500, 0, 320], [0, 500, 240], [0, 0, 1]], [-0.3, 0.1, 0, 0, 0],
                                       [[1, 0, 0, 0], [0, 0, -1, 2.5], [0, 1, 0, 3], [0, 0, 0, 1]])
    locator = FootLocator({"tilted": TILTED, "lens": lens})
    box = tracks((300, 300, 340, 440))
    tilted, lensed = locator.locate([CameraFrame("tilted", box, IMAGE, 0.0), CameraFrame("lens", box, IMAGE, 0.0)])
    assert np.allclose(tilted.xy, TILTED.to_floor([[320, 440]])) and np.allclose(lensed.xy, lens.to_floor([[320, 440]]))
    # the lens camera's track 1 is cut at the bottom next: only its own last full height may be used
    cut = tracks((300, 350, 340, 480))
    again = locator.locate([CameraFrame("lens", cut, IMAGE, 0.1)])[0]
    assert again.estimated[0] and np.allclose(again.xy, lens.to_floor([[320, 490]]))


def posed_camera(position=(0.0, -6.0, 3.0), tilt_deg=25.0) -> CameraCalibration:
    """A camera (by default 3 m up at (0, -6)) looking along +y and tilt_deg down, without distortion."""
    tilt = np.radians(tilt_deg)
    forward, right = np.array([0.0, np.cos(tilt), -np.sin(tilt)]), np.array([1.0, 0.0, 0.0])
    rotation = np.stack([right, np.cross(forward, right), forward])  # rows: the camera's x (right), y (down), z
    pose = np.eye(4)
    pose[:3, :3], pose[:3, 3] = rotation, -rotation @ np.array(position)
    return CameraCalibration.from_lens([[800.0, 0.0, 640.0], [0.0, 800.0, 360.0], [0.0, 0.0, 1.0]], [], pose)


def project(camera: CameraCalibration, points: np.ndarray) -> np.ndarray:
    """World points (N, 3) -> pixels (N, 2)."""
    seen = (camera.world_to_camera[:3, :3] @ points.T).T + camera.world_to_camera[:3, 3]
    pixels = (camera.intrinsics @ seen.T).T
    return pixels[:, :2] / pixels[:, 2:]


def test_floor_below_a_point_seen_at_a_height_is_where_it_stands():
    camera = posed_camera()
    points = np.array([[0.5, 2.0, 1.6], [-1.0, 4.0, 1.2], [2.0, 0.0, 0.0]])
    for point in points:
        assert np.allclose(camera.floor_below(project(camera, point[None]), point[2]), point[None, :2], atol=1e-9)
    assert np.isnan(camera.floor_below([[640.0, 0.0]], 3.5)).all()  # that high, the view's top row never gets there
    with pytest.raises(ValueError, match="pose"):
        TILTED.floor_below([[0.0, 0.0]], 1.6)


def person_box(camera: CameraCalibration, x: float, y: float, height: float, visible: float = 1.0) -> tuple:
    """The box (x0, y0, x1, y1) of a person standing at floor (x, y), its lower part cut to `visible` of its height."""
    (u, top), (_, bottom) = project(camera, np.array([[x, y, height], [x, y, 0.0]]))
    return (u - 0.2 * (bottom - top), top, u + 0.2 * (bottom - top), top + visible * (bottom - top))


def test_legs_hidden_by_a_nearer_person_are_placed_from_the_head_where_the_pose_is_known():
    # lab4cam: a walker behind another showed a half box, placed at its bottom: metres beyond them.
    posed = posed_camera()
    config = FloorAssociationConfig(head_height_m=1.6, head_height_sigma_m=0.25)
    behind = person_box(posed, 0.3, 3.0, 1.6, visible=0.5)  # its bottom is inside the nearer person's box
    front = person_box(posed, 0.35, 1.0, 1.6)
    points = OneCamera(config, posed).locate(tracks(behind, front), (1280, 720), 0.0)
    assert np.allclose(points.xy[0], [0.3, 3.0], atol=1e-6) and points.estimated.tolist() == [True, False]
    along = np.linalg.eigh(points.cov[0])[1][:, -1]  # most uncertain along the line of sight (the height's spread)
    assert abs(along[1]) > 0.95 and np.linalg.eigvalsh(points.cov[0]).max() > 4 * np.linalg.eigvalsh(points.cov[1]).max()
    # without the pose (the same view as a bare homography) the box's bottom stays its foot
    plane = CameraCalibration(posed.image_to_floor, floor_side_w=1.0)
    points = OneCamera(config, plane).locate(tracks(behind, front), (1280, 720), 0.0)
    assert np.allclose(points.xy[0], plane.to_floor([[0.5 * (behind[0] + behind[2]), behind[3]]])[0])
    assert points.xy[0, 1] > 4.0 and not points.estimated[0]


def test_a_posed_camera_places_a_box_cut_by_the_lower_edge_from_the_head():
    posed = posed_camera()
    x0, y0, x1, y1 = person_box(posed, 0.0, -4.0, 1.7)  # near the camera: its feet below the image
    assert y1 > 720
    points = OneCamera(FloorAssociationConfig(head_height_m=1.7), posed).locate(tracks((x0, y0, x1, 720.0)), (1280, 720), 0.0)
    assert points.estimated[0] and np.allclose(points.xy[0], [0.0, -4.0], atol=1e-6)


def test_a_box_behind_a_nearer_person_uses_the_remembered_height_and_does_not_become_it():
    posed = posed_camera()
    locator = OneCamera(FloorAssociationConfig(occlusion_ratio=0.75), posed)
    front = person_box(posed, 0.35, 1.0, 1.8)
    whole = locator.locate(tracks(person_box(posed, 0.3, 3.0, 1.8)), (1280, 720), 0.0).xy[0]
    for k in (1, 2):  # 85 % visible: not shrunk enough to read as hidden legs, but the nearer person hides them
        points = locator.locate(tracks(person_box(posed, 0.3, 3.0, 1.8, visible=0.85), front, ids=[1, 2]), (1280, 720), 0.1 * k)
        assert points.estimated[0] and np.allclose(points.xy[0], whole), k


def test_a_camera_far_from_what_it_sees_keeps_its_view_and_the_site():
    # On a building 40 m from a square, 20 m up: the nearest floor it shows is 21 m away, so a cut
    # 25 m from the camera itself would leave it (and the site) only a sliver of the square.
    camera = posed_camera(position=(0.0, -40.0, 20.0), tilt_deg=20.0)
    view = np.array(field_of_view(camera, (1280, 720)))
    assert view[:, 1].min() < -18.0 and view[:, 1].max() > 5.0
    locator = FootLocator({"far": camera})
    locator.locate([CameraFrame("far", tracks(), (1280, 720), 0.0)])
    assert locator.on_site(np.array([[0.0, 0.0], [0.0, 5.0]])).all()
