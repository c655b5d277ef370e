"""serve(): the dashboard and API beside a running pipeline, until SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable

from aiohttp import web

from mctrt.config import ServerConfig
from mctrt.errors import MctrtError
from mctrt.pipeline import Pipeline
from mctrt.server.app import create_app
from mctrt.server.security import is_loopback, server_token

log = logging.getLogger(__name__)


def listen_error(config: ServerConfig, exc: OSError) -> str:
    return f"cannot listen on {config.host}:{config.port} ({exc.strerror or exc}); pick another with --port or server.port"


async def serve(pipeline: Pipeline, config: ServerConfig | None = None,
                progress: Callable[[Pipeline], None] | None = None, linger: bool = True,
                max_frames: int | None = None) -> None:
    """Serve the dashboard while the pipeline runs on a worker thread, until SIGINT or SIGTERM: then
    stop the pipeline (it flushes its sinks), close every socket and return. When the pipeline ends
    by itself (every camera ended, or gave max_frames), the dashboard stays up showing the results if
    `linger`, else the server stops too."""
    config = config or pipeline.config.server
    if not is_loopback(config.host) and server_token(config) is None:
        log.warning("\n%s\nSERVING ON %s WITHOUT A TOKEN: anyone who can reach this address sees every camera.\n"
                    "Set server.token (or MCTRT_TOKEN), or bind 127.0.0.1.\n%s", "!" * 80, config.host, "!" * 80)
    runner = web.AppRunner(create_app(pipeline, config), handle_signals=False, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, config.host, config.port)
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise MctrtError(listen_error(config, exc)) from None
    port = runner.addresses[0][1] if runner.addresses else config.port
    log.info("dashboard: http://%s:%d/", config.host if ":" not in config.host else f"[{config.host}]", port)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    worker = loop.run_in_executor(None, lambda: pipeline.run(progress, max_frames=max_frames))

    def finished(future: asyncio.Future) -> None:
        if future.exception() is not None or not linger:
            stop.set()  # a broken pipeline ends the run; `await worker` below raises its error
        elif not stop.is_set():
            log.info("the pipeline has stopped; the dashboard stays up until Ctrl-C")

    worker.add_done_callback(finished)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        pipeline.stop()
        await worker  # the pipeline flushes and closes its sinks
        await runner.cleanup()  # closes every socket
