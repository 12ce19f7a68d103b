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
# Each section, and when what it loads on showing is on screen.
SECTIONS = {
    "partners": "document.querySelectorAll('#partners-list details').length >= 3",
    "payloads": "document.getElementById('pl-stored').textContent !== ''",
    "sessions": "document.getElementById('sessions-info').textContent !== ''",
    "tester": "document.querySelectorAll('#t-steps li').length > 0",
    "builder": "document.getElementById('b-yaml').value !== ''",
    "journal": "document.getElementById('j-info').textContent !== ''",
    "faults": "document.getElementById('f-info').textContent !== ''",
}
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
        try:
            stop = self.browser.wait_for(f"(() => {{ const s = {FOCUSED};"
                                         f" return s && s.panel === {json.dumps(where)} ? s : null;"
                                         " })()", 5)
        except AssertionError:
            raise AssertionError(f"focus left {where}: {self.focused()}") from None
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


def sign_in(page: Keyboard) -> None:
    """A fresh tab with no key: the key field has focus; type the key and press Enter."""
    page.open(sign_in=False)
    page.js("sessionStorage.clear()")
    page.open(sign_in=False)
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
    for section, ready in SECTIONS.items():
        go_to(page, section)
        page.wait(ready)
        page.js("window.__stops = []")
        first = page.focused()
        assert first is not None and first["indicator"], first
        # Forward through the section and on, round to the top of the page: no trap.
        forward: list[dict[str, Any]] = [first]
        for _ in range(MAX_STOPS):
            stop = page.tab()
            if stop is not None and stop["what"] == "a Skip to the content":
                break
            if stop is not None:
                forward.append(stop)
        else:
            raise AssertionError(f"{section}: Tab never came back to the top: "
                                 f"{[s['what'] for s in forward[-20:]]}")
        inside = [s for s in forward if s["panel"] == f"panel-{section}"]
        assert len(inside) >= 2, f"{section}: nothing to Tab to: {forward}"
        assert all(s["panel"] == f"panel-{section}" for s in forward[:len(inside)]), forward
        # The skip link leads past the header and the navigation into the section.
        page.press("Enter")
        page.wait("document.activeElement === document.getElementById('main')", 5)
        assert page.js(f"document.getElementById('panel-{section}').hidden") is False
        assert page.tab()["what"] == inside[1]["what"]
        # And back with Shift+Tab, from the top round to the section's first control.
        page.tab_to(".skip", shift=True)
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


CHARGES = "http://api.bookingco.example/bookingco/v1/charges?propertyId=P42"


def test_upload_a_payload_by_keyboard_and_see_it_served(page: Keyboard, proxy: Imnot) -> None:
    sign_in(page)
    go_to(page, "payloads")
    page.tab_to("#pl-partner")
    page.choose_by_arrows("#pl-partner", "bookingco")
    page.tab_to("#pl-datapoint")
    page.choose_by_arrows("#pl-datapoint", "charges")
    page.payloads_ready("charges")
    page.tab_to("#pl-body")
    payload = {"propertyId": "P-KEYS", "charges": [{"id": "K1", "amount": 3}]}
    page.write(json.dumps(payload))
    assert page.wait_text("#pl-check", "Valid JSON")
    page.announced("#pl-check")
    page.tab_to("#pl-upload")
    page.press("Enter")
    assert page.wait_text("#pl-result", "Saved the global payload of bookingco/charges")
    page.announced("#pl-result")
    assert page.is_focused("#pl-upload")
    served = proxy.request("GET", CHARGES)
    assert (served.status, served.json()) == (200, payload)

    # Into two new sessions: the radio group by arrow key, the button by Space.
    page.tab_to("input[name=pl-scope]:checked", shift=True)
    page.press("ArrowRight")
    page.wait("document.querySelector('input[name=pl-scope][value=session]').checked")
    sids = []
    for _ in range(2):
        page.tab_to("#pl-upload")
        page.press("Space")
        sid = page.wait("(() => { const e = document.getElementById('pl-new-session');"
                        f" return e && !{json.dumps(sids)}.includes(e.textContent)"
                        " ? e.textContent : null; })()")
        page.announced("#pl-new-session")
        sids.append(sid)
        assert proxy.request("GET", CHARGES, session=sid).json() == payload

    # Delete the newer one from the sessions table: focus goes on to the row that took its
    # place; delete that one too: focus stays in the section.
    go_to(page, "sessions")
    newer, older = sids[1], sids[0]
    row = "#sessions-table tr[data-session='{}']"
    page.wait(f"{page.q(row.format(older))} !== null")
    page.tab_to(f"{row.format(newer)} button.danger")
    page.press("Enter")
    assert page.wait_text("#sessions-info", f"Deleted session {newer}")
    page.announced("#sessions-info")
    page.wait(f"{page.q(row.format(newer))} === null")
    page.focus_not_lost("panel-sessions")
    assert page.is_focused(f"{row.format(older)} button.danger")
    page.press("Enter")
    assert page.wait_text("#sessions-info", f"Deleted session {older}")
    page.focus_not_lost("panel-sessions")
    assert proxy.request("GET", CHARGES, session=older).status == 404  # no such session now


