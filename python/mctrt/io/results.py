"""Offline results: DIR/<camera_id>.txt (MOTChallenge rows with global IDs), DIR/world.txt (floor
positions) and DIR/events.jsonl.

Written as the run goes, so that a run that is killed leaves what it had done: each step's rows
with the global ID they had then (rows without one are held back: a track still waiting for an ID,
or one whose link is in doubt, CrossCameraAssociator.in_doubt), its floor positions
and its events, flushed step by step. Every row is also kept (a long run's settle, below), and at
close() the files are rewritten (each replaced whole, never left half-written) with the final IDs:
- a track's rows held back take the ID it had next (the time it waited for re-ID or for a clear
  floor match is part of the same person's track; a link in doubt ends with the same ID, or with
  another once the association detached the track: its tracker had switched people when the doubt
  began), or, where it had none later, the one before; a track that never had one is left out;
- corrections (rename(old, new), the `id_corrected` events) apply to every row, chains included;
- an ID is one box per camera and frame: where a held track's rows, given an ID afterwards, fall
  in frames in which its camera already showed that ID on another track (it joined a person whose
  track had ended, and the two had overlapped while it waited), those rows are left out; where two
  rows still share an ID, the one that had it at the time, then the higher score, is kept;
- where one ID's rows in a camera stop for at most fill_gaps_frames frames and go on, the frames
  between get linearly interpolated boxes with a score of 0 (`output.fill_gaps_s`), unless the box
  before or after the gap reaches its image's border (within border_margin_px: the person may have
  left the view meanwhile) or the two images differ in size; live, frames dropped while busy are
  such gaps too;
- each box is then the mean of its ID's boxes in the camera over smooth_frames frames either side
  (those in its run of consecutive frames: `output.smooth_s`), which takes the detector's jitter
  out of a person's walk;
- with `relink` (`output.relink`), each link across a gap in a person's floor positions is judged
  again with what came after it (association/relink.py): where swapping two hand-offs makes both the
  people's motion and their looks (the re-ID embeddings add() was given) agree better, or a person
  who began a new ID is clearly one who had vanished, the rows from there on take the other ID;
  only in a run none of whose rows settled (it reads the whole run);
- each file is sorted by frame, then ID (a later stretch after an earlier one);
- world.txt likewise, counted in steps (offline, a step is a frame): where one ID's positions stop
  for at most fill_gaps_frames steps and go on, the steps between in which a camera file (filled rows
  included) shows the ID get positions on the line between (not the steps it spent unseen, in a blind
  gap between views); then each position is the mean of the ID's positions up to smooth_frames either
  side in its consecutive steps.
A track is told apart from a later one of the same number (a restarted worker numbers its tracks
from 1 again) by the tracker's removals, which add() is given; where a camera's frame numbers go
back (a restarted worker, a file played again), its rows start a new stretch, and no row is
compared with one of another stretch.
After a kill, events.jsonl's `id_corrected` events say which IDs had become which.

A long run does not hold all its rows: every sixtieth of settle_after_steps, the rows of steps that
old are settled, that is given their final form as above (a camera's up to the frame it had then,
filled rows included, so that its file stays in frame order), appended to DIR/.mctrt-settled/, and
let go but for the few that later rows are filled and smoothed from. A settling runs on the writer's
own thread, from a copy of the rows and corrections at its step, so that a live step does not wait
for it (one at a time: the next waits for the last; one that fails is logged, what it had half
appended to a file is cut off, and the next, or close(), settles its rows). The final form comes from the
rows held then, which reach far enough past those steps for the filling, the smoothing and a held
row's ID (a track waiting over WAIT_STEPS for its first, or half of a shorter settle_after_steps,
loses its earlier rows; a link in doubt as long keeps the ID it had before). close() settles the rest
and puts each settled file in its place. The files are then the same as if every row had been kept
(tested with dropped frames, a camera in every other step and a restart), except where a correction
comes after rows were settled: it neither renames those nor fills or smooths across them.

world.txt has one row per person and step while a calibrated camera sees them:
`time,frame,global_id,x,y` (scene seconds, the step's frame number, floor metres), in the order of
the steps, then ID (that is by time, but for a step a live central let through late; and not by
frame: live, cameras' frame numbers drift apart, so two steps may carry one frame number); where a
correction joined two IDs that both had floor tracks, the surviving ID's positions are kept.
A camera whose frames resume after a silence of more than four times fill_gaps_frames +
smooth_frames steps (a stream that reconnected) starts a new stretch too.

A run into a folder that holds an earlier run's results moves those into DIR/previous-<time>/
first (and logs it): a rerun never overwrites them. A run lists its files in DIR/.mctrt-results, so that
only those move: other files there (ground truth, notes) stay.
"""

