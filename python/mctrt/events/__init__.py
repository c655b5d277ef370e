"""Events from tracks with global IDs: entry/exit per camera, global first/last seen, dwell, line
crossings and polygon zones.

Every event is a flat JSON object with these keys (a stable schema; new keys may be added, none
removed):

    type        "entry", "exit", "first_seen", "last_seen", "dwell", "line_cross", "zone_enter",
                "zone_leave", "zone_dwell" or "id_corrected"
    time        when it happened in the scene, Unix seconds (float)
    camera_id   the camera, or null for first_seen / last_seen / id_corrected
    global_id   the person
    track_id    the camera's track, or null
    frame       the camera's 1-based frame number, or null
and, by type:
    exit, dwell, zone_leave, zone_dwell, last_seen:  duration_s (how long the visit lasted so far)
    dwell, zone_dwell:  threshold_s
    line_cross:  line (its name), direction ("forward": from the left of the line's a->b to its
                 right as drawn on the image; "backward": the other way)
    zone_*:      zone (its name), occupancy (people in the zone after this event)
    last_seen:   first_seen (Unix seconds), cameras (list of camera_ids)
    id_corrected: old_global_id (retired; the person is global_id from now on). Open visits of the
                 old ID carry on under the new one; where the new ID already had one in the same
                 camera or zone, the two merge and the old ID's visit is closed at once by an exit or
                 zone_leave with corrected_to (the new ID). So every entry has exactly one exit, and
                 every zone_enter one zone_leave, under the same global_id or through the correction.

The store adds `id`, a sequence number, when it saves one.
"""

from mctrt.events.engine import EVENT_TYPES, EventEngine

__all__ = ["EVENT_TYPES", "EventEngine"]
