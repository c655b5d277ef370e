"""The aiohttp application: the dashboard page, the REST API, the WebSockets, and serve() to run it
beside the pipeline. Every JSON shape is described in openapi.py, served at /api/openapi.json.

    GET /                         the dashboard (web/index.html); /static/* the rest of web/
    GET /health                   {"status": "ok" | "degraded" | "stopped", ...}; no token needed
    GET /api/openapi.json         this API's OpenAPI description; no token needed
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
import hmac
import ipaddress
import json
import logging
import os
import signal
import weakref
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import WSCloseCode, WSMsgType, web

from mctrt.config import ServerConfig
from mctrt.errors import MctrtError
from mctrt.events import EVENT_TYPES
from mctrt.io.sources import FAILED, RECONNECTING
from mctrt.pipeline import Pipeline
from mctrt.server.floor import PLAN_URL, floor_map
from mctrt.server.hub import ClientQueue, LiveHub
from mctrt.server.openapi import openapi
from mctrt.store import EventStore

log = logging.getLogger(__name__)

WEB_DIR = Path(__file__).resolve().parents[1] / "web"  # installed as package data beside this package
HUB = web.AppKey("hub", LiveHub)
STORE = web.AppKey("store", EventStore)
SOCKETS = web.AppKey("sockets", weakref.WeakSet)
PUBLIC = ("/health", "/api/openapi.json")
MAX_ID = 2**63 - 1  # the store keeps IDs as SQLite integers
SOCKET_NAMES = ("stats", "dashboard-stats", "positions")  # /ws/<name> paths that are not cameras' video


def server_token(config: ServerConfig) -> str | None:
    """The configured token, else MCTRT_TOKEN, else None (an empty MCTRT_TOKEN counts as unset)."""
    return config.token or os.environ.get("MCTRT_TOKEN") or None


def _error(status: int, message: str, **headers) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers or None)


def host_allowed(host: str | None, names: frozenset[str]) -> bool:
    """Whether a Host header (or an origin's host[:port]) addresses this server: an IP address, or one
    of names (lower case), with or without a port."""
    if not host:
        return False
    try:
        hostname = urlsplit(f"//{host}").hostname
    except ValueError:
        return False
    if hostname is None:
        return False
    try:
        ipaddress.ip_address(hostname)
        return True
    except ValueError:
        return hostname.rstrip(".") in names


def _host_middleware(names: frozenset[str]):
    @web.middleware
    async def check_host(request: web.Request, handler):
        if not host_allowed(request.headers.get("Host"), names):
            return _error(421, f"this server does not answer to the host name {request.headers.get('Host')!r}: "
                               "add it to server.allowed_hosts if it is one of this server's names")
        return await handler(request)

    return check_host


def _auth_middleware(token: str | None):
    @web.middleware
    async def auth(request: web.Request, handler):
        protected = request.path.startswith(("/api/", "/ws/")) and request.path not in PUBLIC
        if token is not None and protected:
            given = request.headers.get("Authorization", "")
            given = given[7:] if given.startswith("Bearer ") else request.query.get("token", "")
            # Headers arrive as text with undecodable bytes escaped: compare them as the bytes they were.
            if not hmac.compare_digest(given.encode("utf-8", "surrogateescape"), token.encode()):
                return _error(401, "this server needs a token: send 'Authorization: Bearer <token>' "
                                   "(WebSockets and the page: ?token=<token>)", **{"WWW-Authenticate": "Bearer"})
        return await handler(request)

    return auth


def origin_allowed(request: web.Request, allowed: tuple[str, ...], names: frozenset[str]) -> bool:
    """True for clients that send no Origin (not a browser page), the page's own origin (addressed to
    one of this server's names, host_allowed), or a listed one."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    if origin.rstrip("/") in allowed:
        return True
    try:
        netloc = urlsplit(origin).netloc
    except ValueError:
        return False
    return netloc == request.host and host_allowed(netloc, names)


def host_names(config: ServerConfig) -> frozenset[str]:
    """The names this server answers to besides IP addresses: localhost, the one it binds to when that
    is a name, and server.allowed_hosts."""
    names = {"localhost", *config.allowed_hosts}
    if not host_allowed(config.host, frozenset()):  # a name, not an address
        names.add(config.host)
    return frozenset(n.lower().rstrip(".") for n in names)


def create_app(pipeline: Pipeline, config: ServerConfig | None = None, web_dir: Path = WEB_DIR) -> web.Application:
    """The dashboard and API for `pipeline` (running or not; serve() runs both)."""
    config = config or pipeline.config.server
    token = server_token(config)
    names = host_names(config)
    app = web.Application(middlewares=[_host_middleware(names), _auth_middleware(token)])
    app[HUB] = LiveHub(pipeline, config)
    app[SOCKETS] = weakref.WeakSet()
    store_path = pipeline.config.store.path if pipeline.store is not None else None

    async def lifecycle(app: web.Application):
        if store_path is not None:
            app[STORE] = EventStore(store_path)  # a connection of its own: WAL lets it read beside the writer
        app[HUB].start()
        yield
        await app[HUB].stop()
        if store_path is not None:
            app[STORE].close()

    async def close_sockets(app: web.Application) -> None:
        for ws in list(app[SOCKETS]):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutting down")

    app.cleanup_ctx.append(lifecycle)
    app.on_shutdown.append(close_sockets)
    routes = web.RouteTableDef()

    @routes.get("/")
    async def index(request: web.Request) -> web.FileResponse:
        return web.FileResponse(web_dir / "index.html")

    @routes.get("/health")
    async def health(request: web.Request) -> web.Response:
        snap = pipeline.snapshot()
        states = [s["state"] for s in snap["cameras"]]
        if not snap["running"]:
            status = "stopped"
        elif any(s in (FAILED, RECONNECTING) for s in states):
            status = "degraded"
        else:
            status = "ok"
        body = {"status": status, "running": snap["running"], "cameras": {s: states.count(s) for s in sorted(set(states))}}
        return web.json_response(body, status=503 if status == "stopped" else 200)

    @routes.get("/api/openapi.json")
    async def openapi_json(request: web.Request) -> web.Response:
        return web.json_response(openapi())

    @routes.get("/api/stats")
    async def stats(request: web.Request) -> web.Response:
        return web.json_response(request.app[HUB].stats())

    @routes.get("/api/cameras")
    async def cameras(request: web.Request) -> web.Response:
        events = pipeline.config.events
        out = []
        for status in pipeline.camera_status():
            cam = status["camera_id"]
            out.append({
                "camera_id": cam, "kind": status["kind"], "state": status["state"], "reason": status["reason"],
                "width": status["width"], "height": status["height"], "source_fps": status["fps"],
                "lines": [{"name": ln.name, "points": [list(p) for p in ln.points]} for ln in events.lines if ln.camera_id == cam],
                "zones": [{"name": z.name, "polygon": [list(p) for p in z.polygon]} for z in events.zones if z.camera_id == cam],
            })
        return web.json_response({"cameras": out})

    def need_store(request: web.Request) -> EventStore:
        if STORE not in request.app:
            raise web.HTTPServiceUnavailable(content_type="application/json", text=json.dumps(
                {"error": "the event store is off (--no-store, or store.path: null in the config)"}))
        return request.app[STORE]

    @routes.get("/api/events")
    async def events(request: web.Request) -> web.Response:
        store = need_store(request)
        q = request.query
        kind = q.get("type")
        if kind is not None and kind not in EVENT_TYPES:
            return _error(400, f"type must be one of {', '.join(EVENT_TYPES)}; got {kind!r}")
        camera = q.get("camera")
        if camera is not None and camera not in pipeline.config.camera_ids:
            return _error(400, f"camera must be one of {', '.join(pipeline.config.camera_ids)}; got {camera!r}")
        try:
            since = _query_number(q, "since", float, None)
            global_id = _query_number(q, "global_id", int, None, 1, MAX_ID)
            limit = _query_number(q, "limit", int, 100, 1, 10_000)
        except ValueError as exc:
            return _error(400, str(exc))
        rows = await asyncio.to_thread(store.events, since=since, type=kind, camera=camera, global_id=global_id,
                                       limit=limit)
        return web.json_response({"events": rows})

    @routes.get("/api/identities")
    async def identities(request: web.Request) -> web.Response:
        store = need_store(request)
        try:
            limit = _query_number(request.query, "limit", int, 200, 1, 10_000)
        except ValueError as exc:
            return _error(400, str(exc))
        return web.json_response({"identities": await asyncio.to_thread(store.identities, limit)})

    @routes.get("/api/identities/{global_id}")
    async def identity(request: web.Request) -> web.Response:
        store = need_store(request)
        try:
            gid = _number(request.match_info["global_id"], "a global ID", int, 1, MAX_ID)
        except ValueError as exc:
            return _error(400, str(exc))
        found = await asyncio.to_thread(store.identity, gid)
        if found is None:
            return _error(404, f"no global ID {gid} in the store")
        journey = await asyncio.to_thread(store.journey, gid)
        return web.json_response({"identity": found, "events": journey})

    @routes.get("/api/floor")
    async def floor(request: web.Request) -> web.Response:
        return web.json_response(floor_map(pipeline.config, request.app[HUB].image_sizes()))

    @routes.get(PLAN_URL)
    async def floor_plan(request: web.Request) -> web.StreamResponse:
        plan = pipeline.config.server.floor_plan
        if plan is None:
            return _error(404, "no floor plan: set server.floor_plan in the config to show one under the floor view")
        if not Path(plan.image).is_file():
            return _error(404, f"the floor plan image {Path(plan.image).name} is missing: fix server.floor_plan.image")
        return web.FileResponse(plan.image)

    @routes.get("/api/positions")
    async def positions(request: web.Request) -> web.Response:
        return web.json_response(request.app[HUB].floor.body())

    async def websocket(request: web.Request, subscribe: Callable[[LiveHub], ClientQueue]) -> web.StreamResponse:
        if not origin_allowed(request, config.allowed_origins, names):
            return _error(403, f"WebSocket from origin {request.headers.get('Origin')} refused: "
                               "add it to server.allowed_origins to allow it")
        ws = web.WebSocketResponse(heartbeat=20.0)
        await ws.prepare(request)
        hub = request.app[HUB]
        client = subscribe(hub)
        request.app[SOCKETS].add(ws)
        sender = asyncio.create_task(_pump(client, ws))
        try:
            async for message in ws:  # the page sends nothing; this notices the close
                if message.type == WSMsgType.ERROR:
                    break
        finally:
            hub.remove_client(client)
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)
        return ws

    @routes.get("/ws/stats")
    @routes.get("/ws/dashboard-stats")
    async def stats_socket(request: web.Request) -> web.StreamResponse:
        return await websocket(request, lambda hub: hub.add_client(None))

    @routes.get("/ws/positions")
    async def positions_socket(request: web.Request) -> web.StreamResponse:
        return await websocket(request, LiveHub.add_positions_client)

    @routes.get("/ws/{camera_id}")
    async def video_socket(request: web.Request) -> web.StreamResponse:
        camera_id = request.match_info["camera_id"]
        if camera_id not in pipeline.config.camera_ids:
            return _error(404, f"no camera {camera_id!r}; cameras: {', '.join(pipeline.config.camera_ids)}")
        return await websocket(request, lambda hub: hub.add_client(camera_id))

    app.add_routes(routes)
    shadowed = sorted(set(pipeline.config.camera_ids) & set(SOCKET_NAMES))
    if shadowed:
        log.warning("the video of camera %s cannot be served: /ws/%s is the path of another socket; rename the camera",
                    ", ".join(shadowed), shadowed[0])
    app.router.add_static("/static", web_dir, follow_symlinks=False, show_index=False)
    return app


