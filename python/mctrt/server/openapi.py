"""The API's OpenAPI 3.1 description (served at /api/openapi.json). Its schemas are JSON Schema, and
the server tests validate every response against them, so this file is where each shape is defined."""

from __future__ import annotations

from mctrt.events import EVENT_TYPES
from mctrt.io.sources import CONNECTED, CONNECTING, ENDED, FAILED, OFFLINE, RECONNECTING
from mctrt.metrics import STAGES


def _obj(required: dict, optional: dict | None = None, extra: bool = False, description: str = "") -> dict:
    schema = {"type": "object", "properties": {**required, **(optional or {})}, "required": list(required),
              "additionalProperties": extra}
    if description:
        schema["description"] = description
    return schema


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


NUM, INT, STR, BOOL = {"type": "number"}, {"type": "integer"}, {"type": "string"}, {"type": "boolean"}
NULL_NUM, NULL_INT = {"type": ["number", "null"]}, {"type": ["integer", "null"]}
POINT = {"type": "array", "items": NUM, "minItems": 2, "maxItems": 2}
NULL_POINT = {**POINT, "type": ["array", "null"]}
POINTS = {"type": "array", "items": POINT}
STATES = [CONNECTING, CONNECTED, RECONNECTING, ENDED, FAILED, OFFLINE]
POSITIONS = {  # the body of /api/positions, and of a /ws/positions message beside its type
    "time": {"type": ["number", "null"], "description": "scene seconds of the newest step (null before it)"},
    "people": {"type": "array", "items": _ref("FloorPerson")}}

