// The floor view: a map of the floor in metres, +y up as on a map, with the calibrated cameras and
// the floor they see, floor zones and lines, an optional plan image, and the people on the floor as
// dots with short trails. The map comes from /api/floor, the people from /ws/positions; app.js hands
// in the connections (api.js) and the selection (selection.js) through startFloorView(). The view fits
// the map (views, zones, lines, cameras, plan); people widen it only when near the map, so that one
// bad position (a foot point near the horizon) cannot zoom it out for good.

const LAYOUT_RETRY_MS = 2000;   // a camera's view is known once its reader has opened the video
const MARGIN_PX = 18;           // kept clear around the fitted map (CSS pixels)
const EMPTY_HALF_SIZE_M = 10;   // the map's half-size while nothing is known yet
const MIN_SPAN_M = 4;           // never zoom in further (a lone person keeps some floor around them)
const PEOPLE_REACH_M = 10;      // people up to this far outside the map widen the view; farther ones do not
const DOT_RADIUS_PX = 6;
const SELECTED_RADIUS_PX = 9;
const HIT_RADIUS_PX = 14;       // a click this close to a person's dot picks them
const GRID_SPACING_PX = 40;     // grid lines at least this far apart
const GRID_STEPS_M = [0.5, 1, 2, 5, 10, 20, 50, 100];
const DIMMED_ALPHA = 0.35;      // others, while someone is selected (as in the videos)

const view = {
  options: null,      // see startFloorView
  root: null,
  canvas: null,
  layout: null,       // the body of /api/floor
  mapExtent: null,    // [x_min, y_min, x_max, y_max] metres of the map itself (layout and plan), or null
  extent: null,       // metres shown: the map, grown by the people near it; shrinks only with the map (no jitter)
  plan: null,         // { bitmap, placement } once the plan image is in
  positions: { time: null, people: [] },
  dots: [],           // [{ gid, x, y }] drawn people, CSS pixels from the canvas's top-left
};

// ---------------------------------------------------------------- pure helpers

/** Bounds [x_min, y_min, x_max, y_max] around `bounds` (may be null) and points [[x, y], ...]; null if none. */
export function growExtent(bounds, points) {
  let extent = bounds ? [...bounds] : null;
  for (const [x, y] of points) {
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    extent = extent ? [Math.min(extent[0], x), Math.min(extent[1], y), Math.max(extent[2], x), Math.max(extent[3], y)]
      : [x, y, x, y];
  }
  return extent;
}

/** Whether (x, y) lies within `reach` metres of `extent` (every point does while there is no extent). */
export function isNear(extent, [x, y], reach) {
  if (!extent) return true;
  return x >= extent[0] - reach && y >= extent[1] - reach && x <= extent[2] + reach && y <= extent[3] + reach;
}

/** The floor corners [[x, y], ...] (metres) of a plan image width x height pixels (see planTransform). */
export function planCorners(placement, width, height) {
  const [ox, oy] = placement.origin_px;
  const ySign = placement.y_axis === "down" ? 1 : -1;
  return [[0, 0], [width, 0], [0, height], [width, height]]
    .map(([u, v]) => [(u - ox) / placement.pixels_per_m, (ySign * (v - oy)) / placement.pixels_per_m]);
}

/** The map-to-screen fit of `extent` (metres) in a width x height pixel box: screen = (x0 + s x, y0 - s y). */
export function fitExtent(extent, width, height, margin) {
  const [xMin, yMin, xMax, yMax] = extent;
  const spanX = Math.max(xMax - xMin, MIN_SPAN_M);
  const spanY = Math.max(yMax - yMin, MIN_SPAN_M);
  const scale = Math.max(1e-6, Math.min((width - 2 * margin) / spanX, (height - 2 * margin) / spanY));
  return {
    scale,
    x0: width / 2 - scale * (xMin + xMax) / 2,
    y0: height / 2 + scale * (yMin + yMax) / 2,  // +y up: screen y grows as floor y falls
  };
}

/**
 * The canvas transform [a, b, c, d, e, f] that draws a plan image (pixels) on the map: a plan pixel
 * (u, v) is floor ((u - ox) / ppm, ±(v - oy) / ppm), + when the plan's y axis points down.
 */
export function planTransform(placement, fit) {
  const [ox, oy] = placement.origin_px;
  const perPixel = fit.scale / placement.pixels_per_m;
  const ySign = placement.y_axis === "down" ? 1 : -1;  // floor y per plan pixel down
  return [perPixel, 0, 0, -ySign * perPixel, fit.x0 - perPixel * ox, fit.y0 + ySign * perPixel * oy];
}

