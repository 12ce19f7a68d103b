"""The admin web page with the keyboard alone, in headless Chromium at a 1366×768 laptop
viewport: only key events (Tab, Shift+Tab, Enter, Space, arrows, Escape, typed characters)
sent through the DevTools protocol, never a click or a script that sets a value.

Sign in, reach every section from the navigation, walk each section with Tab and back with
Shift+Tab, upload a payload and see it served through the proxy, and act on rows (delete a
session, a partner, a fault). Everywhere: the focused element is on screen and not covered,
has a visible focus indicator, Tab follows the visual order and comes back round to the top
(no trap), every control has an accessible name, results are announced (a live region), an
action never drops focus on the page body, and nothing needs horizontal scrolling.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .admin_page import CHROMIUM, KEY, Page, watched_browser
from .cdp import Browser
from .conftest import REPO_PARTNERS, Imnot, StartImnot

pytestmark = pytest.mark.skipif(CHROMIUM is None,
                                reason="chromium is not installed (apt-get install chromium)")
WIDTH, HEIGHT = 1366, 768
SECTIONS = ("partners", "payloads", "sessions", "tester", "builder", "journal", "faults")
MAX_STOPS = 400  # more Tab stops than any section has: a walk that goes on is a trap
# name -> (key, code, Windows virtual key code, text it types)
KEYS = {
    "Tab": ("Tab", "Tab", 9, None), "Enter": ("Enter", "Enter", 13, "\r"),
    "Space": (" ", "Space", 32, " "), "Escape": ("Escape", "Escape", 27, None),
    "ArrowUp": ("ArrowUp", "ArrowUp", 38, None), "ArrowDown": ("ArrowDown", "ArrowDown", 40, None),
    "ArrowLeft": ("ArrowLeft", "ArrowLeft", 37, None),
    "ArrowRight": ("ArrowRight", "ArrowRight", 39, None),
}
SHIFT = 8
# Roles a user operates; each one needs an accessible name.
INTERACTIVE = {"button", "link", "textbox", "searchbox", "combobox", "checkbox", "radio",
               "ListBox", "listbox", "spinbutton", "slider", "switch", "tab", "menuitem",
               "DisclosureTriangle", "disclosuretriangle"}

# The focused element as the user sees it: on screen, not covered, with a focus indicator.
FOCUSED = """(() => {
  const e = document.activeElement;
  if (!e || e === document.body || e === document.documentElement) return null;
  window.__stops = window.__stops || [];
  const r = e.getBoundingClientRect();
  const style = getComputedStyle(e);
  const cx = Math.min(Math.max(r.left + r.width / 2, 0), innerWidth - 1);
  const cy = Math.min(Math.max(r.top + r.height / 2, 0), innerHeight - 1);
  const top = document.elementFromPoint(cx, cy);
  const what = e.tagName.toLowerCase() + (e.id ? "#" + e.id : "")
    + (e.dataset.panel ? "[" + e.dataset.panel + "]" : "")
    + " " + (e.getAttribute("aria-label") || e.textContent || e.value || "").trim().slice(0, 40);
  return {
    what,
    index: window.__stops.push(e) - 1,
    panel: e.closest("section.panel")?.id || e.closest("nav, header")?.tagName.toLowerCase() || "",
    onScreen: r.width > 0 && r.height > 0 && r.bottom > 0 && r.right > 0
      && r.top < innerHeight && r.left < innerWidth && style.visibility !== "hidden",
    uncovered: top !== null && (e.contains(top) || top.contains(e) || top.closest("label") !== null
      && top.closest("label") === e.closest("label")),
    indicator: (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0)
      || style.boxShadow !== "none",
  };
})()"""

# Where each recorded stop is on the page (document coordinates), measured in one go.
RECTS = """((from, to) => { scrollTo(0, 0);
  return window.__stops.slice(from, to).map((e) => { const r = e.getBoundingClientRect();
    return {left: r.left + scrollX, right: r.right + scrollX, top: r.top + scrollY,
            bottom: r.bottom + scrollY}; }); })"""


class Keyboard(Page):
    """The admin page with the keyboard only."""

    def press(self, name: str, *, shift: bool = False) -> None:
        key, code, vk, text = KEYS[name]
        common: dict[str, Any] = {"key": key, "code": code, "windowsVirtualKeyCode": vk,
                                  "nativeVirtualKeyCode": vk, "modifiers": SHIFT if shift else 0}
        down = {"type": "keyDown", "text": text, "unmodifiedText": text} if text else {
            "type": "rawKeyDown"}
        self.browser.call("Input.dispatchKeyEvent", **common, **down)
        self.browser.call("Input.dispatchKeyEvent", type="keyUp", **common)

    def write(self, text: str) -> None:
        """Type ``text`` a key at a time into the focused field."""
        for char in text:
            key = {"\n": "Enter"}.get(char, char)
            typed = "\r" if char == "\n" else char
            self.browser.call("Input.dispatchKeyEvent", type="keyDown", key=key, text=typed,
                              unmodifiedText=typed)
            self.browser.call("Input.dispatchKeyEvent", type="keyUp", key=key)

    def focused(self) -> dict[str, Any] | None:
        return self.js(FOCUSED)

    def is_focused(self, selector: str) -> bool:
        return bool(self.js(f"document.activeElement === {self.q(selector)}"))

    def tab(self, *, shift: bool = False) -> dict[str, Any] | None:
        """One Tab (or Shift+Tab); the element it focused, checked as the user sees it."""
        self.press("Tab", shift=shift)
        stop = self.focused()
        if stop is not None:
            assert stop["onScreen"], f"focus is off screen: {stop}"
            assert stop["uncovered"], f"the focused element is covered: {stop}"
            assert stop["indicator"], f"no visible focus indicator: {stop}"
        return stop

    def tab_to(self, selector: str, *, shift: bool = False) -> list[dict[str, Any]]:
        """Tab until ``selector`` has focus; the stops on the way, each checked."""
        stops = []
        for _ in range(MAX_STOPS):
            if self.is_focused(selector):
                return stops
            stop = self.tab(shift=shift)
            if stop is not None:
                stops.append(stop)
        raise AssertionError(f"Tab never reached {selector}: {[s['what'] for s in stops[-40:]]}")

    def choose_by_arrows(self, selector: str, value: str) -> None:
        """Arrow keys on the focused <select> until it shows ``value``."""
        assert self.is_focused(selector)
        options = self.js(f"Array.from({self.q(selector)}.options).map(o => o.value)")
        assert value in options, options
        at = options.index(self.js(f"{self.q(selector)}.value"))
        for _ in range(abs(options.index(value) - at)):
            self.press("ArrowDown" if options.index(value) > at else "ArrowUp")
        self.wait(f"{self.q(selector)}.value === {json.dumps(value)}")

    def focus_not_lost(self, where: str) -> dict[str, Any]:
        """After an action: focus is on a control of ``where`` (a section id), not the body."""
        stop = self.wait(f"(() => {{ const s = {FOCUSED};"
                         f" return s && s.panel === {json.dumps(where)} ? s : null; }})()", 5)
        assert stop["onScreen"] and stop["indicator"], stop
        return stop

    def announced(self, selector: str) -> None:
        """A result the page shows is inside a live region, so a screen reader says it."""
        assert self.js(f"{self.q(selector)}.closest('[aria-live], [role=alert], [role=status]')"
                       " !== null"), f"{selector} is not announced"

    def no_horizontal_scroll(self) -> None:
        widths = self.js("[document.documentElement.scrollWidth,"
                         " document.documentElement.clientWidth]")
        assert widths[0] <= widths[1], f"{location(self)}: {widths[0]}px wide in {widths[1]}px"

    def unnamed_controls(self) -> list[str]:
        """Controls on screen without an accessible name, from Chromium's accessibility tree."""
        nodes = self.browser.call("Accessibility.getFullAXTree")["nodes"]
        unnamed = []
        for node in nodes:
            role = (node.get("role") or {}).get("value")
            if node.get("ignored") or role not in INTERACTIVE:
                continue
            name = ((node.get("name") or {}).get("value") or "").strip()
            if not name:
                unnamed.append(f"{role} (backend node {node.get('backendDOMNodeId')})")
        return unnamed