from __future__ import annotations

import bisect
import contextlib
import json
import logging
import os
import shutil
import time
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from mctrt.association.relink import pieces_of, relabelled, relinked, rows_in_pieces, spans
from mctrt.boxes import clear_of_border, tlwh_to_xyxy, xyxy_to_tlwh
from mctrt.events import corrected_id
from mctrt.io.mot import MOT_FORMAT, csv_text, result_rows, write_mot
from mctrt.io.paths import write_in_one_step

log = logging.getLogger(__name__)

WORLD_HEADER = "time,frame,global_id,x,y"
MANIFEST = ".mctrt-results"  # the names of the files a run writes into its folder, for the next run to move
WORLD_FORMAT = ["%.3f", "%d", "%d", "%.3f", "%.3f"]
_NO_IDS = np.zeros(0, np.int64)
# Kept beside each MOT row (columns 0-9) until it is settled: its camera's stretch, its image's size
# and the writer's step it came in; the rows _ids_for_held_rows makes add its track's life (add()),
# which the blocks hold in their first column.
_STRETCH, _WIDTH, _HEIGHT, _STEP, _LIFE = 10, 11, 12, 13, 14
WAIT_STEPS = 100  # settling: the longest a track is expected to wait for its first global ID, in steps
SETTLED = ".mctrt-settled"  # a folder in DIR for the rows already final, while the run goes
_PERSON = [1, _STRETCH, _WIDTH, _HEIGHT]  # rows filled or smoothed together: one ID, stretch and image size