/** The global ID of the dot nearest (x, y) within `radius`, or 0. */
export function nearestDot(dots, x, y, radius) {
  let best = 0;
  let bestDistance = radius;
  for (const dot of dots) {
    const distance = Math.hypot(dot.x - x, dot.y - y);
    if (distance <= bestDistance) { best = dot.gid; bestDistance = distance; }
  }
  return best;
}

/** The smallest step of GRID_STEPS_M at least `minPx` apart on screen. */
export function gridStep(scale, minPx) {
  return GRID_STEPS_M.find((step) => step * scale >= minPx) || GRID_STEPS_M[GRID_STEPS_M.length - 1];
}

// ---------------------------------------------------------------- start

/**
 * Build the floor view in #floor. options: apiGet(path) -> JSON, apiFetch(path) -> Response,
 * socket(path, {onMessage, onState}) (reconnecting), colorOf(gid), selected() -> gid or 0,
 * onPick(gid) (a click on a person).
 */
export function startFloorView(options) {
  view.options = options;
  view.root = document.getElementById("floor");
  view.canvas = document.getElementById("floor-canvas");
  view.canvas.addEventListener("click", onClick);
  window.addEventListener("resize", drawFloor);
  loadLayout();
}

/** The people on the floor now, in the viewport's CSS pixels (what a click at that point picks). */
export function peopleOnScreen() {
  const rect = view.canvas.getBoundingClientRect();
  return view.dots.map((d) => ({ global_id: d.gid, x: rect.left + d.x, y: rect.top + d.y }));
}

async function loadLayout() {
  let layout;
  try {
    layout = await view.options.apiGet("/api/floor");
  } catch (err) {
    showEmpty(`Floor map failed: ${err.message}`);
    setTimeout(loadLayout, LAYOUT_RETRY_MS);
    return;
  }
  const first = view.layout === null;
  view.layout = layout;
  const calibrated = layout.cameras.filter((c) => c.calibrated);
  view.root.dataset.calibrated = String(calibrated.length > 0);
  if (!calibrated.length) {
    showEmpty("No camera is calibrated: add inputs[].calibration to the config to see people on the floor.");
    document.getElementById("floor-people").textContent = "";
    document.getElementById("floor-ws").textContent = "no positions";  // nothing to place: no socket
    return;
  }
  showEmpty(null);
  fitMap();
  if (first) {
    if (layout.plan) loadPlan(layout.plan);
    view.options.socket("/ws/positions", { onMessage: onPositions, onState: onPositionsState });
  }
  if (calibrated.some((c) => !c.view.length)) setTimeout(loadLayout, LAYOUT_RETRY_MS);
  drawFloor();
}

async function loadPlan(placement) {
  try {
    const response = await view.options.apiFetch(placement.url);
    view.plan = { bitmap: await createImageBitmap(await response.blob()), placement };
    fitMap();
    drawFloor();
  } catch (err) {
    console.warn("floor plan:", err.message);
  }
}

/** Fit the view to the map (the layout and the plan): people seen so far widen it again as they move. */
function fitMap() {
  const { layout, plan } = view;
  const cameras = layout.cameras.filter((c) => c.position).map((c) => c.position);
  const corners = plan ? planCorners(plan.placement, plan.bitmap.width, plan.bitmap.height) : [];
  view.mapExtent = growExtent(layout.bounds, [...cameras, ...corners]);
  view.extent = view.mapExtent;
}

function showEmpty(message) {
  const note = document.getElementById("floor-empty");
  note.textContent = message || "";
  note.hidden = !message;
  view.canvas.hidden = !!message;
}

function onPositions(data) {
  let message;
  try { message = JSON.parse(data); } catch { return; }
  if (message.type !== "positions" || !Array.isArray(message.people)) return;
  view.positions = message;
  const points = message.people.flatMap((p) => [[p.x, p.y], ...p.trail]);
  view.extent = growExtent(view.extent, points.filter((p) => isNear(view.mapExtent, p, PEOPLE_REACH_M)));
  drawFloor();
}

/** Without the socket the last positions are old news: nobody is drawn until it is back. */
function onPositionsState(state) {
  view.root.dataset.ws = state;
  document.getElementById("floor-ws").textContent = `positions ${state}`;
  if (state !== "live" && view.positions.people.length) {
    view.positions = { time: null, people: [] };
    drawFloor();
  }
}

function onClick(e) {
  const rect = view.canvas.getBoundingClientRect();
  const gid = nearestDot(view.dots, e.clientX - rect.left, e.clientY - rect.top, HIT_RADIUS_PX);
  if (gid) view.options.onPick(gid);
}

