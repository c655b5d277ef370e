// Small DOM and formatting helpers every panel uses.

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = text;
  return node;
}

export function setText(id, value) {
  const node = document.getElementById(id);
  if (node) node.textContent = value == null ? "–" : String(value);
}

export function formatTime(unixS) {
  if (unixS == null) return "–";
  return new Date(unixS * 1000).toLocaleTimeString([], { hour12: false });
}

/** Append value, dropping the oldest beyond cap: memory stays bounded on a page left open. */
export function pushCapped(arr, value, cap) {
  arr.push(value);
  if (arr.length > cap) arr.splice(0, arr.length - cap);
}
