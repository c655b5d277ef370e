// The camera tiles: one per camera, its video from /ws/<camera_id> drawn on a canvas with the
// configured lines and zones and each track's box and global ID; a click on a box selects that
// person. Also measures capture -> display (browser clock), which metrics.js shows. A tile whose
// camera is not connected, or whose video socket is not open, is stale: its last frame is dimmed and
// labelled, without boxes to click.

import { apiGet, reconnectingSocket } from "./api.js";
import { el, pushCapped } from "./dom.js";
import { gidColor, selectedGid, toggleSelect } from "./selection.js";

const LATENCY_WINDOW = 200;      // frames used for capture->display percentiles, at most
const LATENCY_MAX_AGE_MS = 10000; // and only those drawn this recently: no old figures once video stops
const CAMERAS_RETRY_MS = 1000;   // /api/cameras failed: try again after this, doubling
const CAMERAS_RETRY_MAX_MS = 30000;
const STALE_ALPHA = 0.35;        // a stale tile's last frame, dimmed

const tiles = new Map();         // camera_id -> tile (see createTile)
const displayLatencies = [];     // { atMs, latencyS } of the last frames drawn (all cameras)
const cameraListeners = [];

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

// ---------------------------------------------------------------- tiles

/** Call listener(camera_id) when a camera gets its tile (the timeline's camera filter lists it). */
export function onNewCamera(listener) {
  cameraListeners.push(listener);
}

/** capture->display seconds of the frames drawn in the last LATENCY_MAX_AGE_MS, all cameras. */
export function captureToDisplayS() {
  const oldest = Date.now() - LATENCY_MAX_AGE_MS;
  const firstRecent = displayLatencies.findIndex((sample) => sample.atMs >= oldest);
  displayLatencies.splice(0, firstRecent < 0 ? displayLatencies.length : firstRecent);
  return displayLatencies.map((sample) => sample.latencyS);
}

/** Redraw every tile's last frame (the selection changed). */
export function redrawTiles() {
  for (const tile of tiles.values()) drawTile(tile);
}

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
    frames: 0, decoding: false, bitmap: null, header: null, boxes: [], stale: true,
  };
  tiles.set(info.camera_id, tile);
  setTileState(tile, info.state || "connecting", info.reason || "");
  drawPlaceholder(tile, "waiting for video…");
  canvas.addEventListener("click", (e) => onCanvasClick(tile, e));
  reconnectingSocket(`/ws/${encodeURIComponent(info.camera_id)}`, {
    binary: true,
    onMessage: (data) => onVideoMessage(tile, data),
    onState: (s) => {
      root.dataset.ws = s;
      ws.textContent = `video ${s}`;
      updateStale(tile);
    },
  });
  for (const listener of cameraListeners) listener(info.camera_id);
  return tile;
}

function setTileState(tile, camState, reason) {
  tile.badge.className = `badge ${camState}`;
  tile.badge.textContent = camState;
  tile.root.dataset.state = camState;
  tile.reason.textContent = reason || "";
  tile.reason.hidden = !reason;
  updateStale(tile);
}

/** Stale: the camera is not connected or its video socket is not open; the last frame is old news. */
function updateStale(tile) {
  const stale = tile.root.dataset.state !== "connected" || tile.root.dataset.ws !== "live";
  tile.root.dataset.stale = String(stale);
  tile.root.classList.toggle("stale", stale);
  if (stale === tile.stale) return;
  tile.stale = stale;
  drawTile(tile);
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
        pushCapped(displayLatencies, { atMs: Date.now(), latencyS: Date.now() / 1000 - captured }, LATENCY_WINDOW);
      }
    })
    .catch(() => { /* undecodable JPEG: skip the frame */ })
    .finally(() => { tile.decoding = false; });
}

/** Redraw the last frame with overlays; also used when the selection changes. */
function drawTile(tile) {
  const { canvas, ctx, bitmap, header } = tile;
  setBoxes(tile, []);
  if (!bitmap || !header) return;
  const w = header.width || bitmap.width;
  const h = header.height || bitmap.height;
  if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
  const scale = Number(header.scale) || 1;
  const unit = Math.max(1, w / 400);  // line/font size relative to frame size
  if (tile.stale) {
    drawStaleFrame(tile, unit);
    return;
  }
  ctx.drawImage(bitmap, 0, 0, w, h);
  drawZones(ctx, tile.info.zones || [], scale, unit);
  drawLines(ctx, tile.info.lines || [], scale, unit);
  setBoxes(tile, drawTracks(ctx, header.tracks || [], scale, unit));
}

/** The boxes a click can pick; their count is on the tile (data-boxes) for tests. */
function setBoxes(tile, boxes) {
  tile.boxes = boxes;
  tile.root.dataset.boxes = String(boxes.length);
}

/** The last frame dimmed, without boxes (those people may be anywhere now), and why it is old. */
function drawStaleFrame(tile, unit) {
  const { canvas, ctx, bitmap } = tile;
  ctx.fillStyle = "#111418";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.globalAlpha = STALE_ALPHA;
  ctx.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  ctx.globalAlpha = 1;
  const why = tile.root.dataset.state !== "connected" ? `camera ${tile.root.dataset.state}` : "video disconnected";
  ctx.fillStyle = "#e6edf3";
  ctx.font = `bold ${Math.round(16 * unit)}px system-ui, sans-serif`;
  ctx.textAlign = "center";
  ctx.fillText(`${why} · last frame`, canvas.width / 2, canvas.height / 2);
  ctx.textAlign = "start";
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
  const chosen = selectedGid();
  ctx.save();
  ctx.font = `bold ${Math.round(13 * unit)}px system-ui, sans-serif`;
  for (const t of tracks) {
    if (!Array.isArray(t.box) || t.box.length < 4) continue;
    const [x0, y0, x1, y1] = t.box.map((v) => v * scale);
    const gid = Number(t.global_id) || 0;
    boxes.push({ gid, x0, y0, x1, y1 });
    const selected = chosen && gid === chosen;
    ctx.globalAlpha = chosen && !selected ? 0.35 : 1;
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

/**
 * A tile for each camera of /api/cameras, with its lines and zones. Tried again with a growing delay
 * until it answers: the tiles that stats made meanwhile get their lines and zones then.
 */
export async function loadCameras(retryMs = CAMERAS_RETRY_MS) {
  try {
    const data = await apiGet("/api/cameras");
    for (const info of data.cameras || []) {
      const tile = tiles.get(info.camera_id);
      if (!tile) { createTile(info); continue; }
      tile.info = info;
      drawTile(tile);
    }
  } catch (err) {
    console.warn(`cameras: ${err.message}; trying again in ${retryMs / 1000} s`);
    setTimeout(() => loadCameras(Math.min(2 * retryMs, CAMERAS_RETRY_MAX_MS)), retryMs);
  }
}

/** The per-camera part of a stats message: state, frames/s, detection and track counts. */
export function updateTiles(cameras) {
  for (const cam of cameras) {
    // A camera missing from /api/cameras (fetch failed) still gets a tile, without overlays.
    const tile = tiles.get(cam.camera_id) || createTile(cam);
    setTileState(tile, cam.state, cam.reason);
    tile.fps.textContent = `${cam.fps == null ? "–" : cam.fps.toFixed(1)} fps`;
    tile.det.textContent = `det ${cam.detections ?? "–"}`;
    tile.trk.textContent = `trk ${cam.tracks ?? "–"}`;
  }
}