// ---------------------------------------------------------------- drawing

/** Redraw the whole map; also called when the selection or the window size changes. */
export function drawFloor() {
  const { canvas, layout } = view;
  if (!canvas || !layout || canvas.hidden) return;
  const dpr = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  if (!width || !height) return;
  if (canvas.width !== Math.round(width * dpr) || canvas.height !== Math.round(height * dpr)) {
    canvas.width = Math.round(width * dpr);
    canvas.height = Math.round(height * dpr);
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.fillStyle = "#111418";
  ctx.fillRect(0, 0, width, height);
  const half = EMPTY_HALF_SIZE_M;
  const fit = fitExtent(view.extent || [-half, -half, half, half], width, height, MARGIN_PX);
  const toScreen = ([x, y]) => [fit.x0 + fit.scale * x, fit.y0 - fit.scale * y];
  if (view.plan) {
    ctx.save();
    ctx.transform(...planTransform(view.plan.placement, fit));
    ctx.drawImage(view.plan.bitmap, 0, 0);
    ctx.restore();
  } else {
    drawGrid(ctx, fit, width, height);
  }
  drawCameras(ctx, layout.cameras, toScreen);
  drawZones(ctx, layout.zones, toScreen);
  drawLines(ctx, layout.lines, toScreen);
  view.dots = drawPeople(ctx, view.positions.people, toScreen);
  drawScaleBar(ctx, fit, height);
  const selected = view.options.selected();
  view.root.dataset.people = String(view.dots.length);
  view.root.dataset.selected = selected ? String(selected) : "";
  document.getElementById("floor-people").textContent = `${view.dots.length} on the floor`;
}

function drawGrid(ctx, fit, width, height) {
  const step = gridStep(fit.scale, GRID_SPACING_PX);
  const [xMin, xMax] = [-fit.x0 / fit.scale, (width - fit.x0) / fit.scale];
  const [yMin, yMax] = [(fit.y0 - height) / fit.scale, fit.y0 / fit.scale];
  ctx.save();
  ctx.lineWidth = 1;
  for (let x = Math.ceil(xMin / step) * step; x <= xMax; x += step) {
    ctx.strokeStyle = Math.abs(x) < step / 2 ? "#3a4452" : "#1e252e";  // the axes a little brighter
    const sx = Math.round(fit.x0 + fit.scale * x) + 0.5;
    ctx.beginPath(); ctx.moveTo(sx, 0); ctx.lineTo(sx, height); ctx.stroke();
  }
  for (let y = Math.ceil(yMin / step) * step; y <= yMax; y += step) {
    ctx.strokeStyle = Math.abs(y) < step / 2 ? "#3a4452" : "#1e252e";
    const sy = Math.round(fit.y0 - fit.scale * y) + 0.5;
    ctx.beginPath(); ctx.moveTo(0, sy); ctx.lineTo(width, sy); ctx.stroke();
  }
  ctx.restore();
}

function tracePolygon(ctx, points, toScreen) {
  ctx.beginPath();
  points.forEach((p, i) => {
    const [sx, sy] = toScreen(p);
    if (i) ctx.lineTo(sx, sy); else ctx.moveTo(sx, sy);
  });
  ctx.closePath();
}

function centroid(points) {
  const n = points.length;
  return [points.reduce((s, p) => s + p[0], 0) / n, points.reduce((s, p) => s + p[1], 0) / n];
}

function drawCameras(ctx, cameras, toScreen) {
  ctx.save();
  ctx.font = "12px system-ui, sans-serif";
  ctx.textAlign = "center";
  for (const camera of cameras) {
    if (camera.view.length >= 3) {
      tracePolygon(ctx, camera.view, toScreen);
      ctx.fillStyle = "rgba(230, 237, 243, 0.05)";
      ctx.fill();
      ctx.strokeStyle = "rgba(139, 149, 161, 0.55)";
      ctx.setLineDash([4, 3]);
      ctx.lineWidth = 1;
      ctx.stroke();
      ctx.setLineDash([]);
    }
    const where = camera.position || (camera.view.length ? centroid(camera.view) : null);
    if (!where) continue;
    const [sx, sy] = toScreen(where);
    if (camera.position) {
      ctx.fillStyle = "#e6edf3";
      ctx.fillRect(sx - 4, sy - 4, 8, 8);
    }
    ctx.fillStyle = "rgba(200, 208, 216, 0.85)";
    ctx.fillText(camera.camera_id, sx, camera.position ? sy - 8 : sy);
  }
  ctx.restore();
}

function drawZones(ctx, zones, toScreen) {
  ctx.save();
  ctx.font = "12px system-ui, sans-serif";
  for (const zone of zones) {
    tracePolygon(ctx, zone.polygon_m, toScreen);
    ctx.fillStyle = "rgba(80, 160, 255, 0.14)";
    ctx.fill();
    ctx.strokeStyle = "rgba(80, 160, 255, 0.8)";
    ctx.lineWidth = 1.5;
    ctx.stroke();
    const [sx, sy] = toScreen(zone.polygon_m[0]);
    ctx.fillStyle = "rgba(160, 205, 255, 0.95)";
    ctx.fillText(zone.name, sx + 4, sy - 4);
  }
  ctx.restore();
}

/** Lines go a -> b; the arrowhead at b shows "forward" (crossing from its left to its right). */
function drawLines(ctx, lines, toScreen) {
  const arrowPx = 9;
  const arrowAngle = 0.45;
  ctx.save();
  ctx.font = "12px system-ui, sans-serif";
  for (const line of lines) {
    const [[ax, ay], [bx, by]] = line.points_m.map(toScreen);
    ctx.strokeStyle = ctx.fillStyle = "#ffd23f";
    ctx.lineWidth = 2;
    ctx.beginPath(); ctx.moveTo(ax, ay); ctx.lineTo(bx, by); ctx.stroke();
    const angle = Math.atan2(by - ay, bx - ax);
    ctx.beginPath();
    ctx.moveTo(bx, by);
    ctx.lineTo(bx - arrowPx * Math.cos(angle - arrowAngle), by - arrowPx * Math.sin(angle - arrowAngle));
    ctx.lineTo(bx - arrowPx * Math.cos(angle + arrowAngle), by - arrowPx * Math.sin(angle + arrowAngle));
    ctx.closePath();
    ctx.fill();
    ctx.fillText(`${line.name} a→b`, (ax + bx) / 2 + 4, (ay + by) / 2 - 4);
  }
  ctx.restore();
}

/** Trails, then dots with their IDs (the selected person last, on top); returns the dots for clicks. */
function drawPeople(ctx, people, toScreen) {
  const selected = view.options.selected();
  const ordered = [...people].sort((a, b) => (a.global_id === selected) - (b.global_id === selected));
  const dots = [];
  ctx.save();
  ctx.font = "bold 12px system-ui, sans-serif";
  for (const person of ordered) {
    const gid = person.global_id;
    const color = view.options.colorOf(gid);
    const isSelected = gid === selected;
    ctx.globalAlpha = selected && !isSelected ? DIMMED_ALPHA : 1;
    if (person.trail.length > 1) {
      ctx.strokeStyle = color;
      ctx.lineWidth = isSelected ? 3 : 2;
      ctx.beginPath();
      person.trail.forEach((p, i) => {
        const [sx, sy] = toScreen(p);
        if (i) ctx.lineTo(sx, sy); else ctx.moveTo(sx, sy);
      });
      ctx.stroke();
    }
    const [x, y] = toScreen([person.x, person.y]);
    ctx.beginPath();
    ctx.arc(x, y, isSelected ? SELECTED_RADIUS_PX : DOT_RADIUS_PX, 0, 2 * Math.PI);
    ctx.fillStyle = color;
    ctx.fill();
    ctx.lineWidth = isSelected ? 2.5 : 1.5;
    ctx.strokeStyle = isSelected ? "#ffffff" : "#0b0d10";
    ctx.stroke();
    ctx.fillStyle = color;
    ctx.fillText(`#${gid}`, x + SELECTED_RADIUS_PX + 2, y - SELECTED_RADIUS_PX + 2);
    dots.push({ gid, x, y });
  }
  ctx.restore();
  return dots;
}

function drawScaleBar(ctx, fit, height) {
  const step = gridStep(fit.scale, 2 * GRID_SPACING_PX);
  const [x, y] = [MARGIN_PX / 2, height - MARGIN_PX / 2];
  const length = step * fit.scale;
  ctx.save();
  ctx.strokeStyle = ctx.fillStyle = "#c8d0d8";
  ctx.lineWidth = 2;
  ctx.beginPath(); ctx.moveTo(x, y - 4); ctx.lineTo(x, y); ctx.lineTo(x + length, y); ctx.lineTo(x + length, y - 4);
  ctx.stroke();
  ctx.font = "11px system-ui, sans-serif";
  ctx.fillText(`${step} m`, x + 4, y - 5);
  ctx.restore();
}
