"""python -m mctrt.run: the main job.

    python -m mctrt.run --config configs/demo.yaml                       # live, dashboard at http://127.0.0.1:8000
    python -m mctrt.run --config C --offline --output DIR --no-server    # every frame of file inputs, then exit

Across machines (README, Deployment): workers read, detect, track and embed some cameras each and
publish their steps to Redis; one central gives global IDs, events, the store, results and dashboard:

    python -m mctrt.run --config C --role worker --cameras west,east --bus redis://HOST:6379/0
    python -m mctrt.run --config C --role central --bus redis://HOST:6379/0

Live runs serve the dashboard (unless --no-server) and go on until Ctrl-C or SIGTERM, the dashboard
staying up after file inputs end; offline runs end with their inputs.
Offline runs write DIR/<camera_id>.txt (MOTChallenge rows with global IDs) and DIR/events.jsonl,
show progress, and print a summary: frames, frames/s, per-stage latency, identities, events.
Exit status: 0 when every camera was read to its end, 1 when a camera failed or never gave a frame
(the others still ran and their results were written) or an offline run was stopped (Ctrl-C, SIGTERM) before its inputs
ended (its results are partial), 2 for a bad configuration, model or argument, or an output, store
or port that cannot be used (all but the models' contents checked before anything loads).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import signal
import socket
import sys
import time
from pathlib import Path

from tqdm import tqdm

from mctrt.config import InputConfig, PipelineConfig, ServerConfig, load_config
from mctrt.config.loader import resolve_path, unset_with_defaults
from mctrt.errors import MctrtError, SourceError
from mctrt.io.paths import why_unwritable
from mctrt.io.sources import FAILED, open_capture
from mctrt.central import Central
from mctrt.pipeline import Pipeline
from mctrt.server import serve
from mctrt.server.serve import listen_error


class Progress:
    """How far a run has got, called by Pipeline.run every few seconds. Offline on a terminal: a
    progress bar (tqdm) of the frames done of all the files' frames, with the rate and the time left;
    elsewhere (a log file, a live run): a plain line each time."""

    def __init__(self, total: int | None, stream=sys.stderr) -> None:
        self.total, self.stream = total, stream
        self.bar = tqdm(total=total, unit="frame", file=stream, dynamic_ncols=True) if total and stream.isatty() else None
        self.every_s = 0.5 if self.bar is not None else 2.0  # a bar is redrawn in place; lines pile up

    def __call__(self, pipeline: Pipeline) -> None:
        metrics = pipeline.snapshot()["metrics"]
        done = metrics["total_frames"]
        if self.bar is not None:
            self.bar.update(done - self.bar.n)
            self.bar.refresh()  # called only every every_s: draw each time (tqdm would skip calls that come quickly)
            return
        per_camera = ", ".join(f"{cam} {n}" for cam, n in metrics["frames"].items())
        of = f" of {self.total}" if self.total else ""
        print(f"  {done}{of} frames ({per_camera}) at {metrics['average_fps']:.1f} frames/s", file=self.stream)

    def close(self, pipeline: Pipeline) -> None:
        if self.bar is not None:
            self.bar.update(pipeline.snapshot()["metrics"]["total_frames"] - self.bar.n)
            self.bar.close()


def total_frames(inputs: list[InputConfig], max_frames: int | None) -> int | None:
    """The frames an offline run will process over these inputs: each file's declared count (at most max_frames), or
    None when a file does not say (or cannot be opened: its camera reports that itself)."""
    total = 0
    for camera in inputs:
        try:
            capture = open_capture(camera)
        except SourceError:
            return None
        count = capture.frame_count
        capture.close()
        if count <= 0:
            return None
        total += min(count, max_frames or count)
    return total


def summary(pipeline: Pipeline, seconds: float) -> str:
    snap = pipeline.snapshot()
    metrics = snap["metrics"]
    lines = [f"frames: {metrics['total_frames']} in {seconds:.1f} s = {metrics['total_frames'] / max(seconds, 1e-9):.1f} "
             f"frames/s across {len(snap['cameras'])} camera(s)"]
    for status in snap["cameras"]:
        state = status["state"] + (f" ({status['reason']})" if status["reason"] else "")
        lines.append(f"  {status['camera_id']}: {metrics['frames'].get(status['camera_id'], 0)} frames, "
                     f"{status['frames_dropped']} dropped, {state}")
    lines.append("stage latency per step, ms:   p50      p95      p99")
    for name, s in metrics["stages"].items():
        if s["count"]:
            lines.append(f"  {name:<12} {s['p50_ms']:15.2f} {s['p95_ms']:8.2f} {s['p99_ms']:8.2f}")
    c = metrics["capture_to_result"]
    if c["count"]:
        lines.append(f"  {'capture->result':<12} {c['p50_ms']:12.2f} {c['p95_ms']:8.2f} {c['p99_ms']:8.2f}")
    if "bus" in snap:
        bus = snap["bus"]
        lines.append(f"bus: {bus['late']} late steps, {bus['duplicates']} delivered again (skipped)")
        for name, key in (("worker->here", "delay"), ("ordering", "ordering_wait")):
            d = bus[key]
            if d["count"]:
                lines.append(f"  {name:<12} {d['p50_ms']:15.2f} {d['p95_ms']:8.2f} {d['p99_ms']:8.2f}")
    stats = snap["association"]
    if not stats:  # a worker: the central has the identities and events
        return "\n".join(lines)
    lines.append(f"global IDs: {stats['global_ids']}, seen by 2+ cameras: {stats['cross_camera_ids']}, "
                 f"handoffs: {stats['handoffs']}")
    counts = {k: v for k, v in snap["events"].items() if v}
    lines.append("events: " + (", ".join(f"{k} {v}" for k, v in counts.items()) or "none"))
    return "\n".join(lines)


def _check_writable(folder: Path) -> None:
    """--output must be a folder this process can create and write, found out before models load."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".mctrt-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise MctrtError(f"--output {folder} cannot be written ({exc.strerror or exc}); give a folder you can write "
                         "to") from None


