"""The dashboard in a real browser: Debian's Chromium, headless, driven over the DevTools protocol,
loads the page while `python -m mctrt.run` runs live on ../shared/data/pets09_split2 (configs/demo.yaml,
both cameras calibrated, plus a floor zone and a floor line).

The first test checks that the type filter and the latency rows list the server's event types and
stages, waits for video on every camera and for an event in the timeline, clicks a global ID, waits for
that person's journey, waits for people on the floor view, clicks one there with the mouse, checks that
the same person is selected and their journey shows, and saves a screenshot (MCTRT_SCREENSHOT=path keeps
a copy, e.g. docs/dashboard.png).

The second takes the page's sockets down as a network drop would (SOCKET_SWITCH): the events stored
while the stats socket was down reach the timeline once it is back; without video the tiles are marked
stale with no boxes to click and capture -> display empties; without positions nobody is left on the
floor. It also hands the page an ID correction of the selected person, which the selection follows."""

import asyncio
import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import aiohttp
import cv2
import numpy as np
import pytest
import yaml

from mctrt.events import EVENT_TYPES
from mctrt.metrics import STAGES

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.usefixtures("demo_int8_cached"),
              pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium: apt-get install chromium (.ci/run does)")]
WIDTH, HEIGHT = 1440, 1000
FLOOR_ZONE = {"name": "square", "polygon_m": [[-12, -14], [12, -14], [12, 2], [-12, 2]]}  # where the demo's people walk
FLOOR_LINE = {"name": "middle", "points_m": [[0, -14], [0, 2]]}
FLOOR_CLICK_ATTEMPTS = 3  # a person may leave the floor between finding their dot and the click
SELECTED = "document.querySelector('#journey').dataset.gid"  # the selected person's global ID (undefined: nobody)
TIMELINE_IDS = "[...document.querySelectorAll('#timeline .event[data-id]')].map(r => Number(r.dataset.id))"
JOURNEY_GID = "document.querySelector('#journey-gid .gid-chip')?.dataset.gid"
TILES = "[...document.querySelectorAll('.camera')]"

# Run in the page before its own scripts: cutSocket(path) closes the page's WebSockets to that path and
# sends its reconnections to a closed port (as a network drop would) until restoreSocket(path).
SOCKET_SWITCH = """
(() => {
  const Native = window.WebSocket;
  const held = new Set();
  const sockets = [];
  window.WebSocket = class extends Native {
    constructor(url, protocols) {
      const path = new URL(url).pathname;
      super(held.has(path) ? "ws://127.0.0.1:9/" : url, protocols);
      this.pagePath = path;
      sockets.push(this);
    }
  };
  window.cutSocket = (path) => {
    held.add(path);
    for (const ws of sockets) if (ws.pagePath === path) ws.close();
  };
  window.restoreSocket = (path) => held.delete(path);
})();
"""


