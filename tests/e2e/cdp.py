"""Headless Chromium driven over the DevTools protocol, for the mitmweb UI test.

The websocket client is tornado's, which mitmweb already depends on, so the test
needs nothing beyond the ``chromium`` package. Chromium runs with the flags a closed
network needs (no background networking, no proxy) and a fresh profile that is
deleted on close.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from .harness import LOCALHOST, wait_until

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-breakpad", "--disable-crash-reporter",
    "--remote-debugging-port=0", "--window-size=1500,900",
)


def find_chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser:
    """One headless Chromium page: navigate, evaluate JavaScript, click, screenshot."""

    def __init__(self, executable: str, timeout: float = 30.0, proxy: str | None = None) -> None:
        """``proxy`` (``host:port``) sends every page request through that HTTP proxy;
        without it the browser uses none."""
        self.executable = executable
        self.timeout = timeout
        self.proxy_flag = f"--proxy-server=http://{proxy}" if proxy else "--no-proxy-server"
        self._profile = Path(tempfile.mkdtemp(prefix="imnot-chromium-"))
        self._proc: subprocess.Popen[bytes] | None = None
        self._loop = asyncio.new_event_loop()
        self._ws: Any = None
        self._next_id = 0

    def start(self) -> Self:
        from tornado.websocket import websocket_connect

        log = (self._profile / "chromium.log").open("wb")
        with log:
            self._proc = subprocess.Popen(
                [self.executable, *FLAGS, self.proxy_flag, f"--user-data-dir={self._profile}",
                 "about:blank"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)  # its own process group: close() ends the helpers too
        port_file = self._profile / "DevToolsActivePort"

        def port() -> int | None:
            if self._proc is not None and self._proc.poll() is not None:
                raise AssertionError(f"chromium exited: {self.log_text()}")
            try:
                return int(port_file.read_text().split()[0])
            except (FileNotFoundError, IndexError, ValueError):
                return None

        devtools = wait_until(port, timeout=self.timeout, message="chromium did not start")
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

        def page_socket() -> str | None:
            with opener.open(f"http://{LOCALHOST}:{devtools}/json/list", timeout=5) as answer:
                pages = [t for t in json.load(answer) if t.get("type") == "page"]
            return pages[0]["webSocketDebuggerUrl"] if pages else None

        url = wait_until(page_socket, timeout=self.timeout, message="no chromium page")

        async def connect() -> Any:
            return await websocket_connect(url, max_message_size=64 * 1024 * 1024)

        self._ws = self._run(connect())
        return self

    def _run(self, coro: Any) -> Any:
        return self._loop.run_until_complete(asyncio.wait_for(coro, self.timeout))

    async def _call(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self._next_id += 1
        call_id = self._next_id
        await self._ws.write_message(json.dumps({"id": call_id, "method": method,
                                                 "params": params}))
        while True:
            raw = await self._ws.read_message()
            if raw is None:
                raise AssertionError(f"devtools connection closed: {self.log_text()}")
            message = json.loads(raw)
            if message.get("id") == call_id:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                return message.get("result", {})

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        return self._run(self._call(method, params))

    def navigate(self, url: str) -> None:
        self.call("Page.navigate", url=url)

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True,
                           awaitPromise=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 15.0, message: str = "") -> Any:
        """Poll a JavaScript expression until it is truthy; return its value."""
        return wait_until(lambda: self.evaluate(expression), timeout=timeout, interval=0.1,
                          message=message or f"never true in the page: {expression}")

    def click(self, x: float, y: float) -> None:
        """A real mouse click at page coordinates (press and release)."""
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left",
                      clickCount=1)

    def click_element(self, expression: str) -> None:
        """Click the centre of the element that ``expression`` evaluates to."""
        box = self.evaluate(f"(() => {{ const e = {expression}; e.scrollIntoView();"
                            " const r = e.getBoundingClientRect();"
                            " return [r.x + r.width / 2, r.y + r.height / 2]; })()")
        self.click(*box)

    def screenshot(self, path: Path) -> Path:
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def log_text(self) -> str:
        try:
            return (self._profile / "chromium.log").read_text(errors="replace")[-4000:]
        except FileNotFoundError:
            return ""

    def close(self) -> None:
        if self._ws is not None:
            ws, self._ws = self._ws, None

            async def close_socket() -> None:  # tornado wants the loop current
                ws.close()

            if not self._loop.is_closed():
                self._loop.run_until_complete(close_socket())
        if self._proc is not None:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self._proc.pid, sig)
                try:
                    self._proc.wait(timeout=10)
                    break
                except subprocess.TimeoutExpired:
                    continue
        if not self._loop.is_closed():
            self._loop.run_until_complete(asyncio.sleep(0))
            self._loop.close()
        for _ in range(50):  # late writes of exiting helper processes
            shutil.rmtree(self._profile, ignore_errors=True)
            if not self._profile.exists():
                break
            time.sleep(0.1)

    def __enter__(self) -> Self:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
