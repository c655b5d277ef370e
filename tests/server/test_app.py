"""The dashboard's server through aiohttp's test client, against the real app factory and a real
pipeline (YOLOv8n on onnxruntime) fed real frames: routes, every JSON shape checked against the
OpenAPI schemas it serves, the video, stats and positions WebSockets, the floor map and plan, the
token, the Origin check, a slow client that does not hold the others up, and a shutdown that closes
every socket."""

import asyncio
import json
import struct
import time

import cv2
import jsonschema
import numpy as np
import pytest
import yaml
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient, TestServer

from mctrt.config import ServerConfig, config_from_dict
from mctrt.events import EVENT_TYPES
from mctrt.metrics import STAGES
from mctrt.pipeline import Pipeline
from mctrt.server import create_app
from mctrt.server.routes import HUB, WEB_DIR
from mctrt.server.openapi import openapi
from mctrt.types import Frame

TOKEN = "s3cret-token"


def make_pipeline(assets, tmp_path, store=True, server=None) -> Pipeline:
    config = config_from_dict({
        "inputs": [{"camera_id": "west", "path": "west.mp4"}, {"camera_id": "east", "path": "east.mp4"}],
        "modules": {"detector": {"model": str(assets / "models/yolov8n_coco_fp32.onnx"), "conf_threshold": 0.1},
                    "tracker": {"track_thresh": 0.3, "new_track_thresh": 0.3}},
        "association": {"maturity": 1},
        "events": {"exit_after_s": 0.5,
                   "lines": [{"name": "door", "camera_id": "west", "points": [[0, 300], [640, 300]]}],
                   "zones": [{"name": "kerb", "camera_id": "east", "polygon": [[0, 0], [810, 0], [810, 1080], [0, 1080]]}]},
        "store": {"path": str(tmp_path / "events.db") if store else None},
        "server": server or {},
    }, base=tmp_path)
    return Pipeline(config)


DEMO_STEPS = 8  # enough for people to be placed on the floor and leave a trail
SCENE = {"name": "scene", "polygon_m": [[-60, -60], [60, -60], [60, 60], [-60, 60]]}  # holds the whole demo
DIVIDE = {"name": "divide", "points_m": [[0, -60], [0, 60]]}


@pytest.fixture(scope="module")
def demo_frames(assets):
    """The first DEMO_STEPS frames of the demo's two cameras: {camera_id: [image, ...]}."""
    out = {}
    for cam in ("west", "east"):
        video = cv2.VideoCapture(str(assets / f"data/pets09_split2/{cam}/{cam}.mp4"))
        out[cam] = [video.read()[1] for _ in range(DEMO_STEPS)]
        video.release()
        assert all(image is not None for image in out[cam]), cam
    return out


@pytest.fixture
async def demo(tmp_path, demo_config, demo_int8_cached, aiohttp_client):
    """configs/demo.yaml (both cameras calibrated) with a floor zone and a floor line added, served."""
    path = demo_config(tmp_path)
    data = yaml.safe_load(path.read_text())
    data["events"]["zones"].append(SCENE)
    data["events"]["lines"].append(DIVIDE)
    pipeline = Pipeline(config_from_dict(data, base=tmp_path))
    client = await aiohttp_client(create_app(pipeline))
    yield pipeline, client
    pipeline.close()


async def feed_demo(pipeline, demo_frames, steps=DEMO_STEPS, t0=1000.0):
    for k in range(1, steps + 1):
        frames = [Frame(cam, k, time.monotonic(), t0 + 0.1 * k, images[k - 1]) for cam, images in demo_frames.items()]
        await asyncio.to_thread(pipeline.process, frames)


@pytest.fixture(scope="module")
def street(assets):
    """A real photo with people in it (bus.jpg), as the cameras' frames."""
    image = cv2.imread(str(assets / "images/bus.jpg"))
    assert image is not None
    return image


def frames(image, index, t, cameras=("west", "east")):
    return [Frame(cam, index, time.monotonic(), t, image) for cam in cameras]


