"""``imnot-proxy start --web``: mocked flows in mitmweb, through its HTTP API and, once,
in its real UI in headless Chromium.

The flow filter expressions of docs/staging.md are checked with mitmweb's own
server-side filter (``/flows/dump?filter=``) and, for the one typed into the UI, in the
browser. The screenshot stays in ``test-artifacts/`` for people to look at.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from mitmproxy import io as mitm_io

from .cdp import Browser, find_chromium
from .harness import LOCALHOST, Launcher, UpstreamServer, free_port, proxied_request, wait_until

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
WEB_TOKEN = "imnot-web-test-token"
COLUMNS = ("tls", "icon", "path", "method", "status", "size", "time", "comment")


def has_web_password() -> bool:
    """mitmweb asks for a token (``web_password``, the ``WebAuth`` addon) from 11.1.2 on."""
    from mitmproxy.tools.web import webaddons

    return hasattr(webaddons, "WebAuth")


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory,
        write_hello_partner: Callable[..., Path]) -> Iterator[tuple[Launcher, int, dict]]:
    work = tmp_path_factory.mktemp("web")
    write_hello_partner(work / "partners")
    web_port = free_port()
    extra: list[str] = []
    for column in COLUMNS:
        extra += ["--set", f"web_columns={column}"]
    if has_web_password():
        extra += ["--set", f"web_password={WEB_TOKEN}"]
    proxy = Launcher.imnot_start(work, "--partners", "partners", confdir=work / "conf",
                                 web_port=web_port, mitmproxy_args=extra)
    with proxy, UpstreamServer() as upstream:
        flows = {
            "mock": proxied_request(proxy.url, "GET", "http://api.acme.test/hello"),
            "miss": proxied_request(proxy.url, "GET", "http://api.acme.test/nope"),
            "other": proxied_request(proxy.url, "GET", f"{upstream.url}/elsewhere"),
        }
        assert [r.status for r in flows.values()] == [200, 404, 200]
        yield proxy, web_port, flows
        assert "Traceback" not in proxy.log_text(), proxy.log_text()


def web_get(web_port: int, path: str) -> bytes:
    request = urllib.request.Request(f"http://{LOCALHOST}:{web_port}{path}",
                                     headers={"Authorization": f"Bearer {WEB_TOKEN}"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=10) as answer:
        return answer.read()


def dump(web_port: int, expression: str) -> list[Any]:
    """Flows matching a filter expression, evaluated by mitmweb (mitmproxy's filter language)."""
    query = "?" + urllib.parse.urlencode({"filter": expression}) if expression else ""
    return list(mitm_io.FlowReader(BytesIO(web_get(web_port, f"/flows/dump{query}"))).stream())


def paths(flows: list[Any]) -> list[str]:
    return sorted(f"{f.request.pretty_host}{f.request.path}" for f in flows)


def test_flows_api_shows_the_comment_and_dump_keeps_the_metadata(
        web: tuple[Launcher, int, dict]) -> None:
    _, web_port, _ = web

    def mocked() -> dict | None:
        listed = json.loads(web_get(web_port, "/flows"))
        return next((f for f in listed if f["request"]["path"] == "/hello"), None)

    flow = wait_until(mocked, message="the mocked flow never reached mitmweb")
    assert flow["comment"] == "imnot mock acme/hello"
    assert flow["response"]["status_code"] == 200
    assert flow["is_replay"] == "response"  # mitmweb marks it as a replayed (mocked) response

    (full,) = [f for f in dump(web_port, "") if f.request.path == "/hello"]
    meta = full.metadata["imnot"]
    assert {k: meta[k] for k in ("kind", "partner", "datapoint", "pattern")} == {
        "kind": "mock", "partner": "acme", "datapoint": "hello", "pattern": "static"}


@pytest.mark.parametrize(("expression", "expected"), [
    ('~comment "imnot mock"', ["api.acme.test/hello"]),
    ('~comment "imnot miss"', ["api.acme.test/nope"]),
    ('~comment "^imnot"', ["api.acme.test/hello", "api.acme.test/nope"]),
    ("~meta \"'kind': 'mock'\"", ["api.acme.test/hello"]),
])
def test_documented_filter_expressions(web: tuple[Launcher, int, dict], expression: str,
                                       expected: list[str]) -> None:
    _, web_port, _ = web
    wait_until(lambda: len(dump(web_port, "")) >= 3, message="flows missing in mitmweb")
    assert paths(dump(web_port, expression)) == expected


def test_not_imnot_filter_leaves_only_other_traffic(web: tuple[Launcher, int, dict]) -> None:
    _, web_port, _ = web
    wait_until(lambda: len(dump(web_port, "")) >= 3, message="flows missing in mitmweb")
    others = dump(web_port, '!~comment "^imnot"')
    assert paths(others) == [f"{LOCALHOST}/elsewhere"]


CHROMIUM = find_chromium()
ROWS = "Array.from(document.querySelectorAll('.flow-table tbody tr.has-request'))"


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_mocked_flow_and_its_comment_in_the_mitmweb_ui(web: tuple[Launcher, int, dict]) -> None:
    _, web_port, _ = web
    assert CHROMIUM is not None
    with Browser(CHROMIUM) as browser:
        browser.navigate(f"http://{LOCALHOST}:{web_port}/?token={WEB_TOKEN}")
        browser.wait_for(f"{ROWS}.length >= 3", message="mitmweb listed no flows")

        browser.click_element("document.querySelector('input[placeholder=\"Search\"]')")
        browser.call("Input.insertText", text='~comment "imnot mock"')
        rows = browser.wait_for(
            f"(() => {{ const r = {ROWS}.map(t => t.innerText);"
            " return r.length === 1 ? r : null; })()",
            message="the filter did not leave exactly the mocked flow")
        assert "api.acme.test/hello" in rows[0]
        assert "imnot mock acme/hello" in browser.evaluate(
            f"{ROWS}[0].querySelector('td.col-comment').textContent")

        browser.click_element(f"{ROWS}[0]")
        browser.wait_for("document.querySelector('.flow-detail') !== null",
                         message="clicking the row opened no detail pane")
        browser.click_element(
            "Array.from(document.querySelectorAll('.flow-detail nav a'))"
            ".find(a => a.textContent.trim() === 'Comment')")
        shown = browser.wait_for(
            "(() => { const s = document.querySelector('.flow-detail section');"
            " return s && s.innerText.includes('imnot mock') ? s.innerText : null; })()",
            message="the Comment tab did not show the imnot comment")
        assert "imnot mock acme/hello" in shown
        browser.click_element(  # back to the list's toolbar: the filter, the row, the comment
            "Array.from(document.querySelectorAll('header nav a'))"
            ".find(a => a.textContent.trim() === 'Flow List')")
        browser.wait_for("document.querySelector('input[placeholder=\"Search\"]')"
                         ".value.includes('imnot mock')")
        shot = browser.screenshot(ARTIFACTS / "mitmweb-imnot-mock.png")
    assert shot.stat().st_size > 10_000
