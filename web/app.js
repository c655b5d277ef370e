// mctrt live dashboard. Plain ES module, no dependencies: talks to the aiohttp server
// (REST under /api, WebSockets /ws/<camera_id>, /ws/stats and /ws/positions) on the same origin.
// The floor view lives in floor.js.

import { drawFloor, startFloorView } from "./floor.js";

export const EVENT_TYPES = ["entry", "exit", "first_seen", "last_seen", "dwell", "line_cross",
  "zone_enter", "zone_leave", "zone_dwell", "id_corrected", "camera_offline", "camera_slow", "camera_ok"];
export const LATENCY_ROWS = ["detect", "track", "reid", "floor", "associate", "events", "output",
  "capture_to_result", "capture_to_send"];
const MAX_EVENTS = 500;          // timeline rows kept
const LATENCY_WINDOW = 200;      // frames used for capture->display percentiles
const SPARK_SAMPLES = 120;       // points per sparkline
const IDENTITY_POLL_MS = 3000;
const TOKEN_KEY = "mctrt-token";

const state = {
  token: "",
  tiles: new Map(),              // camera_id -> tile (see createTile)
  selected: 0,                   // selected global ID, 0 = none
  eventIds: new Set(),           // ids already in the timeline (REST + socket dedupe)
  recentEvents: [],              // live/REST events kept in memory (journey fallback)
  displayLatencies: [],          // capture->display seconds, last LATENCY_WINDOW frames
  series: { fps: [], c2d: [], gids: [] },
  journeyIds: new Set(),         // event ids shown in the journey panel
  journeyRequest: 0,             // increments so stale journey fetches are ignored
  journeyLoaded: false,          // live events are appended only after the history is in
};

// ---------------------------------------------------------------- pure helpers

/** Parse one video message: 4-byte big-endian JSON length, JSON header, JPEG rest. */
export function parseFrame(buf) {
  if (!(buf instanceof ArrayBuffer) || buf.byteLength < 4) return null;
  const n = new DataView(buf).getUint32(0, false);
  if (4 + n > buf.byteLength) return null;
  try {
    const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 4, n)));
    return { header, jpeg: new Uint8Array(buf, 4 + n) };
  } catch {
    return null;
  }
}

/** One stable colour per global ID, the same in every camera and chip. */
export function gidColor(gid) {
  return `hsl(${((gid * 137.508) % 360).toFixed(1)}, 85%, 55%)`;
}

/** Nearest-rank percentile of an array of numbers (q in 0..1); null when empty. */
export function percentile(values, q) {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[idx];
}

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

/** Smallest drawn box containing (x, y) with a global ID, or 0. */
export function hitTest(boxes, x, y) {
  let best = 0;
  let bestArea = Infinity;
  for (const b of boxes) {
    if (!b.gid || x < b.x0 || x > b.x1 || y < b.y0 || y > b.y1) continue;
    const area = (b.x1 - b.x0) * (b.y1 - b.y0);
    if (area < bestArea) { best = b.gid; bestArea = area; }
  }
  return best;
}

export function formatTime(unixS) {
  if (unixS == null) return "–";
  return new Date(unixS * 1000).toLocaleTimeString([], { hour12: false });
}

function formatMs(v) {
  return v == null ? "–" : v.toFixed(1);
}

function pushCapped(arr, value, cap) {
  arr.push(value);
  if (arr.length > cap) arr.splice(0, arr.length - cap);
}

// ---------------------------------------------------------------- auth, REST, sockets

