"""The C++ Kalman filter against the plain numpy one (reference_kalman.py)."""

import numpy as np
import pytest
import reference_kalman as ref

from mctrt import KalmanFilter

RTOL, ATOL = 1e-10, 1e-9


def random_xyah(rng, n=None):
    shape = (4,) if n is None else (n, 4)
    xyah = rng.uniform([0, 0, 0.2, 20], [1000, 600, 0.8, 300], size=shape)
    return xyah.astype(np.float64)


@pytest.fixture
def kf():
    return KalmanFilter()


def test_noise_weights_are_bytetracks(kf):
    assert (kf.std_weight_position, kf.std_weight_velocity) == (ref.STD_WEIGHT_POSITION, ref.STD_WEIGHT_VELOCITY)
    assert kf.velocity_noise == ref.STD_WEIGHT_VELOCITY  # unless a tracker's config asks for another


@pytest.mark.parametrize("seed", range(5))
def test_a_track_lifetime_matches_the_reference(kf, seed):
    """initiate, then a random mix of predict and update steps, comparing the state after each."""
    rng = np.random.default_rng(seed)
    xyah = random_xyah(rng)
    mean, cov = kf.initiate(xyah)
    ref_mean, ref_cov = ref.initiate(xyah)
    np.testing.assert_allclose(mean, ref_mean, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(cov, ref_cov, rtol=RTOL, atol=ATOL)
    for _ in range(60):
        mean, cov = kf.predict(mean, cov)
        ref_mean, ref_cov = ref.predict(ref_mean, ref_cov)
        if rng.random() < 0.7:  # a detection arrives
            z = ref_mean[:4] + rng.normal(0, [3, 3, 0.02, 4])
            mean, cov = kf.update(mean, cov, z)
            ref_mean, ref_cov = ref.update(ref_mean, ref_cov, z)
        np.testing.assert_allclose(mean, ref_mean, rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(cov, ref_cov, rtol=1e-8, atol=1e-8)


def test_project_matches_the_reference(kf):
    rng = np.random.default_rng(7)
    mean, cov = ref.predict(*ref.initiate(random_xyah(rng)))
    got_mean, got_cov = kf.project(mean, cov)
    want_mean, want_cov = ref.project(mean, cov)
    np.testing.assert_allclose(got_mean, want_mean, rtol=RTOL)
    np.testing.assert_allclose(got_cov, want_cov, rtol=RTOL)


def test_multi_predict_equals_predict_one_by_one(kf):
    rng = np.random.default_rng(3)
    states = [kf.predict(*kf.initiate(random_xyah(rng))) for _ in range(6)]
    means = np.stack([m for m, _ in states])
    covs = np.stack([c for _, c in states])
    got_means, got_covs = kf.multi_predict(means, covs)
    for k, (m, c) in enumerate(states):
        want_m, want_c = kf.predict(m, c)
        np.testing.assert_array_equal(got_means[k], want_m)
        np.testing.assert_array_equal(got_covs[k], want_c)


@pytest.mark.parametrize("only_position", [False, True])
def test_gating_distance_matches_the_reference(kf, only_position):
    rng = np.random.default_rng(11)
    mean, cov = ref.predict(*ref.initiate(random_xyah(rng)))
    measurements = mean[:4] + rng.normal(0, [10, 10, 0.05, 8], size=(20, 4))
    got = kf.gating_distance(mean, cov, measurements, only_position)
    want = ref.gating_distance(mean, cov, measurements, only_position)
    np.testing.assert_allclose(got, want, rtol=1e-9)


def test_methods_do_not_modify_their_arguments(kf):
    mean, cov = kf.initiate(np.array([10.0, 20.0, 0.5, 100.0]))
    mean_copy, cov_copy = mean.copy(), cov.copy()
    kf.predict(mean, cov)
    kf.update(mean, cov, np.array([12.0, 21.0, 0.5, 101.0]))
    np.testing.assert_array_equal(mean, mean_copy)
    np.testing.assert_array_equal(cov, cov_copy)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda kf: kf.initiate(np.zeros(3)), r"xyah must be a float64 numpy array of shape \(4,\)"),
        (lambda kf: kf.predict(np.zeros(8), np.zeros((8, 7))), r"covariance must be a float64 numpy array of shape \(8, 8\)"),
        (lambda kf: kf.multi_predict(np.zeros((2, 8)), np.zeros((3, 8, 8))), "covariances has 3 rows but means has 2"),
        (lambda kf: kf.update(np.zeros(8), np.zeros((8, 8)), np.zeros(4)), "covariance is degenerate"),
    ],
)
def test_bad_shapes_raise_value_error(kf, call, message):
    with pytest.raises(ValueError, match=message):
        call(kf)


def test_predicting_dt_frames_ahead_is_the_reference_with_f_and_q_for_dt(kf):
    """dt frames ahead: F moves positions by dt times the velocities and Q is dt times one frame's;
    dt = 1 is exactly the per-frame step."""
    rng = np.random.default_rng(7)
    mean, cov = kf.initiate(random_xyah(rng))
    mean, cov = kf.update(*kf.predict(mean, cov), random_xyah(rng))
    np.testing.assert_array_equal(kf.predict(mean, cov, 1.0)[0], kf.predict(mean, cov)[0])
    np.testing.assert_array_equal(kf.predict(mean, cov, 1.0)[1], kf.predict(mean, cov)[1])
    dt = 2.5
    f = np.eye(8)
    f[:4, 4:] = dt * np.eye(4)
    _, one_frame_cov = ref.predict(mean, np.zeros((8, 8)))  # Q of one frame, for this height
    got_mean, got_cov = kf.predict(mean, cov, dt)
    np.testing.assert_allclose(got_mean, f @ mean, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(got_cov, f @ cov @ f.T + dt * one_frame_cov, rtol=RTOL, atol=ATOL)
    with pytest.raises(ValueError, match="dt must be a finite number of frames >= 0"):
        kf.predict(mean, cov, -1.0)
