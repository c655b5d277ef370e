// The event timeline: stored history from /api/events, then live events from /ws/stats, newest on
// top, filterable by type (the types come from the server, /api/meta) and camera. Each time the
// stats socket opens, the events stored since the newest one shown are fetched: the socket sends only
// what happens while it is open, and events between the history and the socket, or during a
// reconnect, would be lost.

import { apiGet } from "./api.js";
import { el, formatTime, pushCapped } from "./dom.js";
import { gidChip } from "./selection.js";

const MAX_EVENTS = 500;          // timeline rows kept
const HISTORY_LIMIT = 200;       // newest stored events shown at start
const CATCH_UP_PAGE = 500;       // events per /api/events?after_id= request

const eventIds = new Set();      // ids already in the timeline (REST + socket dedupe)
let newestEventId = null;        // highest stored id seen (REST or socket): catch up after it
let sync = Promise.resolve();    // history and catch-ups run one after another, never side by side
const recentEvents = [];         // live/REST events kept in memory (journey fallback)
const addedListeners = [];

/** Human details for an event row; only the type-specific keys that are present. */
export function eventDetails(ev) {
  const parts = [];
  if (ev.line != null) parts.push(`line ${ev.line}${ev.direction ? ` ${ev.direction}` : ""}`);
  if (ev.zone != null) parts.push(`zone ${ev.zone}`);
  if (ev.occupancy != null) parts.push(`occupancy ${ev.occupancy}`);
  if (ev.duration_s != null) parts.push(`${Math.round(ev.duration_s)} s`);
  if (ev.old_global_id != null) parts.push(`was #${ev.old_global_id}`);
  if (ev.corrected_to != null) parts.push(`→ #${ev.corrected_to}`);
  if (ev.reason != null) parts.push(`by ${ev.reason}`);
  if (ev.x != null && ev.y != null) parts.push(`at (${Number(ev.x).toFixed(1)}, ${Number(ev.y).toFixed(1)}) m`);
  if (Array.isArray(ev.cameras) && ev.cameras.length) parts.push(`cameras ${ev.cameras.join(", ")}`);
  return parts.join(" · ");
}

function typeTag(type) {
  const tag = el("span", "type-tag", type);
  tag.dataset.type = type;
  return tag;
}

/** Call listener(events) with the events each addEvents() added (the journey follows its person). */
export function onEventsAdded(listener) {
  addedListeners.push(listener);
}

/** The events this page has seen of one person (when the store cannot give their journey). */
export function seenEventsOf(gid) {
  return recentEvents.filter((ev) => ev.global_id === gid);
}

/** The type filter lists `types` (the server's, in its order); both filters apply on change. */
export function buildFilters(types) {
  const typeSel = document.getElementById("filter-type");
  for (const type of types) typeSel.append(new Option(type, type));
  typeSel.addEventListener("change", applyFilters);
  document.getElementById("filter-camera").addEventListener("change", applyFilters);
}

export function addCameraFilterOption(cameraId) {
  const sel = document.getElementById("filter-camera");
  if ([...sel.options].some((o) => o.value === cameraId)) return;
  sel.append(new Option(cameraId, cameraId));
}

function rowMatchesFilters(row) {
  const type = document.getElementById("filter-type").value;
  const camera = document.getElementById("filter-camera").value;
  return (type === "all" || row.dataset.type === type)
    && (camera === "all" || row.dataset.camera === camera);
}

function applyFilters() {
  for (const row of document.querySelectorAll("#timeline > .event")) {
    row.hidden = !rowMatchesFilters(row);
  }
}

export function eventRow(ev, className) {
  const row = el("li", className);
  row.dataset.type = ev.type;
  row.dataset.camera = ev.camera_id || "";
  row.dataset.time = String(ev.time);
  if (ev.id != null) row.dataset.id = String(ev.id);
  row.eventId = ev.id;  // original value (number) for dedupe bookkeeping
  const onFloor = !ev.camera_id && (ev.zone != null || ev.line != null);  // floor zones and lines have no camera
  row.append(el("span", "time", formatTime(ev.time)), typeTag(ev.type),
    el("span", "cam", ev.camera_id || (onFloor ? "floor" : "—")));
  if (ev.global_id) row.append(gidChip(ev.global_id));
  row.append(el("span", "details", eventDetails(ev)));
  return row;
}

/** Add events (any order) newest on top; skips ones already shown (by id). */
export function addEvents(events) {
  const list = document.getElementById("timeline");
  const added = [];
  for (const ev of events) {
    if (!ev || !ev.type) continue;
    if (ev.id != null) {
      if (Number.isFinite(ev.id) && (newestEventId == null || ev.id > newestEventId)) newestEventId = ev.id;
      if (eventIds.has(ev.id)) continue;
      eventIds.add(ev.id);
    }
    pushCapped(recentEvents, ev, MAX_EVENTS);
    const row = eventRow(ev, "event");
    row.hidden = !rowMatchesFilters(row);
    // Walk from the top past newer rows; live events normally land at the top at once.
    let before = list.firstElementChild;
    while (before && Number(before.dataset.time) > ev.time) before = before.nextElementSibling;
    list.insertBefore(row, before);
    added.push(ev);
  }
  while (list.children.length > MAX_EVENTS) {
    const old = list.lastElementChild;
    if (old.eventId != null) eventIds.delete(old.eventId);
    old.remove();
  }
  if (added.length) for (const listener of addedListeners) listener(added);
}

/** The newest stored events, at start (catchUpEvents() fetches the rest as the socket opens). */
export function loadEventHistory() {
  sync = sync.then(fetchHistory);
  return sync;
}

/** The events stored since the newest one shown (the stats socket has just opened). */
export function catchUpEvents() {
  sync = sync.then(() => (newestEventId == null ? fetchHistory() : fetchAfter(newestEventId)));
  return sync;
}

async function fetchHistory() {
  await showingErrors(async () => {
    const data = await apiGet(`/api/events?limit=${HISTORY_LIMIT}`);
    addEvents(data.events || []);
  });
}

/** Page by page, each after the last id of the one before (not newestEventId: live events move it on). */
async function fetchAfter(afterId) {
  await showingErrors(async () => {
    let cursor = afterId;
    for (;;) {
      const events = (await apiGet(`/api/events?after_id=${cursor}&limit=${CATCH_UP_PAGE}`)).events || [];
      addEvents(events);
      if (events.length < CATCH_UP_PAGE) return;
      cursor = Math.max(...events.map((ev) => ev.id));
    }
  });
}

async function showingErrors(load) {
  const note = document.getElementById("timeline-note");
  try {
    await load();
    note.hidden = true;
  } catch (err) {
    note.textContent = err.status === 503
      ? "Event history unavailable (store off) — showing live events only."
      : `Event history failed: ${err.message}`;
    note.hidden = false;
  }
}