/** Token from ?token= or #token=, remembered for this tab in sessionStorage. */
function readToken() {
  const fromQuery = new URLSearchParams(location.search).get("token");
  const fromHash = new URLSearchParams(location.hash.replace(/^#/, "")).get("token");
  const token = fromQuery || fromHash;
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    return token || sessionStorage.getItem(TOKEN_KEY) || "";
  } catch {
    return token || "";  // storage can be blocked (privacy mode); the URL token still works
  }
}

function showAuthBanner() {
  document.getElementById("auth-banner").hidden = false;
}

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** GET with the token; an HttpError carrying the server's message unless the answer is OK. */
async function apiFetch(path) {
  const headers = state.token ? { Authorization: `Bearer ${state.token}` } : {};
  const res = await fetch(path, { headers });
  if (res.status === 401) showAuthBanner();
  if (!res.ok) {
    let message = res.statusText;
    try { message = (await res.json()).error || message; } catch { /* not JSON */ }
    throw new HttpError(res.status, message);
  }
  return res;
}

async function apiGet(path) {
  return (await apiFetch(path)).json();
}

function wsUrl(path) {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const query = state.token ? `?token=${encodeURIComponent(state.token)}` : "";
  return `${proto}//${location.host}${path}${query}`;
}

/**
 * Open a WebSocket that reconnects after drops with a growing delay (1 s doubling to 10 s).
 * onState gets "connecting" | "live" | "disconnected"; a close before open also reports neverOpened.
 */
function reconnectingSocket(path, { binary = false, onMessage, onState }) {
  let delay = 1000;
  const open = () => {
    onState("connecting");
    const ws = new WebSocket(wsUrl(path));
    if (binary) ws.binaryType = "arraybuffer";
    let opened = false;
    ws.onopen = () => { opened = true; delay = 1000; onState("live"); };
    ws.onmessage = (ev) => onMessage(ev.data);
    ws.onerror = () => { /* onclose follows and schedules the retry */ };
    ws.onclose = () => {
      onState("disconnected", !opened);
      setTimeout(open, delay);
      delay = Math.min(delay * 2, 10000);
    };
  };
  open();
}

// ---------------------------------------------------------------- DOM helpers

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = text;
  return node;
}

function setText(id, value) {
  const node = document.getElementById(id);
  if (node) node.textContent = value == null ? "–" : String(value);
}

/** The one clickable global-ID chip used everywhere (clicks handled by delegation). */
function gidChip(gid) {
  const chip = el("button", "gid-chip", `#${gid}`);
  chip.type = "button";
  chip.dataset.gid = String(gid);
  chip.style.background = gidColor(gid);
  if (gid === state.selected) chip.classList.add("selected");
  return chip;
}

function typeTag(type) {
  const tag = el("span", "type-tag", type);
  tag.dataset.type = type;
  return tag;
}

// ---------------------------------------------------------------- cameras

function createTile(info) {
  const root = el("div", "camera");
  root.dataset.cameraId = info.camera_id;
  root.dataset.frames = "0";
  const head = el("div", "camera-head");
  const badge = el("span", "badge");
  const reason = el("span", "reason");
  head.append(el("h3", "camera-title", info.camera_id), badge, reason);
  const canvas = el("canvas");
  canvas.width = info.width || 640;
  canvas.height = info.height || 360;
  const foot = el("div", "camera-stats");
  const fps = el("span", "cam-fps", "– fps");
  const det = el("span", "cam-det", "det –");
  const trk = el("span", "cam-trk", "trk –");
  const ws = el("span", "cam-ws", "video connecting");
  foot.append(fps, det, trk, ws);
  root.append(head, canvas, foot);
  document.getElementById("cameras").insertBefore(root, document.getElementById("floor"));  // videos first

  const tile = {
    id: info.camera_id, info, root, canvas, ctx: canvas.getContext("2d"),
    badge, reason, fps, det, trk, ws,
    frames: 0, decoding: false, bitmap: null, header: null, boxes: [],
  };
  state.tiles.set(info.camera_id, tile);
  setTileState(tile, info.state || "connecting", info.reason || "");
  drawPlaceholder(tile, "waiting for video…");
  canvas.addEventListener("click", (e) => onCanvasClick(tile, e));
  reconnectingSocket(`/ws/${encodeURIComponent(info.camera_id)}`, {
    binary: true,
    onMessage: (data) => onVideoMessage(tile, data),
    onState: (s) => { root.dataset.ws = s; ws.textContent = `video ${s}`; },
  });
  addCameraFilterOption(info.camera_id);
  return tile;
}

function setTileState(tile, camState, reason) {
  tile.badge.className = `badge ${camState}`;
  tile.badge.textContent = camState;
  tile.root.dataset.state = camState;
  tile.reason.textContent = reason || "";
  tile.reason.hidden = !reason;
}

function drawPlaceholder(tile, text) {
  const { ctx, canvas } = tile;
  ctx.fillStyle = "#111418";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.fillStyle = "#6b7480";
  ctx.font = `${Math.max(14, canvas.width / 30)}px system-ui, sans-serif`;
  ctx.textAlign = "center";
  ctx.fillText(text, canvas.width / 2, canvas.height / 2);
  ctx.textAlign = "start";
}