def test_actions_by_keyboard_keep_focus_where_the_user_is(page: Keyboard, proxy: Imnot) -> None:
    for name in ("doomed", "spared"):
        api_body = (f"partner: {name}\ndatapoints:\n  - {{name: kbx, pattern: static,"
                    f" endpoints: [{{method: GET, path: /{name}}}]}}\n")
        assert proxy.direct("POST", "/imnot/admin/partners?force=true", api_body,
                            headers={"Authorization": f"Bearer {KEY}"}).status < 300
    sign_in(page)
    # Partners: the filter's count is announced; reload keeps focus on its button; a delete
    # is armed by Enter, disarmed by Escape, done by Enter twice, and focus goes on to the
    # next card.
    page.tab_to("#partners-filter")
    page.write("kbx")
    assert page.wait_text("#partners-count", "2 of 5 partners match.")
    page.announced("#partners-count")
    page.tab_to("#reload")
    page.press("Enter")
    assert page.wait_text("#reload-report", "Reload: ok")
    page.announced("#reload-report")
    assert page.is_focused("#reload")
    delete = "#partners-list details[data-partner=doomed] button.danger"
    page.tab_to(delete)
    page.press("Enter")
    assert page.wait_text(delete, "Really delete doomed?")
    page.press("Escape")  # well before the five seconds after which it disarms itself
    page.wait(f"{page.q(delete)}.textContent === 'Delete doomed'", timeout=2)
    assert page.is_focused(delete)
    page.press("Enter")
    page.press("Enter")
    assert page.wait_text("#reload-report", "Deleted doomed")
    page.focus_not_lost("panel-partners")
    assert page.is_focused("#partners-list details[data-partner=spared] summary")
    assert proxy.direct("GET", "/doomed").status == 404

    # Flow tester: running a step keeps focus on its button; the answer is announced.
    go_to(page, "tester")
    page.tab_to("#t-partner")
    page.choose_by_arrows("#t-partner", "spared")
    page.tab_to("#t-steps li:first-child button")
    page.press("Enter")
    page.wait_text("#t-steps li:first-child .answer", "200")
    page.announced("#t-steps li:first-child .answer")
    assert page.is_focused("#t-steps li:first-child button")

    # Builder: a new endpoint or datapoint takes focus, removing one leaves it nearby, and
    # registering keeps it on the button.
    go_to(page, "builder")
    page.tab_to("#b-partner")
    page.write("keyed")
    page.tab_to("#b-dp0-add-ep")
    page.press("Enter")
    page.wait("document.activeElement === document.getElementById('b-dp0-ep1-method')")
    page.tab_to("#b-dp0-ep1-remove")
    page.press("Enter")
    page.wait("document.getElementById('b-dp0-ep1-method') === null")
    page.focus_not_lost("panel-builder")
    assert page.is_focused("#b-dp0-add-ep")
    page.tab_to("#b-add-dp")
    page.press("Space")
    page.wait("document.activeElement === document.getElementById('b-dp1-name')")
    page.tab_to("#b-dp1-remove")
    page.press("Enter")
    page.wait("document.getElementById('b-dp1-name') === null")
    assert page.is_focused("#b-add-dp")
    page.tab_to("#b-register")
    page.press("Enter")
    assert page.wait_text("#b-result", "Registered keyed")
    page.announced("#b-result")
    assert page.is_focused("#b-register")
    assert proxy.direct("GET", "/hello").status == 200

    # Journal: Space on Pause presses it.
    go_to(page, "journal")
    page.tab_to("#j-pause")
    page.press("Space")
    page.wait("document.getElementById('j-pause').getAttribute('aria-pressed') === 'true'")
    assert page.is_focused("#j-pause")

    # Faults: Enter in a field turns the fault on; turning it off leaves focus in the section.
    go_to(page, "faults")
    page.wait("!document.getElementById('f-body').hidden")
    page.tab_to("#f-partner")
    page.choose_by_arrows("#f-partner", "spared")
    page.tab_to("#f-session")
    page.write("kb-s1")
    page.tab_to("#f-status")
    page.write("503")
    page.press("Enter")
    assert page.wait_text("#f-info", "1 fault(s) in force")
    page.announced("#f-info")
    assert proxy.request("GET", "http://anyhost.test/spared", session="kb-s1").status == 503
    page.tab_to("#f-table tbody button.danger")
    page.press("Enter")
    assert page.wait_text("#f-info", "No faults")
    page.focus_not_lost("panel-faults")