SCHEMAS = {
    "Error": _obj({"error": STR}),
    "Latency": _obj({"p50_ms": NULL_NUM, "p95_ms": NULL_NUM, "p99_ms": NULL_NUM, "mean_ms": NULL_NUM, "count": INT},
                    description="Percentiles over the recent samples (null before the first)."),
    "CameraStats": _obj({
        "camera_id": STR, "kind": {"enum": ["file", "stream", "webcam"]}, "state": {"enum": STATES},
        "reason": {"type": "string", "description": "why, when the state is not a healthy one"},
        "fps": {"type": "number", "description": "processed frames/s over the last 5 s"},
        "source_fps": NULL_NUM, "frames": {"type": "integer", "description": "frames processed"},
        "frames_read": INT, "frames_dropped": {"type": "integer", "description": "frames the pipeline was too slow for"},
        "reconnects": INT, "width": NULL_INT, "height": NULL_INT,
        "detections": {"type": "integer", "description": "in the last processed frame"}, "tracks": INT}),
    "Stats": _obj({
        "time": {"type": "number", "description": "server time, Unix seconds"}, "mode": {"enum": ["live", "offline"]},
        "running": BOOL, "uptime_s": NUM, "total_frames": INT, "fps_total": NUM,
        "cameras": {"type": "array", "items": _ref("CameraStats")},
        "stages": _obj({name: _ref("Latency") for name in STAGES}, description="time per pipeline step"),
        "capture_to_result": _ref("Latency"), "capture_to_send": _ref("Latency"),
        "association": _obj({"gallery_size": INT, "global_ids": INT, "active_ids": INT, "cross_camera_ids": INT,
                             "handoffs": INT, "corrections": {"type": "integer", "description": "IDs corrected"},
                             "floor_tracks": {"type": "integer", "description": "people placed on the floor"}}),
        "events": _obj({t: INT for t in EVENT_TYPES}, description="events since the start, by type"),
        "zones": {"type": "object", "additionalProperties": INT, "description": "people inside each zone now"},
        "clients": _obj({"video": INT, "stats": INT, "positions": INT,
                         "dropped_frames": {"type": "integer", "description": "frames slow video clients missed"}}),
    }),
    "Camera": _obj({
        "camera_id": STR, "kind": {"enum": ["file", "stream", "webcam"]}, "state": {"enum": STATES}, "reason": STR,
        "width": NULL_INT, "height": NULL_INT, "source_fps": NULL_NUM,
        "lines": {"type": "array", "items": _obj({"name": STR, "points": {"type": "array", "items": POINT}})},
        "zones": {"type": "array", "items": _obj({"name": STR, "polygon": {"type": "array", "items": POINT}})},
    }, description="Lines and zones are in the source image's pixels."),
    "Event": _obj(
        {"type": {"enum": list(EVENT_TYPES)}, "time": {"type": "number", "description": "scene time, Unix seconds"},
         "camera_id": {"type": ["string", "null"], "description": "null for floor zones and lines"},
         "global_id": {"type": ["integer", "null"], "description": "null for a camera's own events (camera_*)"},
         "track_id": NULL_INT, "frame": NULL_INT},
        {"id": {"type": "integer", "description": "the store's sequence number"}, "duration_s": NUM,
         "threshold_s": NUM, "line": STR, "direction": {"enum": ["forward", "backward"]}, "zone": STR,
         "occupancy": INT, "first_seen": NUM, "cameras": {"type": "array", "items": STR}, "old_global_id": INT,
         "corrected_to": INT, "x": {"type": "number", "description": "floor metres, for floor zones and lines"},
         "y": NUM, "reason": {"type": ["string", "null"], "description": "id_corrected: floor or appearance; exit, zone_leave: unclosed (left open by an earlier run that stopped, closed by the next)"}},
        extra=True, description="The event schema of mctrt.events (new keys may be added, none removed)."),
    "Identity": _obj({"global_id": INT, "cameras": {"type": "array", "items": STR}, "first_seen": NUM,
                      "last_seen": NUM, "events": INT}),
    "FloorCamera": _obj({
        "camera_id": STR, "calibrated": BOOL,
        "position": {**NULL_POINT, "description": "where it stands on the floor (metres), when its pose is known"},
        "height_m": NULL_NUM,
        "view": {**POINTS, "description": "the floor polygon it sees (metres); empty until its image size is known"}}),
    "FloorPlan": _obj({"url": STR, "origin_px": {**POINT, "description": "the plan pixel of the floor's (0, 0)"},
                       "pixels_per_m": NUM, "y_axis": {"enum": ["up", "down"],
                                                       "description": "where the floor's +y points on the plan"}}),
    "Floor": _obj({
        "cameras": {"type": "array", "items": _ref("FloorCamera")},
        "zones": {"type": "array", "items": _obj({"name": STR, "polygon_m": POINTS, "dwell_threshold_s": NULL_NUM})},
        "lines": {"type": "array", "items": _obj({"name": STR, "points_m": POINTS})},
        "bounds": {"type": ["array", "null"], "items": NUM, "minItems": 4, "maxItems": 4,
                   "description": "[x_min, y_min, x_max, y_max] around the views, zones and lines (metres)"},
        "plan": {"anyOf": [_ref("FloorPlan"), {"type": "null"}], "description": "the floor plan image, if configured"},
    }, description="The floor map in metres, +y up as on a map."),
    "FloorPerson": _obj({
        "global_id": INT, "x": NUM, "y": NUM, "vx": NUM, "vy": NUM,
        "time": {"type": "number", "description": "scene seconds of the last correction of the position"},
        "cameras": {"type": "array", "items": STR, "description": "cameras tracking them now"},
        "trail": {**POINTS, "description": "their positions over the last server.trail_s seconds, oldest first"}},
        description="One person on the floor: position (metres) and velocity (m/s)."),
    "Positions": _obj(POSITIONS),
    "PositionsMessage": _obj({"type": {"const": "positions"}, **POSITIONS},
                             description="A /ws/positions message: the body of /api/positions with its type."),
    "Meta": _obj({
        "event_types": {"type": "array", "items": {"enum": list(EVENT_TYPES)}, "uniqueItems": True,
                        "description": "every Event type (mctrt.events.EVENT_TYPES), in that order"},
        "stages": {"type": "array", "items": {"enum": list(STAGES)}, "uniqueItems": True,
                   "description": "the keys of Stats.stages (mctrt.metrics.STAGES), in pipeline order"}},
        description="Names the server defines, for clients to list rather than copy."),
    "Health": _obj({"status": {"enum": ["ok", "degraded", "stopped"]}, "running": BOOL,
                    "cameras": {"type": "object", "additionalProperties": INT, "description": "cameras per state"}}),
}


def _get(summary: str, schema: dict, params: list | None = None, errors: tuple[int, ...] = (401,),
         content: dict | None = None) -> dict:
    """A GET operation answering `schema` as JSON (or `content`, media type -> media type object)."""
    responses = {"200": {"description": "OK", "content": content or {"application/json": {"schema": schema}}}}
    meaning = {400: "a bad parameter", 401: "a token is needed", 404: "not found",
               503: "the event store is off"}
    for code in errors:
        responses[str(code)] = {"description": meaning[code], "content": {"application/json": {"schema": _ref("Error")}}}
    return {"get": {"summary": summary, "parameters": params or [], "responses": responses}}


