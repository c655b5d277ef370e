"""mctrt.lapjv against scipy's linear_sum_assignment: same optimal total on every case."""

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from mctrt import lapjv
from mctrt._native import core


def check_is_matching(cost, row_to_col, col_to_row):
    n, m = cost.shape
    assert row_to_col.shape == (n,) and col_to_row.shape == (m,)
    assert row_to_col.dtype == np.int64 and col_to_row.dtype == np.int64
    for i, j in enumerate(row_to_col):
        if j >= 0:
            assert col_to_row[j] == i
    assert (col_to_row >= 0).sum() == (row_to_col >= 0).sum()


def matched_cost(cost, row_to_col):
    return sum(float(cost[i, j]) for i, j in enumerate(row_to_col) if j >= 0)


def unlimited_cases():
    rng = np.random.default_rng(0)
    yield "square uniform", rng.random((30, 30))
    yield "wide", rng.random((7, 40))
    yield "tall", rng.random((40, 7))
    yield "ties (few distinct values)", rng.integers(0, 3, (25, 25)).astype(np.float64)
    yield "all equal", np.ones((9, 9))
    yield "negative and large", rng.normal(0, 1e6, (20, 23))
    yield "float32", rng.random((31, 17)).astype(np.float32)
    yield "integers", rng.integers(-50, 50, (12, 12))
    yield "1 x N", rng.random((1, 15))
    yield "N x 1", rng.random((15, 1))
    yield "1 x 1", np.array([[4.2]])
    yield "structured (i - j)^2", np.subtract.outer(np.arange(40), rng.permutation(40)).astype(np.float64) ** 2