def _preflight(args, config: PipelineConfig, server: ServerConfig) -> None:
    """What can be checked without loading a model, checked before the detector loads (seconds, or
    minutes for an INT8 calibration): the arguments, the model files, the dashboard's port and floor
    plan, the SQLite store's path, and last --output (made, as the run would make it)."""
    from mctrt.models.onnx_io import check_model_file

    _check_arguments(args, config)
    if args.role != "central":
        check_model_file(config.detector.model, "detector model")
        if config.reid is not None:
            check_model_file(config.reid.model, "re-ID model")
    if args.role != "worker" and not args.no_server:
        _check_port(server)
        if server.floor_plan is not None:
            server.floor_plan.check_image()
    if args.role != "worker" and not args.no_store and config.store.url is None and config.store.path is not None:
        if (why := why_unwritable(config.store.path)) is not None:
            raise MctrtError(f"event store {config.store.path} cannot be made ({why}); fix store.path in the config, "
                             "or run with --no-store")
    if args.output:  # last: the one check that makes something (the folder the run writes into)
        _check_writable(Path(args.output))


def _check_port(server: ServerConfig) -> None:
    """The dashboard's address free, probed as asyncio binds it: every address the host resolves to,
    IPv6 ones alone (IPV6_V6ONLY), with SO_REUSEADDR."""
    if not server.port:
        return
    try:
        addresses = socket.getaddrinfo(server.host, server.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise MctrtError(f"cannot listen on {server.host}: {exc.strerror}; fix --host or server.host") from None
    for family, kind, protocol, _, address in addresses:
        try:
            probe = socket.socket(family, kind, protocol)
        except OSError:  # a family this machine lacks (IPv6): asyncio passes it over too
            continue
        with probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                raise MctrtError(listen_error(server, exc)) from None


def _check_arguments(args, config: PipelineConfig) -> None:
    """MctrtError for arguments the role does not take."""
    if args.role != "worker" and args.cameras:
        raise MctrtError("--cameras is for --role worker; a central and a single process take every camera of the config")
    if args.role == "all" and args.bus:
        raise MctrtError("--bus is for --role worker or central; one process needs no bus")
    if args.role == "worker":
        if args.output:
            raise MctrtError("--output is for the central (or one process): a worker's results go to the bus")
        unknown = [c for c in (args.cameras.split(",") if args.cameras else []) if c not in config.camera_ids]
        if unknown:
            raise MctrtError(f"--cameras names {', '.join(unknown)}, not in the config's inputs ({', '.join(config.camera_ids)})")


def _build(args, config: PipelineConfig) -> Pipeline | Central:
    """The role's runner (the arguments checked): a Pipeline (all, worker) or a Central; MctrtError for
    an unreachable bus."""
    if args.role == "all":
        return Pipeline(config, offline=args.offline, output_dir=args.output, use_store=not args.no_store)
    from mctrt.bus.redis_streams import RedisPublisher, RedisSubscriber  # redis is needed by these roles only

    if args.role == "central":
        return Central(config, RedisSubscriber(config.bus, config.camera_ids, args.bus), offline=args.offline,
                       output_dir=args.output, use_store=not args.no_store)
    cameras = args.cameras.split(",") if args.cameras else config.camera_ids
    return Pipeline(config, offline=args.offline, camera_ids=cameras, publisher=RedisPublisher(config.bus, cameras, args.bus))


def _unset_variable_notes(error: str, config_path: str) -> list[str]:
    """For an error naming a path that does not exist: the config's ${VAR:-default} references whose
    VAR is unset and whose default starts that path (MCTRT_ASSETS not set, its ../../shared used)."""
    if "does not exist" not in error:
        return []
    notes = []
    for name, default in unset_with_defaults(config_path):
        relative = not Path(default).expanduser().is_absolute()
        resolved = resolve_path(default, Path(config_path).parent.resolve())
        if resolved in error:
            where = " (relative to the config's folder)" if relative else ""
            notes.append(f"{name} is not set, so the config's ${{{name}:-{default}}} became {default}{where}; set "
                         f"{name} if the files are elsewhere")
    return notes


def main(argv: list[str] | None = None, prog: str = "python -m mctrt.run") -> int:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="YAML configuration (see configs/demo.yaml)")
    parser.add_argument("--offline", action="store_true", help="process every frame of file inputs, then exit")
    parser.add_argument("--output", help="write <camera_id>.txt results, world.txt and events.jsonl to this folder")
    parser.add_argument("--no-server", action="store_true", help="do not serve the dashboard")
    parser.add_argument("--host", help="listen on this address (default: the config's server.host, 127.0.0.1)")
    parser.add_argument("--port", type=int, help="listen on this port (default: the config's server.port, 8000)")
    parser.add_argument("--no-store", action="store_true", help="do not write the event store (store.path or store.url)")
    parser.add_argument("--max-frames", type=int, metavar="N", help="stop after each camera's first N frames (a short try)")
    parser.add_argument("--role", choices=("all", "worker", "central"), default="all",
                        help="all: everything in this process (default); worker: read, detect, track and embed "
                             "--cameras and publish to --bus; central: association, events, store, results and "
                             "dashboard for the workers' cameras")
    parser.add_argument("--cameras", metavar="A,B", help="worker: the config's cameras this worker reads (default: all)")
    parser.add_argument("--bus", metavar="URL", help="worker, central: the Redis server (default: the config's bus.url)")
    parser.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        if args.max_frames is not None and args.max_frames < 1:
            raise MctrtError(f"--max-frames must be a positive number of frames; got {args.max_frames}")
        config = load_config(args.config)
        if args.offline:
            live = [i.camera_id for i in config.inputs if i.kind != "file"]
            if live:
                raise MctrtError(f"--offline reads files only; camera(s) {', '.join(live)} are streams or webcams")
        server = dataclasses.replace(config.server, **{k: v for k, v in (("host", args.host), ("port", args.port))
                                                        if v is not None})
        _preflight(args, config, server)
        pipeline = _build(args, config)
    except MctrtError as exc:
        print(f"error: {exc}", file=sys.stderr)
        for note in _unset_variable_notes(str(exc), args.config):
            print(f"note: {note}", file=sys.stderr)
        return 2
    mode = ", offline" if args.offline else ", live (Ctrl-C stops)"
    if args.role == "central":
        print(f"mctrt central: {len(config.inputs)} camera(s) from {args.bus or config.bus.url}{mode}", file=sys.stderr)
    else:
        backend = pipeline.perception.detector.backend
        print(f"mctrt{' worker' if args.role == 'worker' else ''}: {len(pipeline.inputs)} camera(s), detector on "
              f"{backend.name if backend else config.detector.backend + ' (input sized at the first frames)'}{mode}",
              file=sys.stderr)
    progress = Progress(total_frames(pipeline.inputs, args.max_frames) if args.offline and args.role != "central" else None)
    started = time.monotonic()
    if args.no_server or args.role == "worker":
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: pipeline.stop())
        pipeline.run(progress=progress, progress_every_s=progress.every_s, max_frames=args.max_frames)
    else:
        try:
            asyncio.run(serve(pipeline, server, progress=progress, linger=not args.offline, max_frames=args.max_frames))
        except MctrtError as exc:  # the address is taken: nothing ran
            pipeline.close()
            print(f"error: {exc}", file=sys.stderr)
            return 2
    progress.close(pipeline)
    print(summary(pipeline, pipeline.run_s or time.monotonic() - started))  # not the dashboard's time after it
    if args.output:
        print(f"results: {args.output}/<camera_id>.txt, {args.output}/world.txt and {args.output}/events.jsonl")
        writer = pipeline.scene.writer if pipeline.scene is not None else None
        if writer is not None and writer.filled:
            print(f"  {writer.filled} boxes filled into short gaps in people's tracks (score 0; output.fill_gaps_s "
                  f"{config.output.fill_gaps_s:g} s)")
        if writer is not None and writer.relinked:
            print(f"  {writer.relinked} stretches of people's rows took another ID: hand-offs across gaps judged again "
                  "at the end (output.relink)")
    if args.offline and pipeline.interrupted:
        print("stopped before the inputs ended: the results are of the frames read until then", file=sys.stderr)
        return 1
    cameras = pipeline.camera_status()
    silent = [s["camera_id"] for s in cameras if s["state"] != FAILED and not s["frames_read"]]
    if silent:  # live: still reconnecting at the end (a dead stream is retried, never failed)
        print(f"camera(s) {', '.join(silent)} never gave a frame", file=sys.stderr)
    return 1 if silent or any(s["state"] == FAILED for s in cameras) else 0


if __name__ == "__main__":
    sys.exit(main())
