"""Screenshot pages of a running Odoo as a given user, at phone or desktop size.

Used to look at screens as their users see them (see README, "Looking at the screens")::

    .venv/bin/python tools/screenshot.py --login admin --size desktop \\
        /odoo/action-lastmile_delivery.lastmile_driver_action /tmp/drivers.png

It logs in over JSON-RPC, hands the session cookie to headless Chromium through the DevTools
protocol, loads the page, waits for the network to settle and saves a PNG.
"""

from __future__ import annotations

import argparse
import base64
import json
import shutil
import socket
import subprocess
import tempfile
import time
from urllib.parse import urlparse

import requests
import websocket

SIZES = {"phone": (390, 844, 3, True), "tablet": (820, 1180, 2, True), "desktop": (1440, 900, 1, False)}


def login(base_url: str, db: str, user: str, password: str) -> str:
    response = requests.post(
        f"{base_url}/web/session/authenticate",
        json={"jsonrpc": "2.0", "method": "call", "params": {"db": db, "login": user, "password": password}},
        timeout=30,
    )
    response.raise_for_status()
    if response.json().get("error"):
        raise SystemExit(f"login as {user} failed: {response.json()['error']['data']['message']}")
    tz = response.json()["result"].get("user_context", {}).get("tz") or "UTC"
    return response.cookies["session_id"], tz


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Chrome:
    def __init__(self):
        binary = shutil.which("chromium") or shutil.which("google-chrome")
        if not binary:
            raise SystemExit("chromium is not installed (apt-get install chromium)")
        self.port = free_port()
        self.profile = tempfile.mkdtemp(prefix="lastmile-shot-")
        self.proc = subprocess.Popen(
            [
                binary,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                f"--user-data-dir={self.profile}",
                f"--remote-debugging-port={self.port}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(100):
            try:
                pages = requests.get(f"http://127.0.0.1:{self.port}/json", timeout=1).json()
                target = next(p for p in pages if p["type"] == "page")
                break
            except (requests.RequestException, StopIteration, ValueError):
                time.sleep(0.1)
        else:
            raise SystemExit("chromium did not start")
        self.ws = websocket.create_connection(
            target["webSocketDebuggerUrl"], timeout=60, suppress_origin=True
        )
        self.counter = 0

    def call(self, method: str, **params):
        self.counter += 1
        self.ws.send(json.dumps({"id": self.counter, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.counter:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def wait_idle(self, seconds: float) -> None:
        """Wait until no request has been seen for ``seconds`` (max 30 s)."""
        deadline = time.time() + 30
        last = time.time()
        self.ws.settimeout(0.2)
        while time.time() < deadline and time.time() - last < seconds:
            try:
                message = json.loads(self.ws.recv())
                if message.get("method", "").startswith("Network."):
                    last = time.time()
            except websocket.WebSocketTimeoutException:
                continue
        self.ws.settimeout(60)

    def wait_selector(self, selector: str, timeout: float = 60) -> None:
        """Poll the page until ``selector`` matches (Odoo builds its assets on a first visit)."""
        deadline = time.time() + timeout
        expression = f"!!document.querySelector({json.dumps(selector)})"
        while time.time() < deadline:
            result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
            if result.get("result", {}).get("value"):
                return
            time.sleep(0.25)
        raise SystemExit(f"nothing matched {selector!r} within {timeout} s")

    def close(self):
        self.ws.close()
        self.proc.terminate()
        self.proc.wait(timeout=10)
        shutil.rmtree(self.profile, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("path", help="path of the page, e.g. /odoo or /my/deliveries")
    parser.add_argument("output", help="PNG file to write")
    parser.add_argument("--url", default="http://localhost:8069")
    parser.add_argument("--db", default="lastmile_demo")
    parser.add_argument("--login", help="log in as this user first (password defaults to the login)")
    parser.add_argument("--password")
    parser.add_argument("--size", choices=sorted(SIZES), default="desktop")
    parser.add_argument("--full-page", action="store_true")
    parser.add_argument(
        "--selector",
        default=".o_action_manager .o_view_controller, .o_home_menu, main, .o_portal_wrap",
        help="CSS selector to wait for before the shot",
    )
    parser.add_argument("--wait", type=float, default=1.5, help="seconds of network silence to wait for")
    parser.add_argument(
        "--click",
        action="append",
        default=[],
        metavar="SELECTOR",
        help="tap the first element matching SELECTOR before the shot (repeat to tap several in turn)",
    )
    parser.add_argument("--scale", type=float, help="device pixel ratio (default: that of the size)")
    args = parser.parse_args()

    chrome = Chrome()
    try:
        width, height, scale, mobile = SIZES[args.size]
        chrome.call("Network.enable")
        chrome.call(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=args.scale or scale,
            mobile=mobile,
        )
        if mobile:
            chrome.call("Emulation.setTouchEmulationEnabled", enabled=True)
        if args.login:
            session, tz = login(args.url, args.db, args.login, args.password or args.login)
            # the browser lives in the user's time zone, as the user's own browser would
            chrome.call("Emulation.setTimezoneOverride", timezoneId=tz)
            chrome.call(
                "Network.setCookie",
                name="session_id",
                value=session,
                domain=urlparse(args.url).hostname,
                path="/",
            )
        chrome.call("Page.enable")
        chrome.call("Page.navigate", url=args.url + args.path)
        chrome.wait_selector(args.selector)
        chrome.wait_idle(args.wait)
        for selector in args.click:
            chrome.wait_selector(selector)
            tap = f"document.querySelector({json.dumps(selector)}).click()"
            chrome.call("Runtime.evaluate", expression=tap)
            chrome.wait_idle(args.wait)
        params = {"format": "png"}
        if args.full_page:
            metrics = chrome.call("Page.getLayoutMetrics")
            size = metrics["cssContentSize"]
            params["clip"] = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
            params["captureBeyondViewport"] = True
        data = chrome.call("Page.captureScreenshot", **params)["data"]
        with open(args.output, "wb") as output:
            output.write(base64.b64decode(data))
        print(args.output)
    finally:
        chrome.close()


if __name__ == "__main__":
    main()