async def feed(pipeline, image, count, start=1, t0=1000.0, cameras=("west", "east")):
    """Process `count` steps of `image` on a worker thread, as the running pipeline would."""
    for k in range(start, start + count):
        await asyncio.to_thread(pipeline.process, frames(image, k, t0 + 0.1 * k, cameras))


def check(instance, schema_name_or_schema):
    """Validate a response against the served OpenAPI document's schemas."""
    doc = openapi()
    schema = schema_name_or_schema
    if isinstance(schema, str):
        schema = {"$ref": f"#/components/schemas/{schema}"}
    jsonschema.validate(instance, {**schema, "components": doc["components"]})


def response_schema(path):
    return openapi()["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]


@pytest.fixture
async def served(assets, tmp_path, street, aiohttp_client):
    pipeline = make_pipeline(assets, tmp_path)
    client = await aiohttp_client(create_app(pipeline))
    yield pipeline, client
    pipeline.close()


def parse_video(message: bytes):
    (length,) = struct.unpack(">I", message[:4])
    header = json.loads(message[4:4 + length])
    image = cv2.imdecode(np.frombuffer(message[4 + length:], np.uint8), cv2.IMREAD_COLOR)
    return header, image


async def test_page_static_files_and_health(served):
    _, client = served
    page = await client.get("/")
    assert page.status == 200 and "<html" in (await page.text()).lower()
    modules = sorted(path.name for path in client.app[WEB_DIR].glob("*.js"))
    assert {"app.js", "floor.js"} <= set(modules)
    # Browsers refuse an ES module served with any other than a JavaScript MIME type.
    for name, kind in [*((module, "javascript") for module in modules), ("style.css", "css")]:
        response = await client.get(f"/static/{name}")
        assert response.status == 200 and kind in response.headers["Content-Type"], name
    for escape in ("/static/../server/app.py", "/static/%2e%2e/server/app.py", "/static/../../pyproject.toml"):
        assert (await client.get(escape)).status in (403, 404)
    health = await client.get("/health")
    assert health.status == 503  # not running yet
    body = await health.json()
    check(body, "Health")
    assert body["status"] == "stopped" and body["cameras"] == {"connecting": 2}


async def test_openapi_document_is_served_and_describes_every_api_route(served):
    _, client = served
    doc = await (await client.get("/api/openapi.json")).json()
    assert doc["openapi"].startswith("3.1")
    routes = {r.resource.canonical for r in client.app.router.routes() if r.method == "GET"}
    api = {r for r in routes if r.startswith("/api/") or r == "/health"}
    assert api == set(doc["paths"]) | {"/api/openapi.json"}
    for schema in doc["components"]["schemas"].values():
        jsonschema.Draft202012Validator.check_schema(schema)


async def test_meta_lists_exactly_the_event_types_and_stages_of_the_python_package(served):
    _, client = served
    response = await client.get("/api/meta")
    assert response.status == 200
    body = await response.json()
    check(body, response_schema("/api/meta"))
    assert body == {"event_types": list(EVENT_TYPES), "stages": list(STAGES)}


async def test_stats_cameras_events_and_identities_after_real_frames(served, street):
    pipeline, client = served
    await feed(pipeline, street, 6)
    stats = await (await client.get("/api/stats")).json()
    check(stats, "Stats")
    assert stats["total_frames"] == 12 and stats["mode"] == "live"
    west = stats["cameras"][0]
    assert west["camera_id"] == "west" and west["detections"] >= 3 and west["tracks"] >= 3  # bus.jpg: 4 people
    assert stats["association"]["global_ids"] >= 3 and stats["events"]["entry"] >= 6

    cameras = await (await client.get("/api/cameras")).json()
    check(cameras, response_schema("/api/cameras"))
    assert cameras["cameras"][0]["lines"] == [{"name": "door", "points": [[0.0, 300.0], [640.0, 300.0]]}]
    assert cameras["cameras"][1]["zones"][0]["name"] == "kerb"

    everything = await (await client.get("/api/events", params={"limit": "1000"})).json()
    check(everything, response_schema("/api/events"))
    assert {e["type"] for e in everything["events"]} >= {"first_seen", "entry", "zone_enter"}
    entries = await (await client.get("/api/events", params={"type": "entry", "camera": "east"})).json()
    assert entries["events"] and all(e["type"] == "entry" and e["camera_id"] == "east" for e in entries["events"])
    latest = everything["events"][-1]["time"]
    assert (await (await client.get("/api/events", params={"since": str(latest)})).json())["events"] == []
    assert len((await (await client.get("/api/events", params={"limit": "2"})).json())["events"]) == 2
    first_two = (await (await client.get("/api/events", params={"after_id": "0", "limit": "2"})).json())["events"]
    after = (await (await client.get("/api/events", params={"after_id": str(first_two[-1]["id"])})).json())["events"]
    assert [e["id"] for e in first_two + after] == sorted(e["id"] for e in everything["events"])  # each once, as stored

    people = await (await client.get("/api/identities")).json()
    check(people, response_schema("/api/identities"))
    gid = people["identities"][0]["global_id"]
    journey = await (await client.get(f"/api/identities/{gid}")).json()
    check(journey, response_schema("/api/identities/{global_id}"))
    assert journey["identity"]["global_id"] == gid and {e["global_id"] for e in journey["events"]} == {gid}


@pytest.mark.parametrize(("query", "message"), [
    ({"type": "party"}, "type must be one of entry"),
    ({"camera": "roof"}, "camera must be one of west, east"),
    ({"limit": "0"}, "limit must be in 1..10000"),
    ({"since": "yesterday"}, "since must be a number"),
    ({"global_id": "1.5"}, "global_id must be an integer"),
    ({"after_id": "-1"}, "after_id must be in 0.."),
    ({"since": "nan"}, "since must be a number in ASCII digits"),
    ({"since": "inf"}, "since must be a number in ASCII digits"),  # read as infinity before: 200, no events
    ({"since": "1e400"}, "since must be a finite number"),
    ({"limit": "1_0"}, "limit must be an integer in ASCII digits"),  # read as 10 before
    ({"limit": " 5"}, "limit must be an integer in ASCII digits"),
])
async def test_bad_event_queries_are_refused_naming_the_parameter(served, query, message):
    _, client = served
    response = await client.get("/api/events", params=query)
    assert response.status == 400
    body = await response.json()
    check(body, "Error")
    assert message in body["error"]


async def test_aiohttps_own_refusals_under_api_and_ws_are_json_errors_too(served):
    """They were plain text: 404: Not Found."""
    _, client = served
    for method, path, status in (("GET", "/api/nope", 404), ("POST", "/api/stats", 405), ("GET", "/ws/stats", 400)):
        response = await client.request(method, path)
        assert response.status == status and response.content_type == "application/json", path
        body = await response.json()
        check(body, "Error")
        assert body["error"].startswith(f"{method} {path}: "), body
    assert "GET" in (await client.post("/api/stats")).headers["Allow"]


async def test_unknown_identity_and_camera_are_404(served):
    _, client = served
    assert (await client.get("/api/identities/999")).status == 404
    assert (await client.get("/api/identities/x")).status == 400
    response = await client.get("/ws/roof")
    assert response.status == 404 and "cameras: west, east" in (await response.json())["error"]


async def test_without_a_store_history_routes_say_so(assets, tmp_path, aiohttp_client):
    pipeline = make_pipeline(assets, tmp_path, store=False)
    client = await aiohttp_client(create_app(pipeline))
    response = await client.get("/api/events")
    assert response.status == 503 and "event store is off" in (await response.json())["error"]
    assert (await client.get("/api/stats")).status == 200
    pipeline.close()


async def test_video_socket_sends_jpeg_frames_with_their_boxes_and_global_ids(served, street):
    pipeline, client = served
    ws = await client.ws_connect("/ws/west")
    await feed(pipeline, street, 3)
    message = await ws.receive(timeout=10)
    assert message.type == WSMsgType.BINARY
    header, image = parse_video(message.data)
    assert header["camera_id"] == "west" and 1 <= header["frame"] <= 3
    h, w = street.shape[:2]
    assert image.shape[:2] == (header["height"], header["width"]) and header["scale"] == min(1.0, 960 / w)
    assert header["width"] == round(w * header["scale"]) and header["height"] == round(h * header["scale"])
    assert header["detections"] >= 3 and len(header["tracks"]) >= 3
    for track in header["tracks"]:
        x0, y0, x1, y1 = track["box"]
        assert 0 <= x0 < x1 <= w + 1 and 0 <= y0 < y1 <= h + 1 and track["global_id"] >= 0
    assert header["captured_at"] <= header["sent_at"]
    await ws.close()


async def test_stats_socket_pushes_stats_and_new_events_on_both_paths(served, street):
    pipeline, client = served
    for path in ("/ws/stats", "/ws/dashboard-stats"):
        ws = await client.ws_connect(path)
        await feed(pipeline, street, 2, start=1 if path == "/ws/stats" else 10, t0=1000.0 if path == "/ws/stats" else 2000.0)
        kinds, deadline = {}, asyncio.get_running_loop().time() + 10
        while len(kinds) < 2 and asyncio.get_running_loop().time() < deadline:
            message = json.loads((await ws.receive(timeout=10)).data)
            kinds[message["type"]] = message
        assert set(kinds) == {"stats", "events"}, path
        check(kinds["stats"]["stats"], "Stats")
        for event in kinds["events"]["events"]:
            check(event, "Event")
            assert event["type"] in EVENT_TYPES and "id" in event  # stored before it was pushed
        await ws.close()


async def test_token_is_required_by_the_api_and_websockets_but_not_health_or_the_page(assets, tmp_path, aiohttp_client):
    pipeline = make_pipeline(assets, tmp_path)
    client = await aiohttp_client(create_app(pipeline, ServerConfig(token=TOKEN)))
    for path in ("/api/meta", "/api/stats", "/api/events", "/api/cameras", "/api/identities", "/api/floor",
                 "/api/floor/plan", "/api/positions", "/ws/west", "/ws/stats", "/ws/positions"):
        response = await client.get(path)
        assert response.status == 401, path
        assert "Bearer" in (await response.json())["error"] and response.headers["WWW-Authenticate"] == "Bearer"
        assert (await client.get(path, headers={"Authorization": "Bearer wrong"})).status == 401
    assert (await client.get("/api/stats", headers={"Authorization": f"Bearer {TOKEN}"})).status == 200
    assert (await client.get("/api/stats", headers={"Authorization": f"bearer {TOKEN}"})).status == 200  # RFC 7235
    assert (await client.get("/api/stats", params={"token": TOKEN})).status == 200
    ws = await client.ws_connect(f"/ws/stats?token={TOKEN}")
    assert not ws.closed
    await ws.close()
    for open_path in ("/", "/static/app.js", "/health", "/api/openapi.json"):
        assert (await client.get(open_path)).status in (200, 503), open_path
    pipeline.close()


async def test_token_from_the_environment(assets, tmp_path, aiohttp_client, monkeypatch):
    monkeypatch.setenv("MCTRT_TOKEN", TOKEN)
    pipeline = make_pipeline(assets, tmp_path)
    client = await aiohttp_client(create_app(pipeline))
    assert (await client.get("/api/stats")).status == 401
    assert (await client.get("/api/stats", headers={"Authorization": f"Bearer {TOKEN}"})).status == 200
    pipeline.close()


async def test_websockets_from_another_origin_are_refused(assets, tmp_path, aiohttp_client):
    pipeline = make_pipeline(assets, tmp_path)
    client = await aiohttp_client(create_app(pipeline, ServerConfig(allowed_origins=("https://ops.example.com",))))
    for path in ("/ws/stats", "/ws/positions"):
        response = await client.get(path, headers={"Origin": "http://evil.example"})
        assert response.status == 403 and "server.allowed_origins" in (await response.json())["error"]
    own = f"http://{client.server.host}:{client.server.port}"
    for origin in (own, "https://ops.example.com"):
        ws = await client.ws_connect("/ws/west", headers={"Origin": origin})
        assert not ws.closed
        await ws.close()
    pipeline.close()


async def test_a_listed_origin_matches_as_a_browser_sends_it_whatever_its_case_default_port_or_slash(
        assets, tmp_path, aiohttp_client):
    pipeline = make_pipeline(assets, tmp_path)
    listed = ("HTTPS://Ops.Example.com:443/", "http://lab.example:8080")
    client = await aiohttp_client(create_app(pipeline, ServerConfig(allowed_origins=listed)))
    for origin in ("https://ops.example.com", "http://lab.example:8080"):
        ws = await client.ws_connect("/ws/stats", headers={"Origin": origin})
        assert not ws.closed
        await ws.close()
    for origin in ("http://ops.example.com", "https://ops.example.com:8443", "http://lab.example"):
        assert (await client.get("/ws/stats", headers={"Origin": origin})).status == 403
    pipeline.close()


async def test_a_websocket_client_that_stops_answering_pings_is_closed_after_the_heartbeat(assets, tmp_path,
                                                                                            aiohttp_client):
    pipeline = make_pipeline(assets, tmp_path)
    # 4 s: aiohttp waits heartbeat/2 for a pong, and the answering client pongs only when the loop runs its
    # reader; 1 s closed it too after a half-second stall of a loaded machine
    client = await aiohttp_client(create_app(pipeline, ServerConfig(heartbeat_s=4.0)))
    silent = await client.ws_connect("/ws/stats", autoping=False)  # a page whose machine went to sleep
    answering = await client.ws_connect("/ws/stats")  # answers each ping as it reads
    gone = asyncio.Event()

    async def read(ws, until: asyncio.Event | None = None) -> list:
        kinds = []
        while not (until and until.is_set()):
            kinds.append((await ws.receive(timeout=30.0)).type)
            if kinds[-1] in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
                break
        return kinds

    reader = asyncio.create_task(read(answering, gone))
    silent_saw = await read(silent)
    gone.set()
    answering_saw = await reader  # returns at its next message (stats come every second)
    assert WSMsgType.PING in silent_saw and silent_saw[-1] in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED)
    assert answering_saw[-1] == WSMsgType.TEXT and not answering.closed  # closed for not answering, not for time
    await answering.close()
    pipeline.close()


