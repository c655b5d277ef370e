"""Metrics: stage times are kept per stage and can be forgotten (a benchmark's warm-up steps)."""

from mctrt.metrics import STAGES, Metrics


def test_reset_stages_forgets_every_stage_time_and_keeps_the_rest():
    metrics = Metrics()
    metrics.stage(STAGES[0], 0.004)
    metrics.stage(STAGES[0], 0.006)
    metrics.result("cam", capture_ts=1.0, now=1.05)
    assert metrics.snapshot()["stages"][STAGES[0]]["count"] == 2
    metrics.reset_stages()
    metrics.stage(STAGES[0], 0.010)
    stages = metrics.snapshot()["stages"]
    assert set(stages) == set(STAGES) and stages[STAGES[0]]["count"] == 1
    assert all(stages[name]["count"] == 0 for name in STAGES[1:])
    assert metrics.frames == {"cam": 1}  # frames and latencies are not stage times
