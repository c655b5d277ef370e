"""The dashboard in a real browser: Debian's Chromium, headless, driven over the DevTools protocol,
loads the page while `python -m mctrt.run` runs live on ../shared/data/pets09_split2; it waits for
video on every camera and for an event in the timeline, clicks a global ID, waits for that person's
journey, and saves a screenshot (MCTRT_SCREENSHOT=path keeps a copy, e.g. for the README)."""

import asyncio
import base64
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

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium: apt-get install chromium (.ci/run does)")]
WIDTH, HEIGHT = 1440, 1000


class DevTools:
    """The few DevTools protocol commands this test needs, over one page's WebSocket."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.next_id = 0

    async def send(self, method: str, **params) -> dict:
        self.next_id += 1
        await self.ws.send_json({"id": self.next_id, "method": method, "params": params})
        while True:
            message = await self.ws.receive_json(timeout=30)
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                return message["result"]

    async def evaluate(self, expression: str):
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def wait_for(self, expression: str, what: str, timeout: float = 90.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = await self.evaluate(expression)
            if value:
                return value
            await asyncio.sleep(0.25)
        raise AssertionError(f"timed out waiting for {what} ({expression})")

    async def click(self, selector: str) -> None:
        """A real mouse click at the middle of the element (not element.click())."""
        box = await self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)}); e.scrollIntoView({{block: 'center'}});"
            f" const r = e.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; }})()")
        for kind in ("mousePressed", "mouseReleased"):
            await self.send("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1], button="left", clickCount=1)


def start_browser(profile: Path) -> tuple[subprocess.Popen, int]:
    browser = subprocess.Popen(
        [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--remote-debugging-port=0", f"--user-data-dir={profile}", f"--window-size={WIDTH},{HEIGHT}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    port_file, deadline = profile / "DevToolsActivePort", time.monotonic() + 30
    while not port_file.exists() or not port_file.read_text().strip():
        if time.monotonic() > deadline or browser.poll() is not None:
            browser.kill()
            raise AssertionError("Chromium did not start its DevTools server")
        time.sleep(0.1)
    return browser, int(port_file.read_text().split()[0])


def page_socket_url(devtools_port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{devtools_port}/json/list", timeout=10) as response:
        pages = [t for t in json.load(response) if t["type"] == "page"]
    return pages[0]["webSocketDebuggerUrl"]


async def test_dashboard_shows_live_video_events_and_a_journey_in_chromium(tmp_path, demo_config, free_port,
                                                                           wait_for_dashboard):
    config = demo_config(tmp_path)
    port = free_port()
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
            await page.send("Page.navigate", url=f"http://127.0.0.1:{port}/")
            await page.wait_for("document.querySelectorAll('.camera').length === 2", "both camera tiles")
            await page.wait_for(
                "[...document.querySelectorAll('.camera')].every(c => Number(c.dataset.frames || 0) >= 30)",
                "video frames drawn on every camera")
            await page.wait_for("document.querySelector('#ws-state').textContent.trim() === 'live'", "the stats socket")
            await page.wait_for("document.querySelectorAll('#timeline .event').length >= 1", "an event in the timeline")
            await page.wait_for("document.querySelectorAll('#identities .gid-chip').length >= 3", "identities")
            gid = await page.evaluate("document.querySelector('#identities .gid-chip').dataset.gid")
            await page.click("#identities .gid-chip")
            await page.wait_for(f"document.querySelector('#journey').dataset.gid === {json.dumps(gid)}",
                                "the journey of the clicked person")
            await page.wait_for("document.querySelectorAll('#journey .journey-event').length >= 1", "journey events")
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
        run.send_signal(signal.SIGINT)
        stdout, stderr = run.communicate(timeout=60)
        assert run.returncode == 0, stderr[-3000:]
    finally:
        run.kill()
        if browser is not None:
            browser.kill()
            browser.wait(10)