async def raw_request(client, request: bytes) -> bytes:
    """Send bytes as they are (no HTTP library would send a malformed header) and read the status line."""
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    writer.write(request)
    await writer.drain()
    line = await reader.readline()
    writer.close()
    await writer.wait_closed()
    return line


async def test_a_token_that_is_not_utf8_is_refused_not_an_error(assets, tmp_path, aiohttp_client):
    pipeline = make_pipeline(assets, tmp_path)
    client = await aiohttp_client(create_app(pipeline, ServerConfig(token=TOKEN)))
    line = await raw_request(client, b"GET /api/stats HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \xff\r\n"
                                     b"Connection: close\r\n\r\n")
    assert line.split()[1] == b"401", line
    pipeline.close()


async def test_requests_addressed_to_another_host_name_are_refused(assets, tmp_path, aiohttp_client):
    """DNS rebinding: a page of evil.example whose name resolves to this machine sends Host and Origin
    evil.example; neither the API nor a WebSocket may answer it. IP addresses, localhost and the names in
    server.allowed_hosts are answered."""
    pipeline = make_pipeline(assets, tmp_path)
    client = await aiohttp_client(create_app(pipeline, ServerConfig(allowed_hosts=("ops.example.com",))))
    port = client.server.port
    evil = {"Host": f"evil.example:{port}", "Origin": f"http://evil.example:{port}"}
    for path in ("/api/events", "/api/stats", "/ws/stats", "/"):
        response = await client.get(path, headers=evil)
        assert response.status == 421, path
        assert "server.allowed_hosts" in (await response.json())["error"]
    for host in (f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}", "ops.example.com", "OPS.example.com."):
        assert (await client.get("/api/stats", headers={"Host": host})).status == 200, host
    ws = await client.ws_connect("/ws/stats", headers={"Host": f"localhost:{port}", "Origin": f"http://localhost:{port}"})
    assert not ws.closed
    await ws.close()
    pipeline.close()


