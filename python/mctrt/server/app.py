"""create_app(): the aiohttp application of a pipeline: its dashboard page, REST API and WebSockets
(routes.py), live pushes (hub.py) and access checks (security.py); serve.py runs it beside the
pipeline. Every JSON shape is described in openapi.py, served at /api/openapi.json.

    GET /                         the dashboard (web/index.html); /static/* the rest of web/
    GET /health                   {"status": "ok" | "degraded" | "stopped", ...}; no token needed
    GET /api/openapi.json         this API's OpenAPI description; no token needed
    GET /api/meta                 the event types and pipeline stages (the page lists them, never copies)
    GET /api/stats                cameras, stage latency, association and event counters, clients
    GET /api/cameras              cameras with their lines and zones
    GET /api/events               stored events: since, type, camera, global_id, limit
    GET /api/identities[/{id}]    global IDs (cameras, first and last seen); one with its journey
    GET /api/floor                the floor map: cameras and what they see, floor zones and lines, bounds, plan
    GET /api/floor/plan           the floor plan image (server.floor_plan)
    GET /api/positions            the people on the floor now, with their recent trails
    WS  /ws/{camera_id}           video: header + JPEG per message (see hub.py)
    WS  /ws/stats                 {"type": "stats"} each stats_interval_s, {"type": "events"} as they happen
    WS  /ws/dashboard-stats       the same (the reference design's path)
    WS  /ws/positions             {"type": "positions", ...the body of /api/positions} at most jpeg_max_fps a second

With a token (server.token or MCTRT_TOKEN), /api/* and /ws/* need `Authorization: Bearer <token>`
(browsers' WebSockets: `?token=<token>`). Every request must be addressed (its Host header) to an IP
address, localhost or a name in server.allowed_hosts: a page of another site whose name was made to
resolve here (DNS rebinding) is refused. WebSockets from a browser page of another origin are refused.
"""

from __future__ import annotations

import asyncio
import importlib.resources
import logging
import weakref
from pathlib import Path

from aiohttp import WSCloseCode, web

from mctrt.config import ServerConfig
from mctrt.pipeline import Pipeline
from mctrt.server.hub import LiveHub
from mctrt.server.routes import (CONFIG, HOST_NAMES, HUB, PIPELINE, SOCKET_NAMES, SOCKETS, STORE, WEB_DIR,
                                 cut_connection, json_errors, known_query_only, routes)
from mctrt.server.security import auth_middleware, host_middleware, host_names, server_token
from mctrt.store import open_store

log = logging.getLogger(__name__)

# The dashboard's files, installed as package data (mctrt/web); found through the package's resources,
# which an editable install spreads over its source folder and the environment's copy.
WEB_FILES = Path(str(importlib.resources.files("mctrt") / "web"))


CLOSE_TIMEOUT_S = 2.0  # a socket that cannot say goodbye in this long at shutdown is cut


async def close_sockets(app: web.Application) -> None:
    """Close every WebSocket at once, each given CLOSE_TIMEOUT_S: a client that stopped reading (its
    connection's send buffer full, or its network gone) cannot take the close, and would hold the
    server up until it went away; its connection is cut instead."""

    async def close(ws: web.WebSocketResponse, transport) -> None:
        try:
            await asyncio.wait_for(ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutting down"),
                                   CLOSE_TIMEOUT_S)
        except asyncio.TimeoutError:
            cut_connection(transport)

    await asyncio.gather(*(close(ws, transport) for ws, transport in list(app[SOCKETS].items())))


def create_app(pipeline: Pipeline, config: ServerConfig | None = None, web_dir: Path = WEB_FILES) -> web.Application:
    """The dashboard and API for `pipeline` (running or not; serve() runs both)."""
    config = config or pipeline.config.server
    token = server_token(config)
    names = host_names(config)
    app = web.Application(middlewares=[json_errors, host_middleware(names), auth_middleware(token), known_query_only])
    app[PIPELINE], app[CONFIG], app[HOST_NAMES], app[WEB_DIR] = pipeline, config, names, web_dir
    app[HUB] = LiveHub(pipeline, config)
    app[SOCKETS] = weakref.WeakKeyDictionary()
    stored = pipeline.scene.store is not None

    async def lifecycle(app: web.Application):
        if stored:  # a connection of its own: SQLite's WAL lets it read beside the writer
            app[STORE] = open_store(pipeline.config.store)
        app[HUB].start()
        yield
        await app[HUB].stop()
        if stored:
            app[STORE].close()

    app.cleanup_ctx.append(lifecycle)
    app.on_shutdown.append(close_sockets)
    app.add_routes(routes)
    shadowed = sorted(set(pipeline.config.camera_ids) & set(SOCKET_NAMES))
    if shadowed:
        log.warning("the video of camera %s cannot be served: /ws/%s is the path of another socket; rename the camera",
                    ", ".join(shadowed), shadowed[0])
    app.router.add_static("/static", web_dir, follow_symlinks=False, show_index=False)
    return app
