// The identities list (polled from /api/identities) and the journey of the selected person: their
// stored events from /api/identities/{id}, then their live events as they arrive. An ID correction
// (an event with old_global_id) moves the selection to the person's new ID.

import { apiGet } from "./api.js";
import { el, formatTime, setText } from "./dom.js";
import { eventRow, seenEventsOf } from "./events.js";
import { gidChip, select, selectedGid } from "./selection.js";

const IDENTITY_POLL_MS = 3000;
const MAX_JOURNEY_EVENTS = 500;  // journey rows kept (the newest), as the timeline keeps MAX_EVENTS
const MAX_CORRECTION_HOPS = 100; // an ID corrected again and again; bounds the walk should the chain loop

const journey = {
  ids: new Set(),                // event ids shown in the journey panel
  request: 0,                    // increments so stale journey fetches are ignored
  loaded: false,                 // live events are appended only after the history is in
};
const correctedTo = new Map();   // retired global ID -> the ID it became (from the events seen)

/** Refresh the identities list, then again every IDENTITY_POLL_MS (identities are not pushed). */
export async function pollIdentities() {
  const note = document.getElementById("identities-note");
  try {
    const data = await apiGet("/api/identities?limit=100");
    renderIdentities(data.identities || []);
    note.hidden = true;
  } catch (err) {
    note.textContent = err.status === 503
      ? "Identities unavailable (store off)."
      : `Identities failed: ${err.message}`;
    note.hidden = false;
  }
  setTimeout(pollIdentities, IDENTITY_POLL_MS);
}

/**
 * Update the list in place, one row per global ID (data-gid), so that a chip under the pointer or
 * with the focus stays the same element. While the pointer is over the list or a chip has the focus,
 * rows are neither moved nor removed (new ones go at the end): a click lands where it was aimed.
 */
function renderIdentities(identities) {
  const list = document.getElementById("identities");
  const rows = new Map([...list.children].map((row) => [row.dataset.gid, row]));
  const wanted = identities.map((ident) => {
    const row = rows.get(String(ident.global_id)) || identityRow(ident.global_id);
    fillIdentityRow(row, ident);
    return row;
  });
  if (isInUse(list)) {
    for (const row of wanted) if (!row.isConnected) list.append(row);
  } else {
    wanted.forEach((row, i) => {
      if (list.children[i] !== row) list.insertBefore(row, list.children[i] || null);
    });
    while (list.children.length > wanted.length) list.lastElementChild.remove();
  }
  const current = identities.find((i) => i.global_id === selectedGid());
  if (current) fillJourneyInfo(current);  // keep "last seen" fresh
}

function isInUse(list) {
  return list.matches(":hover") || list.contains(document.activeElement);
}

function identityRow(gid) {
  const row = el("li", "identity");
  row.dataset.gid = String(gid);
  row.append(gidChip(gid), el("span", "cams"), el("span", "time"));
  return row;
}

function fillIdentityRow(row, ident) {
  const cameras = (ident.cameras || []).join(", ") || "—";
  const lastSeen = formatTime(ident.last_seen);
  const [cams, time] = [row.querySelector(".cams"), row.querySelector(".time")];
  if (cams.textContent !== cameras) cams.textContent = cameras;
  if (time.textContent !== lastSeen) time.textContent = lastSeen;
}

/** Show the selected person's journey (or the hint when nobody is selected). */
export function renderJourney() {
  const panel = document.getElementById("journey");
  const gid = selectedGid();
  const request = ++journey.request;
  document.getElementById("journey-close").hidden = !gid;
  document.getElementById("journey-empty").hidden = !!gid;
  document.getElementById("journey-body").hidden = !gid;
  document.getElementById("journey-events").replaceChildren();
  journey.ids.clear();
  journey.loaded = false;
  if (!gid) { delete panel.dataset.gid; return; }
  panel.dataset.gid = String(gid);
  document.getElementById("journey-gid").replaceChildren(gidChip(gid));
  fillJourneyInfo({ cameras: [], first_seen: null, last_seen: null });
  loadJourney(gid, request);
}

async function loadJourney(gid, request) {
  const note = document.getElementById("journey-note");
  note.hidden = true;
  let events;
  try {
    const data = await apiGet(`/api/identities/${gid}`);
    if (request !== journey.request) return;  // selection changed meanwhile
    fillJourneyInfo(data.identity || {});
    events = data.events || [];
  } catch (err) {
    if (request !== journey.request) return;
    const now = currentId(gid);
    if (err.status === 404 && now !== gid) {
      select(now);  // a retired ID: the store moved its events to the person's new ID
      showNote(`#${gid} was corrected to #${now}.`);
      return;
    }
    note.textContent = err.status === 404 ? "Not in the event store yet — live events only."
      : err.status === 503 ? "History unavailable (store off) — live events only."
        : `Journey failed: ${err.message}`;
    note.hidden = false;
    // Fall back to the events this page has seen.
    events = seenEventsOf(gid);
    fillJourneyInfo(summarize(events));
  }
  for (const ev of events) appendJourneyEvent(ev);
  journey.loaded = true;
}

/** Identity-like summary from events, when the store cannot answer. */
function summarize(events) {
  const cameras = [...new Set(events.map((ev) => ev.camera_id).filter(Boolean))];
  const times = events.map((ev) => ev.time);
  return {
    cameras,
    first_seen: times.length ? Math.min(...times) : null,
    last_seen: times.length ? Math.max(...times) : null,
  };
}

function fillJourneyInfo(ident) {
  setText("journey-cameras", (ident.cameras || []).join(", ") || "–");
  setText("journey-first", formatTime(ident.first_seen));
  setText("journey-last", formatTime(ident.last_seen));
}

function appendJourneyEvent(ev) {
  if (ev.id != null) {
    if (journey.ids.has(ev.id)) return;
    journey.ids.add(ev.id);
  }
  const row = eventRow(ev, "journey-event");
  row.querySelector(".gid-chip")?.remove();  // the panel is about one person already
  const list = document.getElementById("journey-events");
  list.append(row);
  while (list.children.length > MAX_JOURNEY_EVENTS) {
    journey.ids.delete(list.firstElementChild.eventId);
    list.firstElementChild.remove();
  }
}

function showNote(text) {
  const note = document.getElementById("journey-note");
  note.textContent = text;
  note.hidden = false;
}

/** The ID a person has now: gid, or what the corrections seen so far turned it into. */
function currentId(gid) {
  let now = gid;
  for (let hop = 0; hop < MAX_CORRECTION_HOPS && correctedTo.has(now); hop++) now = correctedTo.get(now);
  return now;
}

/**
 * An ID correction: old_global_id is global_id from now on, and the store has merged their events.
 * The selection follows the person; a selected person who absorbed another gets the merged journey.
 */
function followCorrection(ev) {
  correctedTo.set(ev.old_global_id, ev.global_id);
  if (ev.old_global_id === selectedGid()) select(ev.global_id);
  else if (ev.global_id === selectedGid()) renderJourney();
}

/** New timeline events: the selected person's join their journey once its history is in. */
export function followEvents(events) {
  for (const ev of events) {
    if (ev.old_global_id != null && ev.global_id) followCorrection(ev);
    else if (journey.loaded && ev.global_id === selectedGid()) appendJourneyEvent(ev);
  }
}
