// The counters in the header and the Metrics panel: per-stage latency (the stage names come from
// the server, /api/meta), capture -> display, drops, association counters, zone occupancy and the
// trend charts. Fed by every stats message (REST first, then /ws/stats).

import { el, pushCapped, setText } from "./dom.js";
import { captureToDisplayS } from "./videos.js";

// Stats fields beside its stages (the Stats schema of /api/openapi.json), shown as rows after them.
const END_TO_END_ROWS = ["capture_to_result", "capture_to_send"];
const SPARK_SAMPLES = 120;       // points per sparkline

let latencyRows = [...END_TO_END_ROWS];
const series = { fps: [], c2d: [], gids: [] };

/** Nearest-rank percentile of an array of numbers (q in 0..1); null when empty. */
export function percentile(values, q) {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[idx];
}

function formatMs(v) {
  return v == null ? "–" : v.toFixed(1);
}

/** One row per pipeline stage (in the server's order), then the end-to-end rows. */
export function buildLatencyTable(stages) {
  latencyRows = [...stages, ...END_TO_END_ROWS];
  const body = document.querySelector("#latency-table tbody");
  for (const name of latencyRows) {
    const row = el("tr");
    const p50 = el("td", "num", "–");
    const p95 = el("td", "num", "–");
    p50.id = `lat-${name}-p50`;
    p95.id = `lat-${name}-p95`;
    row.append(el("td", null, name.replaceAll("_", " ")), p50, p95);
    body.append(row);
  }
}

/** The header's counters and the Metrics panel from one stats message. */
export function updateMetrics(stats) {
  const assoc = stats.association || {};
  setText("fps-total", stats.fps_total == null ? null : stats.fps_total.toFixed(1));
  setText("global-ids", assoc.global_ids);
  setText("cross-camera-ids", assoc.cross_camera_ids);
  setText("handoffs", assoc.handoffs);
  setText("gallery-size", assoc.gallery_size);
  setText("run-state", `${stats.mode || "?"} mode${stats.running === false ? " · stopped" : ""}`);

  const stages = stats.stages || {};
  for (const name of latencyRows) {
    const lat = stages[name] || stats[name] || {};
    setText(`lat-${name}-p50`, formatMs(lat.p50_ms));
    setText(`lat-${name}-p95`, formatMs(lat.p95_ms));
  }
  const cams = stats.cameras || [];
  setText("queue-drops", cams.reduce((sum, c) => sum + (c.frames_dropped || 0), 0));
  const clients = stats.clients || {};
  setText("video-clients", clients.video);
  setText("client-drops", clients.dropped_frames);
  setText("m-gallery-size", assoc.gallery_size);
  setText("m-global-ids", assoc.global_ids);
  setText("m-active-ids", assoc.active_ids);
  setText("m-cross-camera-ids", assoc.cross_camera_ids);
  setText("m-handoffs", assoc.handoffs);
  renderZones(stats.zones || {});

  const c2d = updateCaptureToDisplay();
  pushCapped(series.fps, stats.fps_total ?? 0, SPARK_SAMPLES);
  pushCapped(series.c2d, c2d.p95 ?? 0, SPARK_SAMPLES);
  pushCapped(series.gids, assoc.global_ids ?? 0, SPARK_SAMPLES);
  drawSparks();
}

/** capture->display percentiles over the last frames of all cameras (browser clock). */
export function updateCaptureToDisplay() {
  const ms = captureToDisplayS().map((s) => s * 1000);
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

export function drawSparks() {
  drawSparkline(document.getElementById("spark-fps"), series.fps, (v) => v.toFixed(1));
  drawSparkline(document.getElementById("spark-c2d"), series.c2d, (v) => `${v.toFixed(0)} ms`);
  drawSparkline(document.getElementById("spark-gids"), series.gids, (v) => String(v));
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
