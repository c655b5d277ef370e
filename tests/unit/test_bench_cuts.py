"""The random cuts of benchmarks/bench_identity_many.py: the instrument settings are chosen with must
never hold a held-out split, and its check cuts (--check) must never hold a tuning cut."""

import sys
from pathlib import Path

import numpy as np

BENCHMARKS = str(Path(__file__).resolve().parents[2] / "benchmarks")
if BENCHMARKS not in sys.path:  # the benchmark imports its neighbours by name
    sys.path.insert(0, BENCHMARKS)

from bench_identity_many import HELD_OUT, NEAR_PX, edges, random_cuts  # noqa: E402

WIDTH = 768  # PETS09-S2L1's


def near_held_out(strips: str) -> bool:
    mine = np.array(edges(strips))
    return any(len(mine) == len(edges(h)) and np.abs(mine - edges(h)).max() <= NEAR_PX for h in HELD_OUT)


def test_no_cut_lies_near_a_held_out_split():
    for cuts in (random_cuts(400, WIDTH), random_cuts(200, WIDTH, overlapping=True)):
        assert cuts
        assert not [name for name, (strips, _) in cuts.items() if near_held_out(strips)]


def test_check_cuts_are_new_draws_and_leave_the_tuning_cuts_as_they_were():
    tuning, more = random_cuts(200, WIDTH), random_cuts(400, WIDTH)
    assert 60 <= len(tuning) <= 110
    assert {name: more[name] for name in tuning} == tuning  # drawing further changes no tuning cut
    check = {name: cut for name, cut in more.items() if name not in tuning}
    assert len(check) >= 50 and all(int(name[1:]) >= 200 for name in check)
    assert not set(map(str, check.values())) & set(map(str, tuning.values()))
