// The person being followed, and how a person looks everywhere (colour, chip). The videos, the
// floor view and the journey each redraw on a change; app.js subscribes them with onSelect().

import { el } from "./dom.js";

let selected = 0;  // global ID, 0 = none
const listeners = [];

/** The selected global ID, or 0. */
export function selectedGid() {
  return selected;
}

/** Call listener() after every change of the selection. */
export function onSelect(listener) {
  listeners.push(listener);
}

/** Select gid, or deselect it when it is the selected one already. */
export function toggleSelect(gid) {
  select(gid === selected ? 0 : gid);
}

/** Select gid (0: nobody), whoever was selected before. */
export function select(gid) {
  selected = gid;
  for (const chip of document.querySelectorAll(".gid-chip")) {
    chip.classList.toggle("selected", Number(chip.dataset.gid) === selected);
  }
  for (const listener of listeners) listener();
}

/** One stable colour per global ID, the same in every camera and chip. */
export function gidColor(gid) {
  return `hsl(${((gid * 137.508) % 360).toFixed(1)}, 85%, 55%)`;
}

/** The one clickable global-ID chip used everywhere (clicks handled by delegation in app.js). */
export function gidChip(gid) {
  const chip = el("button", "gid-chip", `#${gid}`);
  chip.type = "button";
  chip.dataset.gid = String(gid);
  chip.style.background = gidColor(gid);
  if (gid === selected) chip.classList.add("selected");
  return chip;
}