async def _pump(client: ClientQueue, ws: web.WebSocketResponse) -> None:
    """Send the client's queue to its socket. A slow socket only makes its own queue drop."""
    try:
        while (message := await client.get()) is not None:
            if isinstance(message, bytes):
                await ws.send_bytes(message)
            else:
                await ws.send_str(message)
    except (ConnectionError, RuntimeError):  # the client went away mid-send
        pass
    finally:
        await ws.close()


def _query_number(query, name: str, kind: type, default, low=None, high=None):
    text = query.get(name)
    return default if text is None else _number(text, name, kind, low, high)


def _number(text: str, name: str, kind: type, low=None, high=None):
    """text as an int or float within low..high; ASCII digits only (Python would also read other
    scripts' digits, and superscripts pass str.isdigit)."""
    what = "an integer" if kind is int else "a number"
    if not text.isascii():
        raise ValueError(f"{name} must be {what} in ASCII digits; got {text!r}")
    try:
        value = kind(text)
    except ValueError:
        raise ValueError(f"{name} must be {what}; got {text!r}") from None
    if (low is not None and value < low) or (high is not None and value > high) or value != value:
        raise ValueError(f"{name} must be in {low}..{high}; got {text!r}")
    return value


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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
        raise MctrtError(f"cannot listen on {config.host}:{config.port} ({exc.strerror or exc}); "
                         "pick another with --port or server.port") from None
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