function onVideoMessage(tile, data) {
  if (tile.decoding) return;  // previous frame still decoding: drop this one, never queue
  const frame = parseFrame(data);
  if (!frame) return;
  tile.decoding = true;
  createImageBitmap(new Blob([frame.jpeg], { type: "image/jpeg" }))
    .then((bitmap) => {
      if (tile.bitmap) tile.bitmap.close();
      tile.bitmap = bitmap;
      tile.header = frame.header;
      drawTile(tile);
      tile.frames += 1;
      tile.root.dataset.frames = String(tile.frames);
      const captured = Number(frame.header.captured_at);
      if (Number.isFinite(captured)) {
        pushCapped(state.displayLatencies, Date.now() / 1000 - captured, LATENCY_WINDOW);
      }
    })
    .catch(() => { /* undecodable JPEG: skip the frame */ })
    .finally(() => { tile.decoding = false; });
}

/** Redraw the last frame with overlays; also used when the selection changes. */
function drawTile(tile) {
  const { canvas, ctx, bitmap, header } = tile;
  if (!bitmap || !header) return;
  const w = header.width || bitmap.width;
  const h = header.height || bitmap.height;
  if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
  ctx.drawImage(bitmap, 0, 0, w, h);
  const scale = Number(header.scale) || 1;
  const unit = Math.max(1, w / 400);  // line/font size relative to frame size
  drawZones(ctx, tile.info.zones || [], scale, unit);
  drawLines(ctx, tile.info.lines || [], scale, unit);
  tile.boxes = drawTracks(ctx, header.tracks || [], scale, unit);
}

function drawZones(ctx, zones, scale, unit) {
  ctx.save();
  ctx.font = `${Math.round(12 * unit)}px system-ui, sans-serif`;
  for (const zone of zones) {
    const pts = zone.polygon || [];
    if (pts.length < 3) continue;
    ctx.beginPath();
    pts.forEach(([x, y], i) => (i ? ctx.lineTo(x * scale, y * scale) : ctx.moveTo(x * scale, y * scale)));
    ctx.closePath();
    ctx.fillStyle = "rgba(80, 160, 255, 0.16)";
    ctx.fill();
    ctx.strokeStyle = "rgba(80, 160, 255, 0.8)";
    ctx.lineWidth = 1.5 * unit;
    ctx.stroke();
    ctx.fillStyle = "rgba(160, 205, 255, 0.95)";
    ctx.fillText(zone.name, pts[0][0] * scale + 4 * unit, pts[0][1] * scale + 14 * unit);
  }
  ctx.restore();
}

/** Lines go a -> b; the arrowhead at b shows the "forward" direction. */
function drawLines(ctx, lines, scale, unit) {
  ctx.save();
  ctx.font = `${Math.round(12 * unit)}px system-ui, sans-serif`;
  for (const line of lines) {
    const pts = line.points || [];
    if (pts.length < 2) continue;
    const [ax, ay] = [pts[0][0] * scale, pts[0][1] * scale];
    const [bx, by] = [pts[1][0] * scale, pts[1][1] * scale];
    ctx.strokeStyle = ctx.fillStyle = "#ffd23f";
    ctx.lineWidth = 2 * unit;
    ctx.beginPath();
    ctx.moveTo(ax, ay);
    ctx.lineTo(bx, by);
    ctx.stroke();
    const angle = Math.atan2(by - ay, bx - ax);
    const head = 10 * unit;
    ctx.beginPath();
    ctx.moveTo(bx, by);
    ctx.lineTo(bx - head * Math.cos(angle - 0.45), by - head * Math.sin(angle - 0.45));
    ctx.lineTo(bx - head * Math.cos(angle + 0.45), by - head * Math.sin(angle + 0.45));
    ctx.closePath();
    ctx.fill();
    ctx.fillText(`${line.name} a→b`, (ax + bx) / 2 + 4 * unit, (ay + by) / 2 - 4 * unit);
  }
  ctx.restore();
}