@pytest.mark.parametrize("path", [
    "/api/events?global_id=99999999999999999999",
    "/api/events?global_id=-3",
    "/api/events?global_id=%D9%A1",  # Arabic-Indic one: Python's int() would read it
    "/api/events?since=%D9%A1",
    "/api/identities/99999999999999999999",
    "/api/identities/%C2%B2",  # a superscript two passes str.isdigit()
    "/api/identities/%D9%A1",
])
async def test_out_of_range_and_non_ascii_numbers_are_400(served, path):
    _, client = served
    response = await client.get(path)
    assert response.status == 400, path
    check(await response.json(), "Error")


async def test_a_query_parameter_the_document_does_not_list_is_400_naming_it(served):
    _, client = served
    response = await client.get("/api/events?limt=5")
    body = await response.json()
    assert response.status == 400 and body["error"] == ("/api/events has no query parameter 'limt'; it takes: after_id, "
                                                        "camera, global_id, limit, since, type")
    assert (await client.get("/api/stats?x=1")).status == 400 and (await client.get("/api/events?limit=5")).status == 200
    served_document = await (await client.get("/api/openapi.json")).json()
    camera = next(p for p in served_document["paths"]["/api/events"]["get"]["parameters"] if p["name"] == "camera")
    assert camera["schema"] == {"enum": ["west", "east"]}  # the configured cameras