def location(page: Page) -> str:
    return str(page.js("location.hash"))


def in_visual_order(rects: list[dict[str, float]], names: list[str]) -> None:
    """Each stop comes after the one before it as a page is read: further right on the same
    line, or on a later line, or at the top of the next column to the right."""
    assert len(rects) == len(names)
    for i in range(1, len(rects)):
        a, b, na, nb = rects[i - 1], rects[i], names[i - 1], names[i]
        same_line = b["top"] < a["bottom"] - 1 and a["top"] < b["bottom"] - 1
        if same_line:
            ok = b["left"] >= a["left"] - 1
        else:
            ok = b["top"] >= a["bottom"] - 1 or b["left"] >= a["right"] - 1
        assert ok, f"Tab goes back up or left: {na!r} {a} then {nb!r} {b}"


@pytest.fixture(scope="module")
def partners(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("keys-partners") / "partners"
    shutil.copytree(REPO_PARTNERS, copy)
    return copy


@pytest.fixture(scope="module")
def proxy(start_imnot: StartImnot, partners: Path) -> Imnot:
    return start_imnot(partners, name="ui-keys", imnot_admin_key=KEY)


@pytest.fixture(scope="module")
def browser(proxy: Imnot) -> Iterator[Browser]:
    with watched_browser() as opened:
        opened.call("Emulation.setDeviceMetricsOverride", width=WIDTH, height=HEIGHT,
                    deviceScaleFactor=1, mobile=False)
        opened.call("Accessibility.enable")
        yield opened


@pytest.fixture
def page(browser: Browser, proxy: Imnot) -> Iterator[Keyboard]:
    opened = Keyboard(browser, proxy.url)
    yield opened
    opened.healthy()


def sign_in(page: Keyboard, hash_: str = "") -> None:
    """A fresh tab with no key: the key field has focus; type the key and press Enter."""
    page.open(sign_in=False)
    page.js("sessionStorage.clear()")
    page.open(hash_, sign_in=False)
    page.wait("!document.getElementById('panel-login').hidden")
    page.tab_to("#login-key")
    page.write(KEY)
    page.press("Enter")
    page.wait("document.getElementById('panel-login').hidden")


def go_to(page: Keyboard, section: str) -> None:
    """From wherever focus is, Tab round to the section's link and press Enter: the section
    shows and its heading has focus, so the next Tab goes into it."""
    page.tab_to(f".tabs a[data-panel={section}]")
    page.press("Enter")
    page.wait(f"!document.getElementById('panel-{section}').hidden")
    page.wait(f"document.activeElement === document.getElementById('{section}-h')", 5)


def test_every_section_by_keyboard_alone(page: Keyboard) -> None:
    sign_in(page)
    page.wait("document.querySelectorAll('#partners-list details').length >= 3")
    for section in SECTIONS:
        go_to(page, section)
        if section == "faults":
            page.wait("!document.getElementById('f-body').hidden")
        page.js("window.__stops = []")
        first = page.focused()
        assert first is not None and first["indicator"], first
        # Forward through the section and on, round to the top of the page: no trap.
        forward: list[dict[str, Any]] = [first]
        for _ in range(MAX_STOPS):
            stop = page.tab()
            if stop is not None and stop["what"].startswith("a "):
                skip = page.js("document.activeElement.classList.contains('skip')")
                if skip:
                    break
            if stop is not None:
                forward.append(stop)
        else:
            raise AssertionError(f"{section}: Tab never came back to the top: "
                                 f"{[s['what'] for s in forward[-20:]]}")
        inside = [s for s in forward if s["panel"] == f"panel-{section}"]
        assert len(inside) >= 2, f"{section}: nothing to Tab to: {forward}"
        assert all(s["panel"] == f"panel-{section}" for s in forward[:len(inside)]), forward
        # And back with Shift+Tab, from the top round to the section's heading.
        back_inside: list[str] = []
        for _ in range(MAX_STOPS):
            stop = page.tab(shift=True)
            if stop is not None and stop["panel"] == f"panel-{section}":
                back_inside.append(stop["what"])
            elif back_inside:
                break
        assert back_inside == [s["what"] for s in reversed(inside[1:])], section  # not the heading
        names = [s["what"] for s in inside]
        rects = page.js(f"{RECTS}({inside[0]['index']}, {inside[-1]['index'] + 1})")
        in_visual_order(rects, names)
        assert page.unnamed_controls() == [], section
        page.no_horizontal_scroll()