/** Draw track boxes; returns their canvas-pixel rectangles for click hit-testing. */
function drawTracks(ctx, tracks, scale, unit) {
  const boxes = [];
  ctx.save();
  ctx.font = `bold ${Math.round(13 * unit)}px system-ui, sans-serif`;
  for (const t of tracks) {
    if (!Array.isArray(t.box) || t.box.length < 4) continue;
    const [x0, y0, x1, y1] = t.box.map((v) => v * scale);
    const gid = Number(t.global_id) || 0;
    boxes.push({ gid, x0, y0, x1, y1 });
    const selected = state.selected && gid === state.selected;
    ctx.globalAlpha = state.selected && !selected ? 0.35 : 1;
    if (!gid) {
      // pending: global ID not assigned yet
      ctx.setLineDash([6 * unit, 4 * unit]);
      ctx.strokeStyle = "#9aa0a6";
      ctx.lineWidth = 1.5 * unit;
      ctx.strokeRect(x0, y0, x1 - x0, y1 - y0);
      ctx.setLineDash([]);
      continue;
    }
    const color = gidColor(gid);
    ctx.strokeStyle = color;
    ctx.lineWidth = (selected ? 5 : 2) * unit;
    ctx.strokeRect(x0, y0, x1 - x0, y1 - y0);
    const label = `#${gid}`;
    const lh = 16 * unit;
    const lw = ctx.measureText(label).width + 8 * unit;
    const ly = y0 - lh >= 0 ? y0 - lh : y0;  // above the box, or inside at the top edge
    ctx.fillStyle = color;
    ctx.fillRect(x0, ly, lw, lh);
    ctx.fillStyle = "#0b0d10";
    ctx.fillText(label, x0 + 4 * unit, ly + lh - 4 * unit);
  }
  ctx.restore();
  return boxes;
}

function onCanvasClick(tile, e) {
  const rect = tile.canvas.getBoundingClientRect();
  if (!rect.width || !rect.height) return;
  const x = ((e.clientX - rect.left) * tile.canvas.width) / rect.width;
  const y = ((e.clientY - rect.top) * tile.canvas.height) / rect.height;
  const gid = hitTest(tile.boxes, x, y);
  if (gid) toggleSelect(gid);
}

async function loadCameras() {
  try {
    const data = await apiGet("/api/cameras");
    for (const info of data.cameras || []) {
      if (!state.tiles.has(info.camera_id)) createTile(info);
    }
  } catch (err) {
    console.warn("cameras:", err.message);
  }
}

// ---------------------------------------------------------------- stats

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
  const assoc = stats.association || {};
  setText("fps-total", stats.fps_total == null ? null : stats.fps_total.toFixed(1));
  setText("global-ids", assoc.global_ids);
  setText("cross-camera-ids", assoc.cross_camera_ids);
  setText("handoffs", assoc.handoffs);
  setText("gallery-size", assoc.gallery_size);
  setText("run-state", `${stats.mode || "?"} mode${stats.running === false ? " · stopped" : ""}`);

  for (const cam of stats.cameras || []) {
    // A camera missing from /api/cameras (fetch failed) still gets a tile, without overlays.
    const tile = state.tiles.get(cam.camera_id) || createTile(cam);
    setTileState(tile, cam.state, cam.reason);
    tile.fps.textContent = `${cam.fps == null ? "–" : cam.fps.toFixed(1)} fps`;
    tile.det.textContent = `det ${cam.detections ?? "–"}`;
    tile.trk.textContent = `trk ${cam.tracks ?? "–"}`;
  }
  updateMetrics(stats);
}

function updateMetrics(stats) {
  const stages = stats.stages || {};
  for (const name of LATENCY_ROWS) {
    const lat = stages[name] || stats[name] || {};
    setText(`lat-${name}-p50`, formatMs(lat.p50_ms));
    setText(`lat-${name}-p95`, formatMs(lat.p95_ms));
  }
  const cams = stats.cameras || [];
  setText("queue-drops", cams.reduce((sum, c) => sum + (c.frames_dropped || 0), 0));
  const clients = stats.clients || {};
  setText("video-clients", clients.video);
  setText("client-drops", clients.dropped_frames);
  const assoc = stats.association || {};
  setText("m-gallery-size", assoc.gallery_size);
  setText("m-global-ids", assoc.global_ids);
  setText("m-active-ids", assoc.active_ids);
  setText("m-cross-camera-ids", assoc.cross_camera_ids);
  setText("m-handoffs", assoc.handoffs);
  renderZones(stats.zones || {});

  const c2d = updateCaptureToDisplay();
  pushCapped(state.series.fps, stats.fps_total ?? 0, SPARK_SAMPLES);
  pushCapped(state.series.c2d, c2d.p95 ?? 0, SPARK_SAMPLES);
  pushCapped(state.series.gids, assoc.global_ids ?? 0, SPARK_SAMPLES);
  drawSparks();
}