class ResultWriter:
    def __init__(self, output_dir: str | Path, camera_ids: list[str], fill_gaps_frames: int = 0,
                 border_margin_px: float = 2.0, smooth_frames: int = 0, settle_after_steps: int = 0,
                 relink: bool = False) -> None:
        self.dir = Path(output_dir)
        # re-ID embeddings for relinking at close(), a block per add(): their (track life, step) keys
        # (_pair_key) and the vectors times 127 in int8 (a mean's direction is all that is read, and a
        # long run holds one a second of each track); None: not relinked
        self._looks: list[tuple[np.ndarray, np.ndarray]] | None = [] if relink else None
        self._highest_id = 0  # the highest global ID given or renamed, above which the relinking numbers new ones
        self.relinked = 0  # stretches of rows (association/relink.py's pieces) the relinking gave another ID
        self.border_margin_px = border_margin_px
        self._settled_to = -1  # world rows of steps up to this one are in the settled files
        self._settler: ThreadPoolExecutor | None = None  # the thread settlings run on, from the first one
        self._settling: Future | None = None  # the settling in flight; its result: what to let go
        self.set_windows(fill_gaps_frames, smooth_frames, settle_after_steps)
        self.filled = 0  # rows the gap filling added to the files
        # (stretch, last frame, its step) of each camera
        self._stretch: dict[str, tuple[int, int, int]] = {cam: (0, 0, 0) for cam in camera_ids}
        self.dir.mkdir(parents=True, exist_ok=True)
        names = [f"{cam}.txt" for cam in camera_ids] + ["world.txt", "events.jsonl"]
        self.previous = _keep_previous(self.dir, names)
        (self.dir / MANIFEST).write_text("\n".join(names) + "\n", encoding="utf-8")
        self._blocks: dict[str, list[np.ndarray]] = {cam: [] for cam in camera_ids}  # (track life, MOT row, extras)
        # each block's step and (stretch, frame) key (_pair_key): both grow block by block, so bisect finds windows
        self._block_steps: dict[str, list[int]] = {cam: [] for cam in camera_ids}
        self._block_keys: dict[str, list[int]] = {cam: [] for cam in camera_ids}
        self._lives: dict[str, dict[int, int]] = {cam: {} for cam in camera_ids}  # each live track's life number
        self._last_id: dict[int, int] = {}  # each live track life's latest global ID
        self._next_life = 1
        self._world: list[np.ndarray] = []  # (time, frame, ID, x, y, step)
        self._renamed: dict[int, int] = {}
        self._steps = 0  # steps ended (add_positions), the clock of settling
        self._settled_key = {cam: -1 for cam in camera_ids}  # and each camera's rows up to this (stretch, frame) key
        self._closed = False
        self._settled_dir = self.dir / SETTLED
        if self._settled_dir.is_dir():  # a killed run's rows already final: kept with the rest of its files
            leftover = self.previous or self.dir / time.strftime("previous-%Y%m%d-%H%M%S", time.gmtime())
            leftover.mkdir(exist_ok=True)
            os.replace(self._settled_dir, leftover / SETTLED)
            log.warning("%s held a killed run's settled rows (%s): moved into %s", self.dir, SETTLED, leftover)
        # The files as the run goes (closed, then replaced, in close()).
        self._rows = {cam: open(self.dir / f"{cam}.txt", "w", encoding="utf-8") for cam in camera_ids}  # noqa: SIM115
        self._world_file = open(self.dir / "world.txt", "w", encoding="utf-8")  # noqa: SIM115
        self._world_file.write(WORLD_HEADER + "\n")
        self._events = open(self.dir / "events.jsonl", "w", encoding="utf-8")  # noqa: SIM115

    @property
    def windows_fixed(self) -> bool:
        """Whether rows were settled (or are being), after which set_windows() refuses."""
        return self._settler is not None

    def set_windows(self, fill_gaps_frames: int, smooth_frames: int, settle_after_steps: int,
                    cameras: Mapping[str, tuple[int, int]] | None = None) -> None:
        """The windows: in steps for world.txt and the settling, and in frames for the cameras, each
        (fill_gaps_frames, smooth_frames) in `cameras` or else those given for the steps. They may
        change until the first settling (the scene sets them once it knows the cameras' frame rates)."""
        if self.windows_fixed:
            raise RuntimeError("the results' windows cannot change once rows were settled")
        self.fill_gaps_frames, self.smooth_frames = fill_gaps_frames, smooth_frames
        self._camera_windows = dict(cameras or {})
        # a settled row needs the rows that fill its gaps and smooth it, and theirs: this many frames or steps
        self._margin = max(fill + smooth + 1 for fill, smooth in [(fill_gaps_frames, smooth_frames),
                                                                  *self._camera_windows.values()])
        # settled in sixtieths (10 s at the defaults), each settling a short pause in a live run
        self._settle_every = max(1, settle_after_steps // 60)
        # the later steps a settling looks at: a camera in only one step in four still shows `margin`
        # frames there, and a track that waits up to WAIT_STEPS more for its first ID (re-ID waits
        # modules.reid.max_wait_frames, 30 by default; half the steps of a shorter settling) gets it
        # on its earlier rows (a link in doubt lasts split_after_s at most, a few steps); they must exist
        self._lookahead = self._settle_every + 4 * self._margin + min(WAIT_STEPS, settle_after_steps // 2)
        self.settle_after_steps = settle_after_steps and max(settle_after_steps, self._lookahead + self._settle_every)

    def add(self, camera_id: str, frame: int, global_ids: np.ndarray, track_ids: np.ndarray, xyxy: np.ndarray,
            scores: np.ndarray, removed_ids: np.ndarray = _NO_IDS, image_size: tuple[int, int] | None = None,
            embedded: np.ndarray | None = None, embeddings: np.ndarray | None = None) -> None:
        """One camera's tracks in one frame; global_ids (M,) are 0 for rows held back (a track still
        waiting for one, or one whose link is in doubt);
        removed_ids: the tracks the tracker ended in this frame (Tracks.removed_id); image_size: the
        frame's (width, height), for the gap filling's border rule (without it, gaps are filled up to
        the border too); embedded (M,) bool and embeddings (M, D): the rows re-ID embedded in this frame,
        for the relinking."""
        stretch, last, last_step = self._stretch[camera_id]
        # a new stretch where the frame numbers go back, or after a silence (a stream that reconnected:
        # its frames counted on, though time went by, so rows across it are not filled or smoothed)
        silent = self._steps - last_step > 4 * self._margin and last > 0
        self._stretch[camera_id] = (stretch + (frame < last or silent), frame, self._steps)
        lives = self._lives[camera_id]
        for tid in removed_ids.tolist():
            self._last_id.pop(lives.pop(tid, 0), None)
        if len(track_ids):
            life = [lives.setdefault(tid, self._next_life + k) for k, tid in enumerate(track_ids.tolist())]
            self._next_life += len(life)  # some numbers go unused: only their order and uniqueness matter
            rows = result_rows(frame, global_ids, xyxy, scores)
            self._highest_id = max(self._highest_id, int(global_ids.max()))
            last = self._last_id
            for k, (one, gid) in enumerate(zip(life, global_ids.tolist())):
                if gid > 0:
                    last[one] = gid
                elif one in last:  # held back: minus the ID it had before, kept for when it has none later
                    rows[k, 1] = -last[one]
            extras = [self._stretch[camera_id][0], *(image_size or (0, 0)), self._steps]
            self._blocks[camera_id].append(np.c_[np.array(life, np.float64), rows, np.tile(extras, (len(rows), 1))])
            if self._looks is not None and embeddings is not None and embedded is not None and embedded.any():
                chosen = np.flatnonzero(embedded)
                self._looks.append((_pair_key(np.array(life)[chosen], self._steps),
                                    np.round(embeddings[chosen] * 127).astype(np.int8)))
            self._block_steps[camera_id].append(self._steps)
            self._block_keys[camera_id].append(int(_pair_key(self._stretch[camera_id][0], frame)))
            file = self._rows[camera_id]
            file.write(csv_text(rows[rows[:, 1] > 0], MOT_FORMAT))
            file.flush()

    def add_positions(self, time_s: float, frame: int, positions: list[dict]) -> None:
        """Floor positions of one step (dicts with global_id, x, y); the step's last call."""
        if positions:
            rows = np.array([[time_s, frame, p["global_id"], p["x"], p["y"], self._steps] for p in positions])
            self._world.append(rows)
            self._world_file.write(csv_text(rows[:, :5], WORLD_FORMAT))
            self._world_file.flush()
        self._steps += 1
        if self.settle_after_steps and self._steps % self._settle_every == 0 and self._steps > self.settle_after_steps:
            self._settle_in_background(self._steps - 1 - self.settle_after_steps)  # rows settle_after_steps old

    @property
    def held_bytes(self) -> int:
        """The bytes of the rows held in memory (those not yet settled, and their context)."""
        rows = sum(b.nbytes for blocks in self._blocks.values() for b in blocks) + sum(w.nbytes for w in self._world)
        return rows + (sum(keys.nbytes + vectors.nbytes for keys, vectors in self._looks) if self._looks else 0)

    def wait_settled(self) -> None:
        """Wait for the settling in flight, if any (its rows are then in DIR/.mctrt-settled/), and let go
        of the rows it settled; raise its error, if it had one."""
        if self._settling is not None:
            settling, self._settling = self._settling, None
            self._let_go(*settling.result())

    def rename(self, old_global_id: int, new_global_id: int) -> None:
        """old_global_id was corrected into new_global_id: every row of it not yet settled takes the new ID."""
        self._renamed[old_global_id] = new_global_id
        self._highest_id = max(self._highest_id, old_global_id, new_global_id)

    def add_events(self, events: list[dict]) -> None:
        for event in events:
            self._events.write(json.dumps(event) + "\n")
        self._events.flush()

    def close(self) -> None:
        """Rewrite every camera's file and world.txt with the final IDs (see the module docstring)."""
        if self._closed:
            return
        self._closed = True
        for file in [*self._rows.values(), self._world_file]:
            file.close()
        try:
            with contextlib.suppress(Exception):  # logged as it failed; it let nothing go: the last settling writes it
                self.wait_settled()
            if self._settler is not None:
                self._settler.shutdown()
            self._let_go(*self._settle(self._steps, *self._snapshot(), relink=self._looks is not None))
            for cam in self._blocks:
                self._replace(f"{cam}.txt", "")
            self._replace("world.txt", WORLD_HEADER + "\n")
            if self._settled_dir.is_dir():
                self._settled_dir.rmdir()
        finally:
            self._events.close()

    def _snapshot(self) -> tuple[dict, list, dict]:
        """What a settling reads, copied: later steps append to the lists, and corrections come in."""
        blocks = {cam: (list(b), list(self._block_steps[cam]), list(self._block_keys[cam])) for cam, b in self._blocks.items()}
        return blocks, list(self._world), dict(self._renamed)

    def _settle_in_background(self, through_step: int) -> None:
        """_settle on the writer's own thread (at 16 cameras x 30 people, 10 s of rows took a step 375 ms
        to settle on the pipeline's), after the last settling, whose rows are let go first."""
        with contextlib.suppress(Exception):  # logged as it failed; it let nothing go: this one settles its rows too
            self.wait_settled()
        if self._looks is not None:
            log.info("results: the run is longer than output.settle_after_s, so its hand-offs are not relinked at the "
                     "end (the relinking reads a whole run's rows)")
            self._looks = None
        if self._settler is None:
            self._settler = ThreadPoolExecutor(1, thread_name_prefix="mctrt-settle")
        self._settling = self._settler.submit(self._settle, through_step, *self._snapshot())
        self._settling.add_done_callback(self._log_failure)

    def _log_failure(self, settling: Future) -> None:
        """Say at once when a settling failed (its error is raised at the next one, or at close)."""
        if settling.exception() is not None:
            log.error("results: settling rows into %s failed (%s); they stay in memory and are tried again at the "
                      "next settling and at the end of the run", self._settled_dir, settling.exception())

    def _let_go(self, firsts: dict[str, int], through_step: int) -> None:
        """Forget what a settling through through_step left behind: each camera's first blocks, and
        world rows of steps no later one is filled or smoothed from."""
        for cam, first in firsts.items():
            del self._blocks[cam][:first], self._block_steps[cam][:first], self._block_keys[cam][:first]
        self._world = [w for w in self._world if w[0, 5] > through_step - self._margin]

    def _settle(self, through_step: int, blocks_of: dict, world: list, renamed: dict,
                relink: bool = False) -> tuple[dict[str, int], int]:
        """Write the final rows of steps up to through_step to the settled files (a camera's: those up to
        the (stretch, frame) it had then, filled rows included, so that the files stay in frame order),
        from _snapshot's copies, their hand-offs relinked first if `relink` (close(), of a whole run)
        -> (_let_go's arguments: how many of each camera's blocks no later row is filled or smoothed
        from, through_step)."""
        self._settled_dir.mkdir(exist_ok=True)
        upto = through_step + self._lookahead  # the rows that decide theirs
        finals = {}  # each camera's final rows, and the (stretch, frame) key it settles up to
        firsts = {}
        for cam, (blocks, steps, keys) in blocks_of.items():
            last = bisect.bisect_right(steps, through_step) - 1
            boundary = keys[last] if last >= 0 else self._settled_key[cam]
            window = blocks[:bisect.bisect_right(steps, upto)]
            finals[cam] = (self._final_rows(cam, np.concatenate(window) if window else np.empty((0, _STEP + 2)),
                                            renamed), boundary)
            # kept: rows not settled, the frames before the boundary that fill and smooth the next ones,
            # and the steps before it that world.txt's filling looks at
            firsts[cam] = min(bisect.bisect_right(keys, boundary - self._margin), bisect.bisect_right(steps, through_step - self._margin))
        seen = [_id_step_keys(rows) for rows, _ in finals.values()]  # (ID, step) keys the camera files show
        world = [w for w in world if w[0, 5] <= upto]  # a block a step: a few thousand at most
        world = self._final_world(np.concatenate(world) if world else np.empty((0, 6)),
                                  np.concatenate(seen) if seen else _NO_IDS, renamed)
        if relink:
            world = self._relink(finals, world)
        for cam, (rows, boundary) in finals.items():
            key = _pair_key(rows[:, _STRETCH], rows[:, 0])
            rows = rows[(key > self._settled_key[cam]) & (key <= boundary)]
            rows = rows[np.lexsort((rows[:, 1], rows[:, 0], rows[:, _STRETCH]))][:, :_STRETCH]
            _append_whole(self._settled_dir / f"{cam}.txt", csv_text(rows, MOT_FORMAT))
            self._settled_key[cam] = boundary
            self.filled += int(np.count_nonzero(rows[:, 6] == 0))  # a detection never scores 0: a filled row
        world = world[(world[:, 5] > self._settled_to) & (world[:, 5] <= through_step)]
        _append_whole(self._settled_dir / "world.txt", csv_text(world[:, :5], WORLD_FORMAT))
        self._settled_to = through_step
        return firsts, through_step

    def _relink(self, finals: dict[str, tuple[np.ndarray, int]], world: np.ndarray) -> np.ndarray:
        """Hand-offs corrected in hindsight (association/relink.py): the camera rows in `finals` (with
        extras) and world.txt's rows (returned) take the IDs of the relinked pieces. Where it fails, the
        files are written as they are, and the error logged."""
        try:
            pieces = pieces_of(world, self._looks_by_id(finals))
            where = {cam: rows_in_pieces(pieces, rows[:, 1], rows[:, _STEP], rows[:, _LIFE])
                     for cam, (rows, _) in finals.items()}
            span = spans(pieces, list(where.values()), [rows[:, _STEP] for rows, _ in finals.values()])
            changed = relinked(pieces, self._highest_id + 1, span)
        except Exception:  # noqa: BLE001 - the files matter more than the hindsight
            log.exception("results: relinking the hand-offs failed; the files keep the IDs the run gave")
            return world
        if changed:
            for cam, (rows, boundary) in finals.items():
                rows[:, 1] = relabelled(pieces, changed, rows[:, 1], where[cam])
            world[:, 2] = relabelled(pieces, changed, world[:, 2], rows_in_pieces(pieces, world[:, 2], world[:, 5]))
        self.relinked = len(changed)
        return world

    def _looks_by_id(self, finals: dict[str, tuple[np.ndarray, int]]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """ID -> (steps, embeddings) of the camera rows in `finals` that re-ID embedded (filled rows, of
        score 0, never were)."""
        if not self._looks:
            return {}
        keys = np.concatenate([k for k, _ in self._looks])
        order = np.argsort(keys)
        keys, vectors = keys[order], np.concatenate([v for _, v in self._looks])[order]
        found = []  # (ID, step, index into vectors) of each camera's embedded rows
        for rows, _ in finals.values():
            detected = rows[rows[:, 6] > 0]
            wanted = _pair_key(detected[:, _LIFE], detected[:, _STEP])
            at = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
            hit = keys[at] == wanted
            found.append(np.c_[detected[hit, 1], detected[hit, _STEP], at[hit]])
        found = np.concatenate(found)
        found = found[np.argsort(found[:, 0], kind="stable")]
        ids, starts = np.unique(found[:, 0], return_index=True)
        return {int(gid): (part[:, 1], vectors[part[:, 2].astype(np.int64)].astype(np.float32))
                for gid, part in zip(ids, np.split(found, starts[1:]))}

    def _final_rows(self, camera_id: str, blocks: np.ndarray, renamed: dict[int, int]) -> np.ndarray:
        """One camera's rows with their extras, as its file will have them."""
        rows, given_later = _ids_for_held_rows(blocks)
        rows[:, 1] = _final_ids(rows[:, 1], renamed)
        rows = _one_row_per_id_and_frame(rows, given_later)
        size = (rows[:, _WIDTH], rows[:, _HEIGHT])
        at_border = (rows[:, _WIDTH] > 0) & ~clear_of_border(tlwh_to_xyxy(rows[:, 2:6]), size, self.border_margin_px)
        fill, smooth = self._camera_windows.get(camera_id, (self.fill_gaps_frames, self.smooth_frames))
        return _smoothed(_filled_gaps(rows, at_border, fill), smooth)

    def _final_world(self, world: np.ndarray, seen: np.ndarray, renamed: dict[int, int]) -> np.ndarray:
        """world.txt's rows (with their steps), as the file will have them."""
        final = _final_ids(world[:, 2], renamed)
        # A person had two floor tracks until a correction joined them: keep the one that survived.
        survived = final == world[:, 2]
        world[:, 2] = final
        world = world[np.lexsort((~survived, world[:, 2], world[:, 5]))]
        if len(world):  # one position per ID and step
            world = world[np.r_[True, (np.diff(world[:, 5]) != 0) | (np.diff(world[:, 2]) != 0)]]
        world = _world_hindsight(world, seen, self.fill_gaps_frames, self.smooth_frames)
        return world[np.lexsort((world[:, 2], world[:, 5]))]  # in the order of the steps (of time, but for a late step)

    def _replace(self, name: str, header: str) -> None:
        """Replace DIR/name, in one step, by its settled file."""
        settled = self._settled_dir / name

        def write(path: Path) -> None:
            with open(path, "w", encoding="utf-8") as out, open(settled, encoding="utf-8") as rows:
                out.write(header)
                shutil.copyfileobj(rows, out)

        write_in_one_step(self.dir / name, write)
        settled.unlink()


def _append_whole(path: Path, text: str) -> None:
    """Append text to path whole or not at all: a write that fails part way (a full disk) is cut off
    again, so that the settling that retries these rows does not append them after half a line."""
    data = text.encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)
    try:
        start = os.fstat(fd).st_size
        try:
            done = 0
            while done < len(data):
                done += os.write(fd, data[done:])
        except BaseException:
            os.ftruncate(fd, start)
            raise
    finally:
        os.close(fd)


def _final_ids(global_ids: np.ndarray, renamed: dict[int, int]) -> np.ndarray:
    """Each ID as its corrections (old -> new) made it."""
    mapping = {g: corrected_id(g, renamed) for g in np.unique(global_ids).astype(int).tolist()}
    return np.array([mapping[int(g)] for g in global_ids], np.float64) if len(global_ids) else global_ids


def _ids_for_held_rows(blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """MOT rows with their extras (R, 15) from (track life, MOT row, extras) blocks: each row held
    back without an ID (its track waiting for one, or its link in doubt) takes the ID its track had
    next, or where it had none later the one before, and rows of tracks that never had one are
    dropped; and which rows (R,) were given an ID they did not show at the time."""
    if not len(blocks):
        return np.empty((0, blocks.shape[1])), np.zeros(0, bool)
    track, rows = blocks[:, 0], np.c_[blocks[:, 1:], blocks[:, 0]]  # the life last (_LIFE)
    order = np.lexsort((rows[:, _STEP], track))
    track, rows = track[order], rows[order]
    shown = -rows[:, 1]  # of a held row: 0, or the ID its track had before, which live views showed (add())
    held = shown >= 0
    if held.any():
        # the nearest row with an ID at or after each row (rows are by track, then time)
        n, at = len(rows), np.arange(len(rows))
        after = np.minimum.accumulate(np.where(held, n, at)[::-1])[::-1].clip(max=n - 1)
        later = ~held[after] & (track[after] == track)
        rows[:, 1] = np.where(later, rows[after, 1], np.abs(shown))
    kept = rows[:, 1] > 0
    return rows[kept], (held & (rows[:, 1] != shown))[kept]


def _one_row_per_id_and_frame(rows: np.ndarray, given_later: np.ndarray) -> np.ndarray:
    """`rows` (with extras) without a second row of one ID in one frame of one stretch: rows that had
    their ID at the time come first, then higher scores (MOT column 6)."""
    order = np.lexsort((-rows[:, 6], given_later, rows[:, 1], rows[:, 0], rows[:, _STRETCH]))
    rows = rows[order]
    new = (np.diff(rows[:, 0]) != 0) | (np.diff(rows[:, 1]) != 0) | (np.diff(rows[:, _STRETCH]) != 0)
    first = np.r_[True, new] if len(rows) else np.zeros(0, bool)
    return rows[first]


def _person_order(rows: np.ndarray) -> np.ndarray:
    """The order of `rows` (with extras) by ID, stretch, then frame."""
    return np.lexsort((rows[:, 0], rows[:, _STRETCH], rows[:, 1]))


def _same_person(rows: np.ndarray) -> np.ndarray:
    """(R - 1,) bool: whether each row of `rows` (in _person_order) is of the ID, stretch and image size
    of the row before it."""
    return np.all(rows[1:, _PERSON] == rows[:-1, _PERSON], axis=1)


def _filled_gaps(rows: np.ndarray, at_border: np.ndarray, max_gap: int) -> np.ndarray:
    """`rows` (with extras; one per ID, stretch and frame) and, in each gap of 1 to max_gap frames
    between two rows of one ID in one stretch, of images of one size, neither of them `at_border`
    (R,), a row per missing frame: its box on the line between the two, its score 0."""
    if max_gap <= 0 or len(rows) < 2:
        return rows
    order = _person_order(rows)
    rows, at_border = rows[order], at_border[order]
    missing = (rows[1:, 0] - rows[:-1, 0] - 1).astype(np.int64)
    inside = ~at_border[:-1] & ~at_border[1:]
    before = np.flatnonzero(_same_person(rows) & (missing >= 1) & (missing <= max_gap) & inside)
    filled = _between(rows, before, missing[before], frame_column=0)
    filled[:, 6] = 0.0
    filled[:, 7:_STEP] = rows[np.repeat(before, missing[before]), 7:_STEP]  # x, y, z (-1), stretch, image size
    filled[:, _LIFE] = rows[np.repeat(before, missing[before]), _LIFE]
    # the step stays interpolated: a filled row settles with the rows of its own frame, in frame order
    return np.concatenate([rows, filled])


def _between(rows: np.ndarray, before: np.ndarray, counts: np.ndarray, frame_column: int) -> np.ndarray:
    """For each row index in `before`, `counts` rows on the line from that row to the next, one per
    frame between them (the frame column stepping by one)."""
    start = np.repeat(before, counts)
    step = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts) + 1  # 1..count in each gap
    a, b = rows[start], rows[start + 1]
    filled = a + (step / np.repeat(counts + 1, counts))[:, None] * (b - a)
    filled[:, frame_column] = a[:, frame_column] + step
    return filled


def _smoothed(rows: np.ndarray, k: int) -> np.ndarray:
    """`rows` (with extras) with each box (corners) the mean of its own and up to k either side in its
    run: rows of one ID, stretch and image size in consecutive frames."""
    if k <= 0 or len(rows) < 2:
        return rows
    rows = rows[_person_order(rows)]
    out = rows.copy()
    begins = np.r_[True, ~_same_person(rows) | (np.diff(rows[:, 0]) != 1)]
    out[:, 2:6] = xyxy_to_tlwh(_window_means(tlwh_to_xyxy(rows[:, 2:6]), begins, k))
    return out


def _window_means(values: np.ndarray, begins: np.ndarray, k: int) -> np.ndarray:
    """Each row of `values` (N, C) the mean of its own and up to k rows either side in its run; a run
    starts where `begins` (N,) is True."""
    starts = np.flatnonzero(begins)
    ends = np.r_[starts[1:], len(values)] - 1
    run = np.cumsum(begins) - 1
    index = np.arange(len(values))
    lo, hi = np.maximum(index - k, starts[run]), np.minimum(index + k, ends[run])
    # Summed offset by offset, not as differences of running sums: each mean then adds the same values
    # in the same order whatever rows come before it, so a settled row is the row keeping all gives.
    total = np.zeros_like(values)
    for offset in range(-k, k + 1):
        other = index + offset
        inside = (other >= lo) & (other <= hi)
        total[inside] += values[other[inside]]
    return total / (hi - lo + 1)[:, None]


def _world_hindsight(world: np.ndarray, seen: np.ndarray, max_gap: int, k: int) -> np.ndarray:
    """world.txt's rows (time, frame, ID, x, y, step) given what the camera files got: in each gap of 1 to
    max_gap steps between two of one ID's positions, a position on the line between them for each step
    in which a camera file shows the ID (`seen`: _id_step_keys, filled rows included); then each
    position the mean of its own and up to k either side, in the ID's consecutive steps. (Steps, not
    frame numbers: those go back when a worker restarts, and live, two steps may carry one.)"""
    if len(world) < 2:
        return world
    world = world[np.lexsort((world[:, 5], world[:, 2]))]  # by ID, then step
    same = world[1:, 2] == world[:-1, 2]
    if max_gap > 0:
        missing = (world[1:, 5] - world[:-1, 5] - 1).astype(np.int64)
        before = np.flatnonzero(same & (missing >= 1) & (missing <= max_gap))
        filled = _between(world, before, missing[before], frame_column=5)
        filled[:, 1] = np.round(filled[:, 1])  # the frame number between, as near as steps tell
        filled = filled[np.isin(_pair_key(filled[:, 2], filled[:, 5]), seen)]
        world = np.concatenate([world, filled])
        world = world[np.lexsort((world[:, 5], world[:, 2]))]
        same = world[1:, 2] == world[:-1, 2]
    if k > 0:
        begins = np.r_[True, ~same | (np.diff(world[:, 5]) != 1)]
        world[:, 3:5] = _window_means(world[:, 3:5], begins, k)
    return world


def _id_step_keys(rows: np.ndarray) -> np.ndarray:
    """(ID, step) keys of camera rows (with extras) in a step of their own: a row filled into a frame
    that no step processed (dropped, live) has a step between two and is left out."""
    whole = rows[:, _STEP] == np.round(rows[:, _STEP])
    return _pair_key(rows[whole, 1], rows[whole, _STEP])


def _pair_key(high, low) -> np.ndarray:
    """Two whole numbers (or arrays of them) as one, ordered as the pairs: (stretch, frame) is the order
    of a camera's rows in its file, (ID, step) a person in a step."""
    return np.asarray(high).astype(np.int64) * 2**32 + np.asarray(low).astype(np.int64)


def _keep_previous(folder: Path, names: list[str]) -> Path | None:
    """Move an earlier run's result files into folder/previous-<UTC time>/: those of these names, and
    those its MANIFEST lists (an earlier run's cameras of other names, which mctrt.eval would score
    with this run's where the ground truth has them). Nothing else in the folder is touched."""
    listed = (folder / MANIFEST).read_text(encoding="utf-8").split() if (folder / MANIFEST).is_file() else []
    listed = [n for n in listed if n == Path(n).name and n != MANIFEST]  # names in the folder, never a path out of it
    found = sorted({folder / n for n in [*names, *listed] if (folder / n).is_file()})
    found += [folder / MANIFEST] if (folder / MANIFEST).is_file() else []  # moved last: a crash leaves it listing
    if not found:
        return None
    kept = folder / time.strftime("previous-%Y%m%d-%H%M%S", time.gmtime())
    suffix = 1
    while kept.exists():
        suffix += 1
        kept = kept.with_name(f"{kept.name.split('.')[0]}.{suffix}")
    kept.mkdir()
    for path in found:
        os.replace(path, kept / path.name)
    log.warning("%s held an earlier run's results (%s): moved into %s", folder, ", ".join(p.name for p in found), kept)
    return kept

