"""The dashboard's page, the REST API and the WebSockets (the list: app.py's docstring; the shapes:
openapi.py). Handlers find what they serve under the application's keys, set by create_app."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import struct
import weakref
from collections.abc import Callable
from pathlib import Path

from aiohttp import WSCloseCode, WSMsgType, web

from mctrt.config import ServerConfig
from mctrt.events import EVENT_TYPES
from mctrt.io.sources import FAILED, OFFLINE, RECONNECTING
from mctrt.metrics import STAGES
from mctrt.pipeline import Pipeline
from mctrt.server.floor import PLAN_URL, floor_map
from mctrt.server.hub import ClientQueue, LiveHub
from mctrt.server.openapi import openapi, query_parameters
from mctrt.server.security import error, origin_allowed
from mctrt.store import SqlStore

PIPELINE = web.AppKey("pipeline", Pipeline)
CONFIG = web.AppKey("server_config", ServerConfig)
HOST_NAMES = web.AppKey("host_names", frozenset)
WEB_DIR = web.AppKey("web_dir", Path)
HUB = web.AppKey("hub", LiveHub)
STORE = web.AppKey("store", SqlStore)
SOCKETS = web.AppKey("sockets", weakref.WeakKeyDictionary)  # open WebSocketResponse -> its connection's transport
MAX_ID = 2**63 - 1  # the store keeps IDs as SQLite integers
SOCKET_NAMES = ("stats", "dashboard-stats", "positions")  # /ws/<name> paths that are not cameras' video

routes = web.RouteTableDef()
QUERY = query_parameters(openapi())  # path -> the query parameters the document gives its GET


@web.middleware
async def known_query_only(request: web.Request, handler):
    """A query parameter the document does not list for the path (but the token) is a 400: a typo
    (?limt=5) is named, not silently ignored."""
    route = request.match_info.route.resource
    takes = QUERY.get(route.canonical) if route is not None else None
    if takes is not None:
        unknown = sorted(set(request.query) - takes - {"token"})
        if unknown:
            listed = ", ".join(sorted(takes)) or "none"
            return error(400, f"{request.path} has no query parameter {', '.join(map(repr, unknown))}; it takes: {listed}")
    return await handler(request)


@web.middleware
async def json_errors(request: web.Request, handler):
    """aiohttp's own refusals under /api/ and /ws/ (no such path, a method the path does not take, a
    WebSocket path asked without the upgrade) in the JSON error body every other refusal has."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400 or not request.path.startswith(("/api/", "/ws/")):
            raise
        detail = (exc.text or "").split(": ", 1)[-1].strip() if exc.text else ""
        return error(exc.status, f"{request.method} {request.path}: {detail or exc.reason}",
                     **({"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else {}))


@routes.get("/")
async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(request.app[WEB_DIR] / "index.html")


@routes.get("/health")
async def health(request: web.Request) -> web.Response:
    snap = request.app[PIPELINE].snapshot()
    states = [s["state"] for s in snap["cameras"]]
    if not snap["running"]:
        status = "stopped"
    elif any(s in (FAILED, RECONNECTING, OFFLINE) for s in states):
        status = "degraded"
    else:
        status = "ok"
    body = {"status": status, "running": snap["running"], "cameras": {s: states.count(s) for s in sorted(set(states))}}
    return web.json_response(body, status=503 if status == "stopped" else 200)


@routes.get("/api/openapi.json")
async def openapi_json(request: web.Request) -> web.Response:
    return web.json_response(openapi(request.app[PIPELINE].config.camera_ids))


@routes.get("/api/meta")
async def meta(request: web.Request) -> web.Response:
    """The names the page lists, from their one place in Python, so that web/ never copies them."""
    return web.json_response({"event_types": list(EVENT_TYPES), "stages": list(STAGES)})


@routes.get("/api/stats")
async def stats(request: web.Request) -> web.Response:
    return web.json_response(request.app[HUB].stats())


@routes.get("/api/cameras")
async def cameras(request: web.Request) -> web.Response:
    pipeline = request.app[PIPELINE]
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


def need_store(request: web.Request) -> SqlStore:
    if STORE not in request.app:
        raise web.HTTPServiceUnavailable(content_type="application/json", text=json.dumps(
            {"error": "the event store is off (--no-store, or neither store.path nor store.url in the config)"}))
    return request.app[STORE]


@routes.get("/api/events")
async def events(request: web.Request) -> web.Response:
    store = need_store(request)
    q = request.query
    kind = q.get("type")
    if kind is not None and kind not in EVENT_TYPES:
        return error(400, f"type must be one of {', '.join(EVENT_TYPES)}; got {kind!r}")
    camera, camera_ids = q.get("camera"), request.app[PIPELINE].config.camera_ids
    if camera is not None and camera not in camera_ids:
        return error(400, f"camera must be one of {', '.join(camera_ids)}; got {camera!r}")
    try:
        since = _query_number(q, "since", float, None)
        global_id = _query_number(q, "global_id", int, None, 1, MAX_ID)
        limit = _query_number(q, "limit", int, 100, 1, 10_000)
        after_id = _query_number(q, "after_id", int, None, 0, 2 ** 63 - 1)
    except ValueError as exc:
        return error(400, str(exc))
    rows = await asyncio.to_thread(store.events, since=since, type=kind, camera=camera, global_id=global_id,
                                   limit=limit, after_id=after_id)
    return web.json_response({"events": rows})


@routes.get("/api/identities")
async def identities(request: web.Request) -> web.Response:
    store = need_store(request)
    try:
        limit = _query_number(request.query, "limit", int, 200, 1, 10_000)
    except ValueError as exc:
        return error(400, str(exc))
    return web.json_response({"identities": await asyncio.to_thread(store.identities, limit)})


@routes.get("/api/identities/{global_id}")
async def identity(request: web.Request) -> web.Response:
    store = need_store(request)
    try:
        gid = _number(request.match_info["global_id"], "a global ID", int, 1, MAX_ID)
    except ValueError as exc:
        return error(400, str(exc))
    found = await asyncio.to_thread(store.identity, gid)
    if found is None:
        return error(404, f"no global ID {gid} in the store")
    journey = await asyncio.to_thread(store.journey, gid)
    return web.json_response({"identity": found, "events": journey})


@routes.get("/api/floor")
async def floor(request: web.Request) -> web.Response:
    return web.json_response(floor_map(request.app[PIPELINE].config, request.app[HUB].image_sizes()))


@routes.get(PLAN_URL)
async def floor_plan(request: web.Request) -> web.StreamResponse:
    plan = request.app[PIPELINE].config.server.floor_plan
    if plan is None:
        return error(404, "no floor plan: set server.floor_plan in the config to show one under the floor view")
    if not Path(plan.image).is_file():
        return error(404, f"the floor plan image {Path(plan.image).name} is missing: fix server.floor_plan.image")
    return web.FileResponse(plan.image)


@routes.get("/api/positions")
async def positions(request: web.Request) -> web.Response:
    return web.json_response(request.app[HUB].floor.body())


async def websocket(request: web.Request, subscribe: Callable[[LiveHub], ClientQueue]) -> web.StreamResponse:
    config = request.app[CONFIG]
    if not origin_allowed(request, config.allowed_origins, request.app[HOST_NAMES]):
        return error(403, f"WebSocket from origin {request.headers.get('Origin')} refused: "
                          "add it to server.allowed_origins to allow it")
    ws = web.WebSocketResponse(heartbeat=config.heartbeat_s)
    await ws.prepare(request)
    hub = request.app[HUB]
    client = subscribe(hub)
    transport = request.app[SOCKETS][ws] = request.transport  # kept: aiohttp lets go of it as it closes
    sender = asyncio.create_task(_pump(client, ws))
    try:
        async for message in ws:  # the page sends nothing; this notices the close
            if message.type == WSMsgType.ERROR:
                break
    finally:
        hub.remove_client(client)
        sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)
        if ws.close_code == WSCloseCode.ABNORMAL_CLOSURE:
            # a client that stopped answering (the heartbeat): what it never read would hold the
            # connection, and the kernel's send buffer, for as long as its end stays up
            cut_connection(transport)
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
    camera_id, camera_ids = request.match_info["camera_id"], request.app[PIPELINE].config.camera_ids
    if camera_id not in camera_ids:
        return error(404, f"no camera {camera_id!r}; cameras: {', '.join(camera_ids)}")
    return await websocket(request, lambda hub: hub.add_client(camera_id))


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


def cut_connection(transport) -> None:
    """End a connection at once (a TCP reset), dropping what the peer has not read: closing it waits
    for the peer to read that first, and a peer that stopped reading never does."""
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:  # already closed
            pass
    transport.abort()


_INTEGER = re.compile(r"-?[0-9]+")
_DECIMAL = re.compile(r"-?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?")


def _number(text: str, name: str, kind: type, low=None, high=None):
    """text as an int or float within low..high, written as JSON writes numbers: ASCII digits, no
    spaces, underscores, signs other than a leading minus, nan or inf (which Python would read)."""
    what = "an integer" if kind is int else "a number"
    if not (_INTEGER if kind is int else _DECIMAL).fullmatch(text):
        raise ValueError(f"{name} must be {what} in ASCII digits; got {text!r}")
    value = kind(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"{name} must be a finite number; got {text!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{name} must be in {low}..{high}; got {text!r}")
    return value