function buildLatencyTable() {
  const body = document.querySelector("#latency-table tbody");
  for (const name of LATENCY_ROWS) {
    const row = el("tr");
    const p50 = el("td", "num", "–");
    const p95 = el("td", "num", "–");
    p50.id = `lat-${name}-p50`;
    p95.id = `lat-${name}-p95`;
    row.append(el("td", null, name.replaceAll("_", " ")), p50, p95);
    body.append(row);
  }
}

/** capture->display percentiles over the last frames of all cameras (browser clock). */
function updateCaptureToDisplay() {
  const ms = state.displayLatencies.map((s) => s * 1000);
  const p50 = percentile(ms, 0.5);
  const p95 = percentile(ms, 0.95);
  const node = document.getElementById("capture-to-display");
  node.textContent = p50 == null ? "–" : `p50 ${p50.toFixed(0)} ms · p95 ${p95.toFixed(0)} ms`;
  node.dataset.p50 = p50 == null ? "" : p50.toFixed(1);
  node.dataset.p95 = p95 == null ? "" : p95.toFixed(1);
  return { p50, p95 };
}

function renderZones(zones) {
  const list = document.getElementById("zones");
  const names = Object.keys(zones);
  if (!names.length) { list.replaceChildren(el("li", "muted", "no zones")); return; }
  list.replaceChildren(...names.map((name) => {
    const item = el("li", "zone");
    item.dataset.zone = name;
    item.append(el("span", null, name), el("span", "value", String(zones[name])));
    return item;
  }));
}

function drawSparks() {
  drawSparkline(document.getElementById("spark-fps"), state.series.fps, (v) => v.toFixed(1));
  drawSparkline(document.getElementById("spark-c2d"), state.series.c2d, (v) => `${v.toFixed(0)} ms`);
  drawSparkline(document.getElementById("spark-gids"), state.series.gids, (v) => String(v));
}

/** Minimal line chart: 0..max scaled line, label top-left, current value top-right. */
function drawSparkline(canvas, values, fmt) {
  const dpr = window.devicePixelRatio || 1;
  const w = Math.max(1, Math.round(canvas.clientWidth * dpr));
  const h = Math.max(1, Math.round(canvas.clientHeight * dpr));
  if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, w, h);
  ctx.font = `${11 * dpr}px system-ui, sans-serif`;
  ctx.fillStyle = "#8b95a1";
  ctx.fillText(canvas.dataset.label || "", 4 * dpr, 12 * dpr);
  if (!values.length) return;
  const max = Math.max(1e-9, ...values) * 1.1;
  const top = 16 * dpr;
  const step = w / Math.max(1, SPARK_SAMPLES - 1);
  const x0 = w - (values.length - 1) * step;  // newest sample at the right edge
  ctx.strokeStyle = "#4fc3f7";
  ctx.lineWidth = 1.5 * dpr;
  ctx.beginPath();
  values.forEach((v, i) => {
    const x = x0 + i * step;
    const y = h - 2 * dpr - (v / max) * (h - top - 4 * dpr);
    i ? ctx.lineTo(x, y) : ctx.moveTo(x, y);
  });
  ctx.stroke();
  const current = fmt(values[values.length - 1]);
  ctx.fillStyle = "#e6edf3";
  ctx.textAlign = "right";
  ctx.fillText(current, w - 4 * dpr, 12 * dpr);
  ctx.textAlign = "start";
}

// ---------------------------------------------------------------- event timeline

function buildFilters() {
  const typeSel = document.getElementById("filter-type");
  for (const type of EVENT_TYPES) typeSel.append(new Option(type, type));
  typeSel.addEventListener("change", applyFilters);
  document.getElementById("filter-camera").addEventListener("change", applyFilters);
}