@pytest.mark.parametrize(("name", "cost"), list(unlimited_cases()), ids=lambda v: v if isinstance(v, str) else "")
def test_total_cost_equals_scipy(name, cost):
    row_to_col, col_to_row = lapjv(cost)
    check_is_matching(cost, row_to_col, col_to_row)
    assert (row_to_col >= 0).sum() == min(cost.shape)
    rows, cols = linear_sum_assignment(cost.astype(np.float64))
    assert matched_cost(cost, row_to_col) == pytest.approx(float(cost.astype(np.float64)[rows, cols].sum()), rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("seed", range(40))
def test_random_shapes_equal_scipy(seed):
    rng = np.random.default_rng(seed)
    cost = rng.random((rng.integers(1, 60), rng.integers(1, 60)))
    row_to_col, col_to_row = lapjv(cost)
    check_is_matching(cost, row_to_col, col_to_row)
    rows, cols = linear_sum_assignment(cost)
    assert matched_cost(cost, row_to_col) == pytest.approx(cost[rows, cols].sum(), rel=1e-12)


def extended_optimum(cost, limit):
    """What a cost-limited assignment minimises, solved by scipy on the (n+m) x (n+m) extension."""
    n, m = cost.shape
    ext = np.full((n + m, n + m), limit / 2.0)
    ext[n:, m:] = 0.0
    ext[:n, :m] = np.minimum(cost, 1e300)  # scipy rejects inf; any cost above the limit is never chosen
    rows, cols = linear_sum_assignment(ext)
    return ext[rows, cols].sum()


@pytest.mark.parametrize("seed", range(30))
@pytest.mark.parametrize("quantile", [0.05, 0.3, 0.7])
def test_cost_limit_equals_the_extended_problem(seed, quantile):
    rng = np.random.default_rng(100 + seed)
    cost = rng.random((rng.integers(1, 30), rng.integers(1, 30)))
    limit = float(np.quantile(cost, quantile))
    row_to_col, col_to_row = lapjv(cost, cost_limit=limit)
    check_is_matching(cost, row_to_col, col_to_row)
    assert all(cost[i, j] < limit for i, j in enumerate(row_to_col) if j >= 0)
    unmatched = (row_to_col < 0).sum() + (col_to_row < 0).sum()
    assert matched_cost(cost, row_to_col) + limit / 2 * unmatched == pytest.approx(extended_optimum(cost, limit), rel=1e-12)


def test_cost_limit_with_ties_at_the_limit_leaves_pairs_unmatched():
    cost = np.array([[0.5, 0.5], [0.5, 0.5]])
    row_to_col, col_to_row = lapjv(cost, cost_limit=0.5)
    assert row_to_col.tolist() == [-1, -1] and col_to_row.tolist() == [-1, -1]


def test_infinite_costs_are_forbidden_pairs_under_a_limit():
    inf = np.inf
    cost = np.array([[inf, 1.0, inf], [2.0, inf, inf], [inf, inf, inf]])
    row_to_col, col_to_row = lapjv(cost, cost_limit=10.0)
    assert row_to_col.tolist() == [1, 0, -1]
    assert col_to_row.tolist() == [1, 0, -1]


def test_cost_limit_below_every_cost_matches_nothing():
    row_to_col, _ = lapjv(np.full((4, 6), 3.0), cost_limit=1.0)
    assert (row_to_col == -1).all()


@pytest.mark.parametrize("shape", [(0, 0), (0, 5), (5, 0)])
def test_empty_matrices_match_nothing(shape):
    row_to_col, col_to_row = lapjv(np.zeros(shape))
    assert row_to_col.shape == (shape[0],) and col_to_row.shape == (shape[1],)
    assert (row_to_col == -1).all() and (col_to_row == -1).all()


@pytest.mark.parametrize(
    ("cost", "kwargs", "message"),
    [
        (np.array([[1.0, np.nan]]), {}, r"cost\[0, 1\] is NaN"),
        (np.array([[1.0], [-np.inf]]), {}, r"cost\[1, 0\] is -inf"),
        (np.array([[np.inf, 1.0]]), {}, r"cost\[0, 0\] is \+inf; to forbid a pair, pass a finite cost_limit"),
        (np.zeros(3), {}, r"cost must be a float64 numpy array of shape \(N, M\); got float64 array of shape \(3,\)"),
        (np.zeros((2, 2), dtype=complex), {}, "cost must be a real-valued"),
        ([[1.0, 2.0]], {}, "got a list"),
        (np.zeros((2, 2)), {"cost_limit": np.nan}, "cost_limit is NaN"),
    ],
)
def test_bad_input_raises_value_error(cost, kwargs, message):
    with pytest.raises(ValueError, match=message):
        lapjv(cost, **kwargs)


def limited_objective(cost, limit, row_to_col, col_to_row):
    unmatched = (row_to_col < 0).sum() + (col_to_row < 0).sum()
    return matched_cost(cost, row_to_col) + limit / 2 * unmatched


def test_search_ending_at_unmatched_keeps_duals_right():
    # Found by fuzzing: the shortest path ended at "unmatched" while the search had already moved on
    # to a farther distance level, and the stale level corrupted the duals of the scanned columns.
    inf = np.inf
    cost = np.array([
        [inf, inf, 1.84111, 0.182196, 0.261422, 0.523496],
        [0.122788, inf, inf, 1.88458, inf, inf],
        [inf, 1.50665, 1.76226, 0.289312, 1.50691, 0.12051],
        [0.843864, inf, inf, inf, 0.266726, 0.299652],
        [inf, 1.4799, inf, inf, 0.513804, 0.21564],
        [0.217228, 1.31183, 1.74494, 0.257634, 0.594298, 0.165214],
    ])
    row_to_col, col_to_row = lapjv(cost, cost_limit=1.0)
    assert limited_objective(cost, 1.0, row_to_col, col_to_row) == pytest.approx(extended_optimum(cost, 1.0), rel=1e-12)


@pytest.mark.parametrize("kind", ["integer ties", "forbidden pairs", "integer ties and forbidden pairs"])
def test_cost_limit_on_many_small_hard_problems(kind):
    rng = np.random.default_rng(sum(map(ord, kind)))
    for _ in range(3000):
        n, m = rng.integers(1, 8, 2)
        cost = rng.integers(0, 5, (n, m)).astype(np.float64) if "integer" in kind else rng.random((n, m)) * 2
        if "forbidden" in kind:
            cost[rng.random((n, m)) < 0.4] = np.inf
        limit = float(rng.choice([1.0, 2.0, 2.5, 3.0]))
        row_to_col, col_to_row = lapjv(cost, cost_limit=limit)
        check_is_matching(cost, row_to_col, col_to_row)
        got = limited_objective(cost, limit, row_to_col, col_to_row)
        assert got == pytest.approx(extended_optimum(cost, limit), rel=1e-12), (cost.tolist(), limit)


def test_minus_infinite_limit_matches_nothing():
    row_to_col, col_to_row = lapjv(np.zeros((3, 3)), cost_limit=-np.inf)
    assert (row_to_col == -1).all() and (col_to_row == -1).all()


@pytest.mark.parametrize("seed", range(20))
def test_sparse_form_equals_the_dense_one(seed):
    rng = np.random.default_rng(500 + seed)
    n, m = rng.integers(1, 40, 2)
    cost = np.where(rng.random((n, m)) < 0.15, rng.random((n, m)), np.inf)
    rows, cols = np.nonzero(np.isfinite(cost))
    limit = 0.7
    sparse = core.lapjv_sparse(rows.astype(np.int64), cols.astype(np.int64), cost[rows, cols], n, m, limit)
    dense = lapjv(cost, cost_limit=limit)
    check_is_matching(cost, *sparse)
    assert limited_objective(cost, limit, *sparse) == pytest.approx(limited_objective(cost, limit, *dense), rel=1e-12)
    assert limited_objective(cost, limit, *sparse) == pytest.approx(extended_optimum(cost, limit), rel=1e-12)


def test_sparse_form_rejects_entries_outside_the_problem():
    with pytest.raises(ValueError, match=r"entry 0 = \(3, 0\) is outside the 2 x 2 problem"):
        core.lapjv_sparse(np.array([3]), np.array([0]), np.array([0.5]), 2, 2, 1.0)
