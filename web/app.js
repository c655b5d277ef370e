// mctrt live dashboard: plain ES modules, no dependencies, talking to the aiohttp server on the same
// origin (REST under /api, WebSockets /ws/<camera_id>, /ws/stats and /ws/positions). This file only
// wires the panels together and starts them:
//   api.js         REST and WebSockets, with the token
//   selection.js   the person followed, their colour and chip
//   videos.js      the camera tiles: video, lines, zones, boxes
//   metrics.js     counters, stage latency, trend charts
//   events.js      the event timeline and its filters
//   identities.js  the identities list and the selected person's journey
//   floor.js       the floor view
// Names the server defines (event types, pipeline stages) come from /api/meta, never copied here.

import { apiFetch, apiGet, loadToken, reconnectingSocket } from "./api.js";
import { addCameraFilterOption, addEvents, buildFilters, catchUpEvents, loadEventHistory, onEventsAdded } from "./events.js";
import { drawFloor, startFloorView } from "./floor.js";
import { followEvents, pollIdentities, renderJourney } from "./identities.js";
import { buildLatencyTable, drawSparks, updateCaptureToDisplay, updateMetrics } from "./metrics.js";
import { gidColor, onSelect, selectedGid, toggleSelect } from "./selection.js";
import { loadCameras, onNewCamera, redrawTiles, updateTiles } from "./videos.js";

/** The latency rows and the type filter, from the server's lists; empty ones if it cannot answer. */
async function loadMeta() {
  let meta = { stages: [], event_types: [] };
  try {
    meta = await apiGet("/api/meta");
  } catch (err) {
    console.warn("meta:", err.message);
  }
  buildLatencyTable(meta.stages);
  buildFilters(meta.event_types);
}

/** The first paint: counters and the configured zones from REST, before the first stats push. */
async function loadStats() {
  try {
    onStats(await apiGet("/api/stats"));
  } catch (err) {
    console.warn("stats:", err.message);
  }
}

function connectStats() {
  const wsState = document.getElementById("ws-state");
  reconnectingSocket("/ws/stats", {
    onState: (s, neverOpened) => {
      wsState.textContent = s;
      wsState.dataset.state = s;
      if (s === "live") catchUpEvents();  // what was stored while the socket was not open
      // A refused handshake (e.g. bad token) is invisible to JS; ask REST why.
      if (neverOpened) apiGet("/api/stats").catch(() => {});
    },
    onMessage: (data) => {
      let msg;
      try { msg = JSON.parse(data); } catch { return; }
      if (msg.type === "stats" && msg.stats) onStats(msg.stats);
      else if (msg.type === "events" && Array.isArray(msg.events)) addEvents(msg.events);
    },
  });
}

function onStats(stats) {
  updateTiles(stats.cameras || []);
  updateMetrics(stats);
}

function main() {
  loadToken();
  onNewCamera(addCameraFilterOption);
  onEventsAdded(followEvents);
  onSelect(redrawTiles);
  onSelect(drawFloor);
  onSelect(renderJourney);
  // One delegated handler serves every chip (timeline, identities, journey).
  document.addEventListener("click", (e) => {
    const chip = e.target.closest?.(".gid-chip");
    if (chip) toggleSelect(Number(chip.dataset.gid));
  });
  document.getElementById("journey-close").addEventListener("click", () => {
    if (selectedGid()) toggleSelect(selectedGid());
  });
  window.addEventListener("resize", drawSparks);
  // capture->display keeps updating even if the stats socket is down.
  setInterval(updateCaptureToDisplay, 1000);
  drawSparks();
  // Stats fill the latency rows and the tiles: both must exist before the first paint.
  Promise.all([loadMeta(), loadCameras()]).then(loadStats).then(connectStats);
  startFloorView({
    apiGet, apiFetch, socket: reconnectingSocket, colorOf: gidColor,
    selected: selectedGid, onPick: toggleSelect,
  });
  loadEventHistory();
  pollIdentities();
}

if (typeof document !== "undefined") main();
