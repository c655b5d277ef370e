// The identities list (polled from /api/identities) and the journey of the selected person: their
// stored events from /api/identities/{id}, then their live events as they arrive.

import { apiGet } from "./api.js";
import { el, formatTime, setText } from "./dom.js";
import { eventRow, seenEventsOf } from "./events.js";
import { gidChip, selectedGid } from "./selection.js";

const IDENTITY_POLL_MS = 3000;

const journey = {
  ids: new Set(),                // event ids shown in the journey panel
  request: 0,                    // increments so stale journey fetches are ignored
  loaded: false,                 // live events are appended only after the history is in
};

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

function renderIdentities(identities) {
  const list = document.getElementById("identities");
  list.replaceChildren(...identities.map((ident) => {
    const row = el("li", "identity");
    row.dataset.gid = String(ident.global_id);
    row.append(gidChip(ident.global_id),
      el("span", "cams", (ident.cameras || []).join(", ") || "—"),
      el("span", "time", formatTime(ident.last_seen)));
    return row;
  }));
  const current = identities.find((i) => i.global_id === selectedGid());
  if (current) fillJourneyInfo(current);  // keep "last seen" fresh
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
  document.getElementById("journey-events").append(row);
}

/** New timeline events: the selected person's join their journey once its history is in. */
export function followEvents(events) {
  if (!journey.loaded) return;
  for (const ev of events) {
    if (ev.global_id === selectedGid()) appendJourneyEvent(ev);
  }
}