async def test_a_slow_video_client_loses_frames_and_does_not_delay_another(assets, tmp_path, aiohttp_client):
    """One client never reads: its socket fills, its queue drops its oldest frames; the other client
    still gets the newest frame. Big noisy frames fill the socket buffers quickly."""
    pipeline = make_pipeline(assets, tmp_path, store=False)
    # heartbeat an hour: the slow client never reads, so never answers a ping, and on a loaded machine
    # the 40 steps outlast the default's 20 s (it was closed for that, and counted one client of two)
    client = await aiohttp_client(create_app(pipeline, ServerConfig(jpeg_max_fps=120, jpeg_quality=95,
                                                                    jpeg_max_width=1920, heartbeat_s=3600.0)))
    slow = await client.ws_connect("/ws/west")
    fast = await client.ws_connect("/ws/west")
    got = []

    async def read_fast():
        async for message in fast:
            got.append(parse_video(message.data)[0]["frame"])

    reader = asyncio.create_task(read_fast())
    noise = np.random.default_rng(0).integers(0, 256, (1080, 1920, 3), np.uint8)
    steps = 40
    for k in range(1, steps + 1):  # on a worker thread, as the running pipeline does: the loop stays free to send
        await asyncio.to_thread(pipeline.process, [Frame("west", k, time.monotonic(), 1000.0 + k, noise)])
    deadline = asyncio.get_running_loop().time() + 20
    while (not got or got[-1] != steps) and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.05)
    stats = await (await client.get("/api/stats")).json()
    assert got and got[-1] == steps, got  # the newest frame reached the reading client
    assert len(got) >= steps // 4
    assert stats["clients"]["video"] == 2 and stats["clients"]["dropped_frames"] > 0
    reader.cancel()
    await slow.close()
    await fast.close()
    pipeline.close()


