"""Events from tracks with global IDs: entry/exit per camera, global first/last seen, dwell, line
crossings and polygon zones (in one camera's pixels, or on the floor for everyone), and the cameras'
own health.

Every event is a flat JSON object with these keys (a stable schema; new keys may be added, none
removed):

    type        "entry", "exit", "first_seen", "last_seen", "dwell", "line_cross", "zone_enter",
                "zone_leave", "zone_dwell", "id_corrected", "camera_offline", "camera_slow" or "camera_ok"
    time        when it happened in the scene, Unix seconds (float)
    camera_id   the camera, or null for first_seen / last_seen / id_corrected and for floor zones and lines
    global_id   the person, or null for the camera_* events
    track_id    the camera's track, or null
    frame       the camera's 1-based frame number, or null
and, by type:
    exit, dwell, zone_leave, zone_dwell, last_seen:  duration_s (how long the visit lasted so far)
    dwell, zone_dwell:  threshold_s
    line_cross:  line (its name), direction ("forward": from the left of the line's a->b to its
                 right as drawn on the image, or on a map of the floor with y up; "backward": the other way)
    zone_*:      zone (its name), occupancy (people in the zone after this event)
    floor zone_enter, zone_dwell, line_cross:  x, y (where on the floor, metres). A floor zone or line
                 gives one event per person, however many cameras see them; occupancy counts the
                 people inside by their floor tracks, and a person no camera places for exit_after_s
                 has left.
    last_seen:   first_seen (Unix seconds), cameras (list of camera_ids). One each time the person has
                 left every camera (for exit_after_s): one who comes back and leaves again gets
                 another, its duration_s still from first_seen, so the latest spans the whole stay.
    id_corrected: old_global_id (retired; the person is global_id from now on), reason ("floor":
                 their floor tracks agreed; "appearance": re-ID matched). Open visits of the
                 old ID carry on under the new one; where the new ID already had one in the same
                 camera or zone, the two merge and the old ID's visit is closed at once by an exit or
                 zone_leave with corrected_to (the new ID); likewise, where both IDs had been seen, the old
                 ID's first_seen by a last_seen with corrected_to. So every entry has exactly one exit,
                 every zone_enter one zone_leave and every first_seen at least one last_seen, under the
                 same global_id or through the correction.
    exit, zone_leave with reason "unclosed": a visit an earlier run into the same store opened and
                 never closed (it was killed or crashed), closed when the next run starts, at the
                 person's last stored event.
    camera_offline, camera_slow, camera_ok (live runs, debounced: see events/health.py):  since
                 (when the condition began), fps (frames processed a second over the window), and for
                 offline the reader's reason when it has one.

The store adds `id`, a sequence number, when it saves one.
"""

from mctrt.events.engine import EVENT_TYPES, EventEngine, corrected_id
from mctrt.events.health import CameraHealth

__all__ = ["EVENT_TYPES", "CameraHealth", "EventEngine", "corrected_id"]
