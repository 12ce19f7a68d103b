"""The admin web page in a headless Chromium tab, driven as a user would, for the browser
tests of the page (``test_admin_ui_e2e.py``, ``test_admin_ui_keyboard_e2e.py``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .cdp import Browser, find_chromium
from .conftest import Imnot

CHROMIUM = find_chromium()
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
KEY = "ui-test-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
# Watches the page from its first line: script errors, and any Content-Security-Policy
# violation (there is none unless something tried to run or load what it must not).
WATCH = """
window.__errors = []; window.__violations = []; window.__pwned = 0;
window.addEventListener("error", (e) => window.__errors.push(String(e.message)));
window.addEventListener("unhandledrejection", (e) => window.__errors.push(String(e.reason)));
document.addEventListener("securitypolicyviolation",
  (e) => window.__violations.push(e.violatedDirective + " " + e.blockedURI));
"""


class Page:
    """The admin page in one browser tab, driven as a user would: clicks and typing."""

    def __init__(self, browser: Browser, base: str):
        self.browser = browser
        self.base = base

    def open(self, hash_: str = "", *, sign_in: bool = True) -> Page:
        """Load the page afresh (a new document, not just another #section)."""
        self.browser.navigate("about:blank")
        self.wait("location.href === 'about:blank'")
        self.browser.navigate(f"{self.base}/imnot/admin/ui#{hash_}")
        self.wait("document.readyState === 'complete'"
                  " && document.querySelector('section.panel:not([hidden])') !== null")
        if sign_in and not self.js("document.getElementById('panel-login').hidden"):
            self.type("#login-key", KEY)
            self.click("#login-form button[type=submit]")
            self.wait("document.getElementById('panel-login').hidden")
        return self

    def js(self, expression: str) -> Any:
        return self.browser.evaluate(expression)

    def wait(self, expression: str, timeout: float = 15.0) -> Any:
        try:
            return self.browser.wait_for(expression, timeout=timeout)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\npage: {self.diagnosis()}") from None

    def diagnosis(self) -> Any:
        """What the page shows that explains a failed wait: its errors and where it is."""
        return self.js("({hash: location.hash, errors: window.__errors,"
                       " shown: Array.from(document.querySelectorAll('.error, [role=alert]'))"
                       ".map(e => e.id + ': ' + e.textContent).filter(t => !t.endsWith(': ')),"
                       " live: Array.from(document.querySelectorAll('[aria-live], .problems'))"
                       ".filter(e => e.offsetParent !== null && e.textContent.trim())"
                       ".map(e => e.id + ': ' + e.textContent.slice(0, 400)),"
                       " status: document.getElementById('status-line')?.textContent})")

    def q(self, selector: str) -> str:
        return f"document.querySelector({json.dumps(selector)})"

    def click(self, selector: str) -> None:
        """A real click on the element, once it is on screen (a section shown by a click on
        its tab appears a moment later)."""
        self.wait(f"(() => {{ const e = {self.q(selector)};"
                  " return e !== null && e.getClientRects().length > 0; })()")
        self.browser.click_element(self.q(selector))

    def type(self, selector: str, text: str) -> None:
        """Focus the field, select what is in it, and type over it."""
        self.click(selector)
        self.wait(f"document.activeElement === {self.q(selector)}")
        self.js(f"{self.q(selector)}.select()")
        if text:
            self.browser.call("Input.insertText", text=text)
        else:
            self.browser.call("Input.dispatchKeyEvent", type="keyDown", key="Delete",
                              code="Delete", windowsVirtualKeyCode=46)

    def choose(self, selector: str, value: str) -> None:
        self.js(f"(() => {{ const s = {self.q(selector)}; s.value = {json.dumps(value)};"
                " s.dispatchEvent(new Event('change', {bubbles: true})); })()")

    def payloads_ready(self, datapoint: str) -> None:
        """The payload section shows ``datapoint`` and what is stored for it."""
        self.wait(f"document.getElementById('pl-datapoint').value === {json.dumps(datapoint)}"
                  " && document.getElementById('pl-stored').textContent.includes("
                  f"{json.dumps('/' + datapoint)})")

    def text(self, selector: str) -> str:
        return self.js(f"{self.q(selector)}.textContent")

    def wait_text(self, selector: str, part: str, timeout: float = 15.0) -> str:
        return self.wait(f"(() => {{ const e = {self.q(selector)};"
                         f" return e && e.textContent.includes({json.dumps(part)})"
                         " ? e.textContent : null; })()", timeout)

    def shot(self, name: str) -> Path:
        self.js("window.scrollTo(0, 0)")
        path = self.browser.screenshot(ARTIFACTS / f"admin-ui-{name}.png")
        assert path.stat().st_size > 10_000
        return path

    def healthy(self) -> None:
        assert self.js("window.__errors") == []
        assert self.js("window.__violations") == []
        assert self.js("window.__pwned") == 0


@contextmanager
def watched_browser(proxy: str | None = None) -> Iterator[Browser]:
    """A Chromium tab whose pages are watched from their first line (``WATCH``)."""
    assert CHROMIUM is not None
    with Browser(CHROMIUM, proxy=proxy) as opened:
        opened.call("Page.enable")
        opened.call("Page.addScriptToEvaluateOnNewDocument", source=WATCH)
        yield opened


def api(proxy: Imnot, method: str, path: str, body: Any = None) -> Any:
    reply = proxy.direct(method, path, body, headers=AUTH)
    assert reply.status < 300, reply.text
    return reply.json()