async def test_shutdown_closes_every_socket(assets, tmp_path):
    pipeline = make_pipeline(assets, tmp_path)
    client = TestClient(TestServer(create_app(pipeline)))
    await client.start_server()
    sockets = [await client.ws_connect(path) for path in ("/ws/stats", "/ws/west", "/ws/east")]
    await client.server.close()  # runs on_shutdown and the cleanup: the hub stops, the sockets close
    for ws in sockets:
        message = await ws.receive(timeout=5)
        assert message.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING)
        assert ws.closed or message.type == WSMsgType.CLOSE
    assert not client.app[HUB].stats_clients and not any(client.app[HUB].video_clients.values())
    await client.close()
    pipeline.close()


# -- the floor -------------------------------------------------------------------------------------------

async def test_floor_map_has_the_calibrated_cameras_views_once_frames_flowed(demo, demo_frames):
    pipeline, client = demo
    before = await (await client.get("/api/floor")).json()
    check(before, response_schema("/api/floor"))
    assert [(c["camera_id"], c["calibrated"]) for c in before["cameras"]] == [("west", True), ("east", True)]
    assert all(c["view"] == [] for c in before["cameras"])  # no image size yet: no view
    zones = {z["name"]: z for z in before["zones"]}
    lines = {line["name"]: line for line in before["lines"]}
    assert zones["scene"] == {**SCENE, "dwell_threshold_s": None} and lines["divide"] == DIVIDE
    assert set(zones) == {"scene", "plaza"} and set(lines) == {"divide", "crossing"}  # demo.yaml's own are there too
    assert before["plan"] is None

    await feed_demo(pipeline, demo_frames, steps=1)
    floor = await (await client.get("/api/floor")).json()
    check(floor, response_schema("/api/floor"))
    x_min, y_min, x_max, y_max = floor["bounds"]
    for camera in floor["cameras"]:
        assert len(camera["view"]) >= 3, camera["camera_id"]
        assert all(x_min <= x <= x_max and y_min <= y <= y_max for x, y in camera["view"])
    cameras = (await (await client.get("/api/cameras")).json())["cameras"]
    assert cameras[0]["zones"] == []  # floor zones are no camera's


