"""The API's OpenAPI 3.1 description (served at /api/openapi.json). Its schemas are JSON Schema, and
the server tests validate every response against them, so this file is where each shape is defined."""

from __future__ import annotations

from mctrt.events import EVENT_TYPES
from mctrt.io.sources import CONNECTED, CONNECTING, ENDED, FAILED, RECONNECTING
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
NULL_NUM, NULL_INT, NULL_STR = {"type": ["number", "null"]}, {"type": ["integer", "null"]}, {"type": ["string", "null"]}
POINT = {"type": "array", "items": NUM, "minItems": 2, "maxItems": 2}
STATES = [CONNECTING, CONNECTED, RECONNECTING, ENDED, FAILED]

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
                             "handoffs": INT}),
        "events": _obj({t: INT for t in EVENT_TYPES}, description="events since the start, by type"),
        "zones": {"type": "object", "additionalProperties": INT, "description": "people inside each zone now"},
        "clients": _obj({"video": INT, "stats": INT,
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
         "camera_id": NULL_STR, "global_id": INT, "track_id": NULL_INT, "frame": NULL_INT},
        {"id": {"type": "integer", "description": "the store's sequence number"}, "duration_s": NUM,
         "threshold_s": NUM, "line": STR, "direction": {"enum": ["forward", "backward"]}, "zone": STR,
         "occupancy": INT, "first_seen": NUM, "cameras": {"type": "array", "items": STR}, "old_global_id": INT,
         "corrected_to": INT},
        extra=True, description="The event schema of mctrt.events (new keys may be added, none removed)."),
    "Identity": _obj({"global_id": INT, "cameras": {"type": "array", "items": STR}, "first_seen": NUM,
                      "last_seen": NUM, "events": INT}),
    "Health": _obj({"status": {"enum": ["ok", "degraded", "stopped"]}, "running": BOOL,
                    "cameras": {"type": "object", "additionalProperties": INT, "description": "cameras per state"}}),
}


def _get(summary: str, schema: dict, params: list | None = None, errors: tuple[int, ...] = (401,)) -> dict:
    responses = {"200": {"description": "OK", "content": {"application/json": {"schema": schema}}}}
    meaning = {400: "a bad parameter", 401: "a token is needed", 404: "not found",
               503: "the event store is off"}
    for code in errors:
        responses[str(code)] = {"description": meaning[code], "content": {"application/json": {"schema": _ref("Error")}}}
    return {"get": {"summary": summary, "parameters": params or [], "responses": responses}}


def _query(name: str, schema: dict, description: str) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def _list_of(key: str, item: str) -> dict:
    return _obj({key: {"type": "array", "items": _ref(item)}})


def openapi() -> dict:
    events_params = [
        _query("since", NUM, "only events after this time (Unix seconds)"),
        _query("type", {"enum": list(EVENT_TYPES)}, "only this type"),
        _query("camera", STR, "only this camera"),
        _query("global_id", INT, "only this person"),
        _query("limit", {"type": "integer", "minimum": 1, "maximum": 10000, "default": 100},
               "the newest this many (returned oldest first)"),
    ]
    return {
        "openapi": "3.1.0",
        "info": {"title": "mctrt", "version": "1", "description": (
            "Live multi-camera people tracking. With a token configured, /api/* (but this document) and /ws/* "
            "need 'Authorization: Bearer <token>' or ?token=<token>. WebSockets: /ws/{camera_id} sends binary "
            "messages (4-byte big-endian header length, UTF-8 JSON header {camera_id, frame, captured_at, "
            "sent_at, width, height, scale, detections, tracks: [{track_id, global_id (0: pending), box "
            "[x0, y0, x1, y1] in source pixels, score}]}, then a JPEG); /ws/stats and /ws/dashboard-stats send "
            "JSON {type: 'stats', stats: Stats} and {type: 'events', events: [Event]}.")},
        "components": {"schemas": SCHEMAS, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": {
            "/health": _get("liveness: ok, degraded (a camera failed or reconnects) or stopped (503)", _ref("Health"),
                            errors=()),
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
                [{"name": "global_id", "in": "path", "required": True, "schema": INT}], (400, 401, 404, 503)),
        },
        "security": [{"bearer": []}],
    }