class DevTools:
    """The few DevTools protocol commands this test needs, over one page's WebSocket."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.next_id = 0

    async def send(self, method: str, **params) -> dict:
        self.next_id += 1
        await self.ws.send_json({"id": self.next_id, "method": method, "params": params})
        while True:
            message = await self.ws.receive_json(timeout=120)
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                return message["result"]

    async def evaluate(self, expression: str):
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def wait_for(self, expression: str, what: str, timeout: float = 300.0):
        # 5 min only bounds a hang: a loaded machine took over 90 s to show what an idle one shows in seconds
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = await self.evaluate(expression)
            if value:
                return value
            await asyncio.sleep(0.25)
        raise AssertionError(f"timed out waiting for {what} ({expression})")

    async def click(self, selector: str) -> None:
        """A real mouse click at the middle of the element (not element.click()): the pointer moves
        there first, as a user's does, and the click goes where the element is then."""
        middle = (f"(() => {{ const r = document.querySelector({json.dumps(selector)}).getBoundingClientRect();"
                  f" return [r.x + r.width / 2, r.y + r.height / 2]; }})()")
        await self.evaluate(f"document.querySelector({json.dumps(selector)}).scrollIntoView({{block: 'center'}})")
        x, y = await self.evaluate(middle)
        await self.send("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y)
        await self.click_at(*await self.evaluate(middle))

    async def click_at(self, x: float, y: float) -> None:
        """A real mouse click at (x, y), the viewport's CSS pixels."""
        for kind in ("mousePressed", "mouseReleased"):
            await self.send("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)


def start_browser(profile: Path) -> tuple[subprocess.Popen, int]:
    browser = subprocess.Popen(
        [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--remote-debugging-port=0", f"--user-data-dir={profile}", f"--window-size={WIDTH},{HEIGHT}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    port_file, deadline = profile / "DevToolsActivePort", time.monotonic() + 120
    while not port_file.exists() or not port_file.read_text().strip():
        if time.monotonic() > deadline or browser.poll() is not None:
            browser.kill()
            raise AssertionError("Chromium did not start its DevTools server")
        time.sleep(0.1)
    return browser, int(port_file.read_text().split()[0])


def with_floor_zone_and_line(config: Path) -> Path:
    """The demo config with FLOOR_ZONE and FLOOR_LINE added (demo.yaml has none on the floor), stats
    pushed once a minute."""
    data = yaml.safe_load(config.read_text())
    data["events"]["zones"].append(FLOOR_ZONE)
    data["events"]["lines"].append(FLOOR_LINE)
    data["server"]["stats_interval_s"] = 60.0  # no stats push while the test looks: the page paints from REST first
    config.write_text(yaml.safe_dump(data))
    return config


async def click_an_identity(page: DevTools, index: int = 0) -> str:
    """Click the chip of the identities list's row `index` with the mouse; its global ID, once the page
    has selected that person."""
    gid = await page.evaluate(f"document.querySelectorAll('#identities .gid-chip')[{index}].dataset.gid")
    await page.click(f"#identities .gid-chip[data-gid='{gid}']")
    got = await page.wait_for(f"{SELECTED} || 'none'", "the click to be handled")
    assert got == gid, f"clicked #{gid} in the identities list, {got} selected"
    return gid


async def click_a_person_on_the_floor(page: DevTools) -> int:
    """Click the most isolated person's dot on the floor view with the mouse; their global ID once
    the page has selected them."""
    for _ in range(FLOOR_CLICK_ATTEMPTS):
        await page.evaluate("document.querySelector('#floor-canvas').scrollIntoView({block: 'center'})")
        people = await page.evaluate("import('/static/floor.js').then(m => m.peopleOnScreen())")
        assert people, "the floor view drew nobody"

        def room(person):  # distance to the nearest other dot: a click there cannot pick someone else
            return min((np.hypot(person["x"] - o["x"], person["y"] - o["y"]) for o in people if o is not person),
                       default=np.inf)

        person = max(people, key=room)
        await page.click_at(person["x"], person["y"])
        got = await page.wait_for(f"{SELECTED} || 'none'", "the click to be handled")
        if got != "none":
            assert got == str(person["global_id"]), f"clicked #{person['global_id']} on the floor, #{got} selected"
            return person["global_id"]
    raise AssertionError(f"{FLOOR_CLICK_ATTEMPTS} clicks on people on the floor view selected nobody")


def page_socket_url(devtools_port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{devtools_port}/json/list", timeout=10) as response:
        pages = [t for t in json.load(response) if t["type"] == "page"]
    return pages[0]["webSocketDebuggerUrl"]


def looping(config: Path, stats_interval_s: float | None = 1.0) -> Path:
    """The demo config with its videos played in a loop (people and events keep coming however long a
    test takes, on a loaded machine too) and stats pushed every stats_interval_s (1 s: camera states
    follow quickly; None keeps the config's)."""
    data = yaml.safe_load(config.read_text())
    for camera in data["inputs"]:
        camera["loop"] = True
    if stats_interval_s is not None:
        data["server"]["stats_interval_s"] = stats_interval_s
    config.write_text(yaml.safe_dump(data))
    return config


@contextlib.asynccontextmanager
async def dashboard(config: Path, tmp_path: Path, port: int, wait_for_dashboard, before_page: str = ""):
    """`python -m mctrt.run` on config and the page open in Chromium (before_page run in it before its
    own scripts); yields the page, then checks that the run stops cleanly on SIGINT."""
    run = subprocess.Popen([sys.executable, "-m", "mctrt.run", "--config", str(config), "--port", str(port)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    browser = None
    try:
        wait_for_dashboard(port, run)
        browser, devtools_port = start_browser(tmp_path / "profile")
        async with aiohttp.ClientSession() as session, session.ws_connect(
                page_socket_url(devtools_port), max_msg_size=0) as ws:
            page = DevTools(ws)
            await page.send("Emulation.setDeviceMetricsOverride", width=WIDTH, height=HEIGHT, deviceScaleFactor=1,
                            mobile=False)
            await page.send("Page.enable")
            if before_page:
                await page.send("Page.addScriptToEvaluateOnNewDocument", source=before_page)
            await page.send("Page.navigate", url=f"http://127.0.0.1:{port}/")
            yield page
        run.send_signal(signal.SIGINT)
        _, stderr = run.communicate(timeout=60)
        assert run.returncode == 0, stderr[-3000:]
    finally:
        run.kill()
        if browser is not None:
            browser.kill()
            browser.wait(10)


def stored_after(port: int, event_id: int) -> list[int]:
    """The ids of the events the server stored after event_id (from its REST API, not the page)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/events?after_id={event_id}&limit=10000",
                                timeout=10) as response:
        return [event["id"] for event in json.load(response)["events"]]


async def wait_for_stored_after(port: int, event_id: int, timeout: float = 300.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ids = await asyncio.to_thread(stored_after, port, event_id)
        if ids:
            return ids
        await asyncio.sleep(0.5)
    raise AssertionError(f"no event stored after #{event_id} in {timeout} s")


async def test_dashboard_shows_live_video_events_and_a_journey_in_chromium(tmp_path, demo_config, free_port,
                                                                           wait_for_dashboard):
    # looped: the late checks (people on the floor, the last 10 s of latencies) need video still playing
    config = looping(with_floor_zone_and_line(demo_config(tmp_path)), stats_interval_s=None)
    async with dashboard(config, tmp_path, free_port(), wait_for_dashboard) as page:
        await page.wait_for("document.querySelectorAll('.camera').length === 2", "both camera tiles")
        await page.wait_for("document.querySelectorAll('#zones .zone').length === 3 && "
                            "document.querySelector('#global-ids').textContent.trim() !== '–'",
                            "the configured zones and the counters from the first REST reply")
        # The page lists the names the server sends (/api/meta); it keeps no copy of its own.
        types = await page.evaluate("[...document.querySelectorAll('#filter-type option')].map(o => o.value)")
        assert types == ["all", *EVENT_TYPES]
        rows = await page.evaluate("[...document.querySelectorAll('#latency-table tbody tr')].map(r => r.cells[1].id)")
        assert rows == [f"lat-{name}-p50" for name in (*STAGES, "capture_to_result", "capture_to_send")]
        await page.wait_for(
            "[...document.querySelectorAll('.camera')].every(c => Number(c.dataset.frames || 0) >= 30)",
            "video frames drawn on every camera")
        await page.wait_for("document.querySelector('#ws-state').textContent.trim() === 'live'", "the stats socket")
        await page.wait_for("document.querySelectorAll('#timeline .event').length >= 1", "an event in the timeline")
        await page.wait_for("document.querySelectorAll('#identities .gid-chip').length >= 3", "identities")
        gid = json.dumps(await click_an_identity(page))
        await page.wait_for(f"document.querySelector('#journey-gid .gid-chip').dataset.gid === {gid}",
                            "the journey of the clicked person")
        await page.wait_for("document.querySelectorAll('#journey .journey-event').length >= 1", "journey events")

        await page.wait_for("document.querySelector('#floor').dataset.calibrated === 'true'", "the floor map")
        await page.wait_for("Number(document.querySelector('#floor').dataset.people) >= 1", "people on the floor")
        await page.wait_for("[...document.querySelectorAll('#timeline .event')].some(r => r.dataset.type === "
                            "'zone_enter' && r.querySelector('.cam').textContent === 'floor')",
                            "a floor zone event (no camera) in the timeline")
        await page.click("#journey-close")  # a click on the selected person would deselect them
        await page.wait_for("document.querySelector('#journey').dataset.gid === undefined", "no one selected")
        picked = json.dumps(str(await click_a_person_on_the_floor(page)))
        await page.wait_for(f"document.querySelector('#floor').dataset.selected === {picked}",
                            "the person highlighted on the floor view")
        await page.wait_for(f"[...document.querySelectorAll('.gid-chip.selected')].every(c => c.dataset.gid === "
                            f"{picked})", "only that person's chips highlighted")
        await page.wait_for(f"document.querySelector('#journey-gid .gid-chip').dataset.gid === {picked}",
                            "the journey of the person clicked on the floor")
        await page.wait_for("document.querySelectorAll('#journey .journey-event').length >= 1",
                            "their journey events")
        await page.wait_for("document.querySelector('#capture-to-display').textContent.includes('ms')",
                            "the capture-to-display latency")
        await page.evaluate("window.scrollTo(0, 0)")
        await asyncio.sleep(1.0)  # a few more frames with the person highlighted
        shot = await page.send("Page.captureScreenshot", format="png")
    png = base64.b64decode(shot["data"])
    (tmp_path / "dashboard.png").write_bytes(png)
    if os.environ.get("MCTRT_SCREENSHOT"):
        Path(os.environ["MCTRT_SCREENSHOT"]).write_bytes(png)
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape[:2] == (HEIGHT, WIDTH) and image.std() > 10  # a real page, not a blank one


async def test_dashboard_catches_up_on_events_follows_a_correction_and_marks_stale_video(
        tmp_path, demo_config, free_port, wait_for_dashboard):
    config, port = looping(with_floor_zone_and_line(demo_config(tmp_path))), free_port()
    async with dashboard(config, tmp_path, port, wait_for_dashboard, before_page=SOCKET_SWITCH) as page:
        await page.wait_for(f"{TILES}.length === 2 && {TILES}.every(c => Number(c.dataset.frames) >= 10)",
                            "video frames drawn on every camera")
        await page.wait_for(f"{TILES}.every(c => c.dataset.stale === 'false')", "live tiles not marked stale")
        await page.wait_for(f"{TILES}.some(c => Number(c.dataset.boxes) > 0)", "boxes to click on a tile")
        await page.wait_for("document.querySelector('#ws-state').textContent.trim() === 'live'", "the stats socket")
        await page.wait_for("document.querySelectorAll('#identities .gid-chip').length >= 3", "identities")

        # An ID correction of the selected person: the selection and the journey follow the new ID. The
        # demo makes none on demand, so the page is handed one as the stats socket hands it events.
        retired = await click_an_identity(page, 0)
        await page.wait_for(f"{JOURNEY_GID} === {json.dumps(retired)} && "
                            "document.querySelectorAll('#journey .journey-event').length >= 1", "the journey")
        kept, absorbed = await page.evaluate(
            "[...document.querySelectorAll('#identities .gid-chip')].slice(1, 3).map(c => Number(c.dataset.gid))")
        correct = ("import('/static/events.js').then(m => m.addEvents([{type: 'id_corrected', time: Date.now() / 1000,"
                   " global_id: %d, old_global_id: %d, reason: 'appearance'}]))")
        await page.evaluate(correct % (kept, int(retired)))
        await page.wait_for(f"{SELECTED} === '{kept}' && {JOURNEY_GID} === '{kept}'", "the new ID selected")
        await page.wait_for(f"[...document.querySelectorAll('.gid-chip.selected')].every(c => c.dataset.gid === "
                            f"'{kept}') && !!document.querySelector('#identities .gid-chip.selected')",
                            "only the new ID's chips highlighted")
        await page.wait_for("document.querySelectorAll('#journey .journey-event').length >= 1",
                            "the new ID's journey from the store")
        # The selected person absorbs another: their journey is fetched again (the old rows go).
        await page.evaluate("document.querySelectorAll('#journey .journey-event').forEach(r => r.dataset.old = '1')")
        await page.evaluate(correct % (kept, absorbed))
        await page.wait_for("document.querySelectorAll('#journey .journey-event').length >= 1 && "
                            "!document.querySelector('#journey .journey-event[data-old]')", "the journey reloaded")
        assert await page.evaluate(SELECTED) == str(kept)
        await page.click("#journey-close")
        await page.wait_for(f"{SELECTED} === undefined", "no one selected")

        # Events stored while the stats socket is down reach the timeline once it is back.
        await page.evaluate("cutSocket('/ws/stats')")
        await page.wait_for("document.querySelector('#ws-state').textContent.trim() !== 'live'", "the socket down")
        shown = max(await page.evaluate(TIMELINE_IDS))
        missed = await wait_for_stored_after(port, shown)
        assert not set(missed) & set(await page.evaluate(TIMELINE_IDS)), "events arrived with the socket down"
        await page.evaluate("restoreSocket('/ws/stats')")
        await page.wait_for("document.querySelector('#ws-state').textContent.trim() === 'live'", "the socket back")
        await page.wait_for(f"{json.dumps(missed)}.every(id => {TIMELINE_IDS}.includes(id))",
                            f"the events stored while the socket was down ({missed}) in the timeline")

        # Without video and positions nothing looks live: stale tiles with no boxes, no capture -> display,
        # nobody on the floor.
        await page.wait_for("Number(document.querySelector('#floor').dataset.people) >= 1", "people on the floor")
        for path in ("/ws/west", "/ws/east", "/ws/positions"):
            await page.evaluate(f"cutSocket('{path}')")
        await page.wait_for(f"{TILES}.every(c => c.dataset.stale === 'true' && c.dataset.boxes === '0')",
                            "stale tiles without boxes")
        await page.wait_for("document.querySelector('#floor').dataset.people === '0'", "nobody on the floor")
        await page.wait_for("document.querySelector('#capture-to-display').textContent.trim() === '–'",
                            "capture -> display emptied")
        for path in ("/ws/west", "/ws/east", "/ws/positions"):
            await page.evaluate(f"restoreSocket('{path}')")
        await page.wait_for(f"{TILES}.every(c => c.dataset.stale === 'false')", "the tiles live again")
        await page.wait_for("document.querySelector('#capture-to-display').textContent.includes('ms')",
                            "capture -> display again")
        await page.wait_for("Number(document.querySelector('#floor').dataset.people) >= 1", "people on the floor again")