async def test_positions_place_the_demo_people_on_the_floor_with_their_trails(demo, demo_frames):
    pipeline, client = demo
    assert await (await client.get("/api/positions")).json() == {"time": None, "people": []}
    await feed_demo(pipeline, demo_frames)
    body = await (await client.get("/api/positions")).json()
    check(body, response_schema("/api/positions"))
    assert body["time"] == pytest.approx(1000.0 + 0.1 * DEMO_STEPS)
    assert len(body["people"]) >= 2  # the demo's first frames show three people
    identities = {i["global_id"] for i in (await (await client.get("/api/identities")).json())["identities"]}
    for person in body["people"]:
        assert person["global_id"] in identities and set(person["cameras"]) <= {"west", "east"}
        assert np.isfinite([person["x"], person["y"], person["vx"], person["vy"]]).all()
        assert person["time"] <= body["time"] and person["trail"][-1] == [person["x"], person["y"]]
    assert max(len(p["trail"]) for p in body["people"]) >= DEMO_STEPS // 2
    zone_events = (await (await client.get("/api/events", params={"type": "zone_enter"})).json())["events"]
    on_floor = [e for e in zone_events if e["zone"] == SCENE["name"]]
    assert {e["global_id"] for e in on_floor} >= {p["global_id"] for p in body["people"]}
    for event in on_floor:
        check(event, "Event")
        assert event["camera_id"] is None and event["track_id"] is None and {"x", "y"} <= set(event)


async def test_positions_socket_pushes_the_people_on_the_floor(demo, demo_frames):
    pipeline, client = demo
    ws = await client.ws_connect("/ws/positions")
    await feed_demo(pipeline, demo_frames, steps=3)
    deadline = asyncio.get_running_loop().time() + 60
    message = {"people": []}
    while not message["people"] and asyncio.get_running_loop().time() < deadline:
        message = json.loads((await ws.receive(timeout=60)).data)
        check(message, "PositionsMessage")
        assert message["type"] == "positions"
    assert message["people"] and all(p["trail"] for p in message["people"])
    stats = await (await client.get("/api/stats")).json()
    check(stats, "Stats")
    assert stats["clients"]["positions"] == 1 and stats["association"]["floor_tracks"] >= 1
    await ws.close()