def _query(name: str, schema: dict, description: str) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def _list_of(key: str, item: str) -> dict:
    return _obj({key: {"type": "array", "items": _ref(item)}})


GLOBAL_ID = {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}


def _health() -> dict:
    """/health: public (no token), and 503 with the same body once the pipeline has stopped."""
    operation = _get("liveness: ok, degraded (a camera failed or reconnects) or stopped (503)", _ref("Health"), errors=())
    operation["get"]["security"] = []
    operation["get"]["responses"]["503"] = {"description": "stopped",
                                            "content": {"application/json": {"schema": _ref("Health")}}}
    return operation


def openapi(camera_ids: list[str] | None = None) -> dict:
    """The document; with camera_ids (the served one has them), the camera parameter lists them."""
    camera = {"enum": list(camera_ids)} if camera_ids else {"type": "string", "minLength": 1}
    events_params = [
        _query("since", NUM, "only events after this time (Unix seconds)"),
        _query("type", {"enum": list(EVENT_TYPES)}, "only this type"),
        _query("camera", camera, "only this camera (one of the configured cameras)"),
        _query("global_id", GLOBAL_ID, "only this person (under the global IDs corrected into theirs too)"),
        _query("limit", {"type": "integer", "minimum": 1, "maximum": 10000, "default": 100},
               "the newest this many (returned oldest first)"),
        _query("after_id", {"type": "integer", "minimum": 0},
               "instead of the newest: the first `limit` events stored after the one with this id, in the order "
               "stored (poll with the last id you got: an exit carries the time last seen, so it is stored after "
               "newer events and `since` passes it by)"),
    ]
    return {
        "openapi": "3.1.0",
        "info": {"title": "mctrt", "version": "1", "description": (
            "Live multi-camera people tracking. With a token configured, /api/* (but this document) and /ws/* "
            "need 'Authorization: Bearer <token>' or ?token=<token>. A query parameter a path does not list "
            "(but token) is refused with 400. WebSockets: /ws/{camera_id} sends binary "
            "messages (4-byte big-endian header length, UTF-8 JSON header {camera_id, frame, captured_at, "
            "sent_at, width, height, scale, detections, tracks: [{track_id, global_id (0: pending), box "
            "[x0, y0, x1, y1] in source pixels, score}]}, then a JPEG); /ws/stats and /ws/dashboard-stats send "
            "JSON {type: 'stats', stats: Stats} and {type: 'events', events: [Event]}; /ws/positions sends "
            "JSON PositionsMessage (the body of /api/positions with type: 'positions') at most server.jpeg_max_fps "
            "times a second.")},
        "components": {"schemas": SCHEMAS, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": {
            "/health": _health(),
            "/api/meta": _get("the event types and the pipeline stages, in order", _ref("Meta")),
            "/api/stats": _get("cameras, stage latency, association and event counters, clients", _ref("Stats")),
            "/api/cameras": _get("the cameras with their lines and zones", _list_of("cameras", "Camera")),
            "/api/events": _get("stored events, newest `limit`, oldest first", _list_of("events", "Event"),
                                events_params, (400, 401, 503)),
            "/api/identities": _get("global IDs, most recently seen first", _list_of("identities", "Identity"),
                                    [_query("limit", {"type": "integer", "minimum": 1, "maximum": 10000, "default": 200},
                                            "at most this many")], (400, 401, 503)),
            "/api/identities/{global_id}": _get(
                "one person and their journey: every event, with those of IDs corrected into it",
                _obj({"identity": _ref("Identity"), "events": {"type": "array", "items": _ref("Event")}}),
                [{"name": "global_id", "in": "path", "required": True, "schema": GLOBAL_ID}], (400, 401, 404, 503)),
            "/api/floor": _get("the floor map: calibrated cameras and the floor they see, floor zones and lines, "
                               "bounds, and the plan image's placement", _ref("Floor")),
            "/api/floor/plan": _get("the floor plan image (server.floor_plan); 404 when none is configured", {},
                                    errors=(401, 404), content={"image/png": {}, "image/jpeg": {}}),
            "/api/positions": _get("the people on the floor at the newest step, with their recent trails",
                                   _ref("Positions")),
        },
        "security": [{"bearer": []}],
    }


def query_parameters(document: dict) -> dict[str, frozenset[str]]:
    """path (as the document writes it) -> the query parameters its GET takes, besides token."""
    return {path: frozenset(p["name"] for p in item["get"].get("parameters", ()) if p["in"] == "query")
            for path, item in document["paths"].items() if "get" in item}