function addCameraFilterOption(cameraId) {
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

function eventRow(ev, className) {
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
function addEvents(events) {
  const list = document.getElementById("timeline");
  for (const ev of events) {
    if (!ev || !ev.type) continue;
    if (ev.id != null) {
      if (state.eventIds.has(ev.id)) continue;
      state.eventIds.add(ev.id);
    }
    pushCapped(state.recentEvents, ev, MAX_EVENTS);
    const row = eventRow(ev, "event");
    row.hidden = !rowMatchesFilters(row);
    // Walk from the top past newer rows; live events normally land at the top at once.
    let before = list.firstElementChild;
    while (before && Number(before.dataset.time) > ev.time) before = before.nextElementSibling;
    list.insertBefore(row, before);
    if (state.journeyLoaded && ev.global_id === state.selected) appendJourneyEvent(ev);
  }
  while (list.children.length > MAX_EVENTS) {
    const old = list.lastElementChild;
    if (old.eventId != null) state.eventIds.delete(old.eventId);
    old.remove();
  }
}

async function loadEventHistory() {
  const note = document.getElementById("timeline-note");
  try {
    const data = await apiGet("/api/events?limit=200");
    addEvents(data.events || []);
    note.hidden = true;
  } catch (err) {
    note.textContent = err.status === 503
      ? "Event history unavailable (store off) — showing live events only."
      : `Event history failed: ${err.message}`;
    note.hidden = false;
  }
}

// ---------------------------------------------------------------- identities

async function pollIdentities() {
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
  const current = identities.find((i) => i.global_id === state.selected);
  if (current) fillJourneyInfo(current);  // keep "last seen" fresh
}

// ---------------------------------------------------------------- selection and journey

function toggleSelect(gid) {
  state.selected = gid === state.selected ? 0 : gid;
  for (const chip of document.querySelectorAll(".gid-chip")) {
    chip.classList.toggle("selected", Number(chip.dataset.gid) === state.selected);
  }
  for (const tile of state.tiles.values()) drawTile(tile);
  drawFloor();
  renderJourney();
}

function renderJourney() {
  const panel = document.getElementById("journey");
  const gid = state.selected;
  const request = ++state.journeyRequest;
  document.getElementById("journey-close").hidden = !gid;
  document.getElementById("journey-empty").hidden = !!gid;
  document.getElementById("journey-body").hidden = !gid;
  document.getElementById("journey-events").replaceChildren();
  state.journeyIds.clear();
  state.journeyLoaded = false;
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
    if (request !== state.journeyRequest) return;  // selection changed meanwhile
    fillJourneyInfo(data.identity || {});
    events = data.events || [];
  } catch (err) {
    if (request !== state.journeyRequest) return;
    note.textContent = err.status === 404 ? "Not in the event store yet — live events only."
      : err.status === 503 ? "History unavailable (store off) — live events only."
        : `Journey failed: ${err.message}`;
    note.hidden = false;
    // Fall back to the events this page has seen.
    events = state.recentEvents.filter((ev) => ev.global_id === gid);
    fillJourneyInfo(summarize(events));
  }
  for (const ev of events) appendJourneyEvent(ev);
  state.journeyLoaded = true;
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
    if (state.journeyIds.has(ev.id)) return;
    state.journeyIds.add(ev.id);
  }
  const row = eventRow(ev, "journey-event");
  row.querySelector(".gid-chip")?.remove();  // the panel is about one person already
  document.getElementById("journey-events").append(row);
}

// ---------------------------------------------------------------- start

function main() {
  state.token = readToken();
  buildLatencyTable();
  buildFilters();
  // One delegated handler serves every chip (timeline, identities, journey).
  document.addEventListener("click", (e) => {
    const chip = e.target.closest?.(".gid-chip");
    if (chip) toggleSelect(Number(chip.dataset.gid));
  });
  document.getElementById("journey-close").addEventListener("click", () => {
    if (state.selected) toggleSelect(state.selected);
  });
  window.addEventListener("resize", drawSparks);
  // capture->display keeps updating even if the stats socket is down.
  setInterval(updateCaptureToDisplay, 1000);
  drawSparks();
  loadCameras().then(loadStats).then(connectStats);
  startFloorView({
    apiGet, apiFetch, socket: reconnectingSocket, colorOf: gidColor,
    selected: () => state.selected, onPick: toggleSelect,
  });
  loadEventHistory();
  pollIdentities();
}

if (typeof document !== "undefined") main();