async def test_floor_plan_is_404_without_one_and_served_with_one(assets, tmp_path, aiohttp_client):
    pipeline = make_pipeline(assets, tmp_path, store=False)
    client = await aiohttp_client(create_app(pipeline))
    missing = await client.get("/api/floor/plan")
    assert missing.status == 404
    error = await missing.json()
    check(error, "Error")
    assert "server.floor_plan" in error["error"]
    floor = await (await client.get("/api/floor")).json()
    check(floor, response_schema("/api/floor"))
    assert floor["plan"] is None and floor["bounds"] is None and not any(c["calibrated"] for c in floor["cameras"])
    pipeline.close()

    plan_dir = tmp_path / "plan"
    plan_dir.mkdir()
    cv2.imwrite(str(plan_dir / "plan.png"), np.full((6, 8, 3), 200, np.uint8))
    pipeline = make_pipeline(assets, plan_dir, store=False, server={"floor_plan": {
        "image": "plan.png", "origin_px": [2, 3], "pixels_per_m": 20, "y_axis": "down"}})
    client = await aiohttp_client(create_app(pipeline))
    response = await client.get("/api/floor/plan")
    assert response.status == 200
    media_types = openapi()["paths"]["/api/floor/plan"]["get"]["responses"]["200"]["content"]
    assert response.content_type == "image/png" and response.content_type in media_types
    assert await response.read() == (plan_dir / "plan.png").read_bytes()
    floor = await (await client.get("/api/floor")).json()
    check(floor, response_schema("/api/floor"))
    assert floor["plan"] == {"url": "/api/floor/plan", "origin_px": [2.0, 3.0], "pixels_per_m": 20, "y_axis": "down"}
    pipeline.close()


async def test_events_without_a_person_or_a_camera_reach_the_stats_socket(served):
    """Camera health events have no global ID; floor zone events no camera: both must pass through."""
    pipeline, client = served
    ws = await client.ws_connect("/ws/stats")
    offline = {"type": "camera_offline", "time": 1000.0, "camera_id": "west", "global_id": None, "track_id": None,
               "frame": None}
    on_floor = {"type": "zone_enter", "time": 1000.5, "camera_id": None, "global_id": 7, "track_id": None,
                "frame": None, "zone": "hall", "occupancy": 1, "x": 1.5, "y": -2.0}
    await asyncio.to_thread(client.app[HUB].on_results, [], [offline, on_floor])
    deadline = asyncio.get_running_loop().time() + 30
    while asyncio.get_running_loop().time() < deadline:
        message = json.loads((await ws.receive(timeout=30)).data)
        if message["type"] == "events":
            break
    assert message["type"] == "events" and message["events"] == [offline, on_floor]
    for event in message["events"]:
        check(event, "Event")
    await ws.close()



async def test_shutdown_cuts_a_websocket_that_cannot_take_the_close_instead_of_waiting_for_it(monkeypatch):
    """A client that stopped reading (its connection's send buffer full) held SIGTERM up until it went away."""
    from mctrt.server import app as server_app
    from mctrt.server.routes import SOCKETS

    class Stuck:  # a WebSocketResponse whose close waits for a peer that never reads
        async def close(self, **_):
            await asyncio.Event().wait()

    class Answering:
        closed = False

        async def close(self, **_):
            self.closed = True

    class Transport:
        aborted = False

        def get_extra_info(self, name):
            return None

        def abort(self):
            self.aborted = True

    monkeypatch.setattr(server_app, "CLOSE_TIMEOUT_S", 0.2)
    stuck, answering, cut, kept = Stuck(), Answering(), Transport(), Transport()
    sockets = {stuck: cut, answering: kept}
    await asyncio.wait_for(server_app.close_sockets({SOCKETS: sockets}), 10)
    assert cut.aborted and answering.closed and not kept.aborted
