// Talking to the server: REST under /api and WebSockets under /ws, on the page's own origin, with
// the token when the server needs one. Every other module reaches the server through here.

const TOKEN_KEY = "mctrt-token";

let token = "";

/** Token from ?token= or #token=, remembered for this tab in sessionStorage; used from now on. */
export function loadToken() {
  const fromQuery = new URLSearchParams(location.search).get("token");
  const fromHash = new URLSearchParams(location.hash.replace(/^#/, "")).get("token");
  const given = fromQuery || fromHash;
  try {
    if (given) sessionStorage.setItem(TOKEN_KEY, given);
    token = given || sessionStorage.getItem(TOKEN_KEY) || "";
  } catch {
    token = given || "";  // storage can be blocked (privacy mode); the URL token still works
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
export async function apiFetch(path) {
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  const res = await fetch(path, { headers });
  if (res.status === 401) showAuthBanner();
  if (!res.ok) {
    let message = res.statusText;
    try { message = (await res.json()).error || message; } catch { /* not JSON */ }
    throw new HttpError(res.status, message);
  }
  return res;
}

export async function apiGet(path) {
  return (await apiFetch(path)).json();
}

// Browsers' WebSockets cannot send headers: the token goes in the query.
function wsUrl(path) {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const query = token ? `?token=${encodeURIComponent(token)}` : "";
  return `${proto}//${location.host}${path}${query}`;
}

/**
 * Open a WebSocket that reconnects after drops with a growing delay (1 s doubling to 10 s).
 * onState gets "connecting" | "live" | "disconnected"; a close before open also reports neverOpened.
 */
export function reconnectingSocket(path, { binary = false, onMessage, onState }) {
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
