"""The admin web page in headless Chromium, against a real proxy: sign in, upload a payload
and see it served through the proxy and in the journal, build and register a partner and
call it, run a flow in a session and delete the session, set a session fault and see it
applied through the proxy, errors shown in place, markup in partner files, payloads and
requests shown as text, and the page through the virtual host.

Screenshots go to ``test-artifacts/admin-ui-*.png``: they are what a user sees.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .admin_page import ARTIFACTS, AUTH, CHROMIUM, KEY, Page, api, watched_browser
from .cdp import Browser
from .conftest import REPO_PARTNERS, Imnot, StartImnot

pytestmark = pytest.mark.skipif(CHROMIUM is None,
                                reason="chromium is not installed (apt-get install chromium)")
HOSTILE = '<script>window.__pwned=1</script>"><img src=x onerror="window.__pwned=2">'


@pytest.fixture(scope="module")
def partners(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("ui-partners") / "partners"
    shutil.copytree(REPO_PARTNERS, copy)
    return copy


@pytest.fixture(scope="module")
def proxy(start_imnot: StartImnot, partners: Path) -> Imnot:
    return start_imnot(partners, name="ui", imnot_admin_key=KEY)


@pytest.fixture(scope="module")
def browser(proxy: Imnot) -> Iterator[Browser]:
    """Closed before the proxy stops: a proxy stopped under open browser connections logs
    mitmproxy's shutdown tracebacks."""
    with watched_browser() as opened:
        yield opened


@pytest.fixture
def page(browser: Browser, proxy: Imnot) -> Iterator[Page]:
    opened = Page(browser, proxy.url)
    yield opened
    opened.healthy()


def test_sign_in_with_a_wrong_key_then_the_right_one(page: Page, proxy: Imnot) -> None:
    page.open(sign_in=False)
    page.js("sessionStorage.clear()")
    page.open(sign_in=False)
    assert page.wait_text("#login-error", "needs its admin key")
    page.type("#login-key", "not-the-key")
    page.click("#login-form button[type=submit]")
    assert page.wait_text("#login-error", "Wrong key: the proxy answered 401")
    page.shot("sign-in-refused")
    page.type("#login-key", KEY)
    page.click("#login-form button[type=submit]")
    count = len(api(proxy, "GET", "/imnot/admin/partners"))
    page.wait(f"document.querySelectorAll('#partners-list details').length === {count}")
    assert "staylink" in page.text("#partners-list")
    assert "api.staylink.example" in page.text("#partners-list")
    assert "POST/staylink/reservations" in page.text("#partners-list").replace(" ", "")
    page.shot("partners")


def test_uploaded_payload_is_served_through_the_proxy_and_shows_in_the_journal(
        page: Page, proxy: Imnot) -> None:
    page.open("payloads/bookingco/charges")
    page.payloads_ready("charges")
    payload = {"propertyId": "P-UI", "charges": [{"id": "C1", "amount": 12.5}]}
    page.type("#pl-body", json.dumps(payload))
    assert page.wait_text("#pl-check", "Valid JSON")
    page.click("#pl-upload")
    assert page.wait_text("#pl-result", "Saved the global payload of bookingco/charges")

    served = proxy.request("GET", "http://api.bookingco.example/bookingco/v1/charges?propertyId=P42")
    assert (served.status, served.json()) == (200, payload)

    page.click(".tabs a[data-panel=journal]")
    page.choose("#j-partner", "bookingco")
    row = page.wait_text("#j-table tbody", "propertyId=P42")
    assert "bookingco/charges" in row and "200" in row and "mock" in row
    page.shot("journal")

    page.click(".tabs a[data-panel=payloads]")
    page.type("#pl-body", "")
    page.click("#pl-load")
    page.wait("document.getElementById('pl-body').value.includes('P-UI')")
    assert json.loads(page.js("document.getElementById('pl-body').value")) == payload


def test_an_xml_payload_under_a_name_keeps_its_type(page: Page, proxy: Imnot) -> None:
    page.open("payloads/bookingco/charges")
    page.wait("!document.getElementById('pl-name-field').hidden")
    page.choose("#pl-type", "application/xml")
    page.type("#pl-body", "<charges><charge id='1'>")
    assert page.wait_text("#pl-check", "Not well-formed XML yet")
    xml = "<charges><charge id='1'>12.50</charge></charges>"
    page.type("#pl-body", xml)
    assert page.wait_text("#pl-check", "Well-formed XML")
    page.type("#pl-name", "peak")
    page.click("#pl-upload")
    assert page.wait_text("#pl-result", 'Saved the global payload "peak" of bookingco/charges')
    assert page.wait_text("#pl-stored", "peak · application/xml")
    stored = api(proxy, "GET", "/imnot/admin/bookingco/charges/payload?name=peak")
    assert (stored["payload"], stored["content_type"]) == (xml, "application/xml")

    page.open("payloads/bookingco/charges")
    page.wait("document.querySelector('#pl-stored button') !== null")
    page.click("#pl-stored button[title^='application/xml']")
    page.wait(f"document.getElementById('pl-body').value === {json.dumps(xml)}")
    assert page.js("document.getElementById('pl-type').value") == "application/xml"
    page.shot("payload-xml")


def test_bad_payload_and_bad_partner_file_get_the_server_errors_in_place(
        page: Page, proxy: Imnot) -> None:
    page.open("payloads/bookingco/charges")
    page.payloads_ready("charges")
    page.type("#pl-body", '{"broken": ')
    assert page.wait_text("#pl-check", "Not valid JSON yet")
    page.click("#pl-upload")
    curl = proxy.direct("POST", "/imnot/admin/bookingco/charges/payload", '{"broken": ',
                        headers=AUTH)
    assert page.wait_text("#pl-error", f"{curl.status}: {curl.json()['detail']}")
    page.shot("payload-refused")

    page.click(".tabs a[data-panel=builder]")
    page.type("#b-partner", "broken")
    bad = page.js("document.getElementById('b-yaml').value").replace("status: 200",
                                                                     "status: 9999")
    page.type("#b-yaml", bad)
    page.click("#b-validate")
    problem = page.wait_text("#b-problems", "status")
    line = next(n for n, text in enumerate(bad.splitlines(), 1) if "status: 9999" in text)
    assert f"line {line}" in problem
    assert page.js("Array.from(document.querySelectorAll('#b-gutter .bad'))"
                   ".map(e => e.textContent)") == [str(line)]
    curl = proxy.direct("POST", "/imnot/admin/partners?dry_run=true", bad, headers=AUTH)
    assert curl.status == 422
    assert curl.json()["detail"][0].split(": ", 1)[1] in problem  # the loader's own words
    assert page.js("document.getElementById('b-rebuild').hidden") is False
    page.shot("builder-problem")


def test_partner_builder_registers_a_partner_that_answers_through_the_proxy(
        page: Page, proxy: Imnot) -> None:
    page.open("builder")
    page.type("#b-partner", "uibuilt")
    page.type("#b-description", "Built in the browser")
    page.type("#b-hosts", "api.uibuilt.test")
    page.type("#b-dp0-name", "greeting")
    page.type("#b-dp0-ep0-path", "/greet/{name}")
    page.type("#b-dp0-ep0-body", '{"hello": "builder"}')
    page.type("#b-dp0-ep0-headers", "X-Built: yes")
    yaml_text = page.wait("(() => { const v = document.getElementById('b-yaml').value;"
                          " return v.includes('api.uibuilt.test') && v.includes('X-Built')"
                          " ? v : null; })()")
    assert "path: /greet/{name}" in yaml_text
    page.click("#b-validate")
    assert page.wait_text("#b-check", "Valid: the proxy's loader accepts uibuilt")
    page.click("#b-register")
    assert page.wait_text("#b-result", "Registered uibuilt")
    page.shot("builder-registered")

    answer = proxy.request("GET", "http://api.uibuilt.test/greet/ada")
    assert (answer.status, answer.json(), answer.headers["X-Built"]) == (
        200, {"hello": "builder"}, "yes")
    page.click(".tabs a[data-panel=partners]")
    assert page.wait_text("#partners-list", "Built in the browser")


def test_a_flow_in_a_new_session_then_delete_the_session(page: Page, proxy: Imnot) -> None:
    page.open("payloads/staylink/reservation")
    page.payloads_ready("reservation")
    page.click("input[name=pl-scope][value=session]")
    page.wait("document.querySelector('input[name=pl-scope][value=session]').checked")
    page.type("#pl-body", '{"reservationId": "RES-UI"}')
    page.click("#pl-upload")
    sid = page.wait("document.getElementById('pl-new-session')?.textContent")
    snippet = page.text("#pl-result pre")
    assert f"-x http://{sid}@127.0.0.1:{proxy.port}" in snippet
    page.shot("session-created")

    # The snippet's way: the session as the proxy user name.
    submit = proxy.request("POST", "http://api.staylink.example/staylink/reservations", user=sid)
    result = proxy.request("GET", f"http://api.staylink.example{submit.headers['Location']}",
                           user=sid)
    assert result.json() == {"reservationId": "RES-UI"}

    page.open(f"tester/staylink/reservation/{sid}")
    page.wait("document.querySelectorAll('#t-steps li').length === 3")
    assert page.js("document.getElementById('t-session').value") == sid
    page.click("#t-run-all")
    page.wait("document.querySelectorAll('#t-steps .answer').length === 3", timeout=20)
    issued = page.js("document.querySelector('#t-steps li:nth-child(1) .captured mark')"
                     ".textContent").removeprefix("id = ")
    second = page.text("#t-steps li:nth-child(2) .sends")
    assert second.endswith(f"HEAD /staylink/reservations/{issued}")
    assert page.text("#t-steps li:nth-child(2) .sends mark") == issued
    assert page.text("#t-steps li:nth-child(2) .status") == "201"
    assert json.loads(page.text("#t-steps li:nth-child(3) pre.body")) == {"reservationId": "RES-UI"}
    page.shot("tester")

    page.click(".tabs a[data-panel=sessions]")
    row = f"#sessions-table tr[data-session='{sid}']"
    page.wait(f"{page.q(row)} !== null")
    assert "staylink/reservation" in page.text(row)
    page.shot("sessions")
    page.click(f"{row} button.danger")
    page.wait(f"{page.q(row)} === null")
    assert page.wait_text("#sessions-info", f"Deleted session {sid}")
    assert sid not in [s["session_id"] for s in api(proxy, "GET", "/imnot/admin/sessions")]


def test_markup_in_partner_files_payloads_and_requests_stays_text(
        page: Page, proxy: Imnot) -> None:
    partner = {"partner": "hostile", "description": HOSTILE, "hosts": ["api.hostile.test"],
               "datapoints": [{"name": "items", "description": HOSTILE, "pattern": "fetch",
                               "endpoints": [{"method": "GET", "path": "/items"}]}]}
    api(proxy, "POST", "/imnot/admin/partners", json.dumps(partner))
    api(proxy, "POST", "/imnot/admin/hostile/items/payload", {"note": HOSTILE, HOSTILE: 1})
    sid = api(proxy, "POST", "/imnot/admin/hostile/items/payload/session", {"x": HOSTILE})[
        "session_id"]
    proxy.request("GET", "http://api.hostile.test/items?q=%22%3E%3Cimg%20src%3Dx%20onerror%3D3%3E",
                  session="<b>session</b>")
    proxy.request("GET", "http://api.hostile.test/<img/src=x/onerror=window.__pwned=4>")

    page.open("partners")
    page.type("#partners-filter", "hostile")
    assert HOSTILE in page.wait_text("#partners-list", "hostile")
    page.open("payloads/hostile/items")
    page.payloads_ready("items")
    page.click("#pl-load")
    page.wait("document.getElementById('pl-body').value"
              f".includes({json.dumps(json.dumps(HOSTILE))})")
    page.open("journal")
    page.choose("#j-kind", "miss")  # a miss names no partner, only the closest routes
    rows = "Array.from(document.querySelectorAll('#j-table tbody tr'))"
    page.wait(f"{rows}.length > 0 && {rows}.every(r => r.dataset.kind === 'miss')")
    assert "onerror=window.__pwned=4" in page.text("#j-table tbody")
    page.choose("#j-kind", "")
    assert "<b>session</b>" in page.wait_text("#j-table tbody", "<b>session</b>")
    page.open(f"tester/hostile/items/{sid}")
    page.click("#t-run-all")
    assert json.dumps(HOSTILE) in page.wait_text("#t-steps .answer", "__pwned")
    page.shot("hostile-text")
    assert page.js("document.querySelectorAll('[onerror], img[src=x], main script').length") == 0
    page.healthy()


def test_reload_reports_a_broken_file_in_place_and_a_partner_can_be_deleted(
        page: Page, proxy: Imnot, partners: Path) -> None:
    broken = partners / "broken" / "partner.yaml"
    broken.parent.mkdir()
    broken.write_text("partner: broken\ndatapoints:\n  - name: x\n    pattern: nope\n")
    page.open("partners")
    page.click("#reload")
    report = page.wait_text("#reload-report", "Reload: partial")
    assert "broken/partner.yaml:4" in report and "pattern" in report
    page.shot("reload-partial")
    broken.unlink()
    page.click("#reload")
    assert page.wait_text("#reload-report", "Reload: ok")

    api(proxy, "POST", "/imnot/admin/partners?force=true",
        "partner: doomed\ndatapoints:\n  - {name: x, pattern: static, endpoints: [{method: GET, path: /doomed}]}\n")
    page.open("partners")
    card = "#partners-list details[data-partner=doomed]"
    page.wait(f"{page.q(card)} !== null")
    page.click(f"{card} summary")
    page.click(f"{card} button.danger")
    assert page.wait_text(f"{card} button.danger", "Really delete doomed?")
    page.click(f"{card} button.danger")
    assert page.wait_text("#reload-report", "Deleted doomed")
    page.wait(f"{page.q(card)} === null")
    assert proxy.direct("GET", "/doomed").status == 404


RESERVATION = "http://api.bookingco.example/bookingco/v1/reservation"
OUTAGE = {"X-Scenario": "outage"}


def test_a_session_fault_set_in_the_page_is_applied_through_the_proxy(
        page: Page, proxy: Imnot) -> None:
    page.open("faults")
    page.wait("!document.getElementById('f-body').hidden"
              " && document.getElementById('f-partner').options.length >= 2")
    page.choose("#f-kind", "status")
    page.choose("#f-partner", "bookingco")
    page.choose("#f-datapoint", "reservation")
    page.wait("Array.from(document.getElementById('f-endpoint').options)"
              ".some(o => o.value === 'GET /bookingco/v1/reservation')")
    page.type("#f-session", "ui-fault-s1")
    page.type("#f-status", "503")
    page.type("#f-when", '{"frist": 2}')
    page.click("#f-form button[type=submit]")
    assert page.wait_text("#f-error", "when.frist: unknown key 'frist' (did you mean 'first'?)")
    page.type("#f-when", json.dumps({"header": OUTAGE, "first": 2}))
    page.click("#f-form button[type=submit]")
    assert page.wait_text("#f-info", "1 fault(s) in force")
    row = page.text("#f-table tbody")
    assert "bookingco/reservation" in row and "ui-fault-s1" in row and "X-Scenario" in row
    page.shot("faults")

    def status(session: str | None, headers: dict | None = None) -> int:
        return proxy.request("GET", RESERVATION, session=session, headers=headers).status

    assert status("ui-fault-s1", OUTAGE) == 503
    assert status("ui-fault-s1") == 200  # the condition does not hold: not counted either
    assert status("someone-else", OUTAGE) == 200
    assert status(None, OUTAGE) == 200
    assert proxy.request("GET", RESERVATION, user="ui-fault-s1", headers=OUTAGE).status == 503
    assert status("ui-fault-s1", OUTAGE) == 200  # first: 2 is over

    page.click("#f-table tbody button.danger")
    assert page.wait_text("#f-info", "No faults")
    assert api(proxy, "GET", "/imnot/admin/faults") == []


# A proxy from before faults: the same page gets a 404 from the faults route.
OLD_PROXY = """
const realFetch = window.fetch;
window.fetch = (input, init) => String(input).includes("/imnot/admin/faults")
  ? Promise.resolve(new Response(JSON.stringify({detail: "Not Found"}),
      {status: 404, headers: {"Content-Type": "application/json"}}))
  : realFetch(input, init);
"""


def test_faults_say_they_are_not_available_on_a_proxy_without_them(
        page: Page, browser: Browser) -> None:
    added = browser.call("Page.addScriptToEvaluateOnNewDocument", source=OLD_PROXY)
    try:
        page.open("faults")
        page.wait("!document.getElementById('f-unavailable').hidden")
        assert "not available" in page.text("#f-unavailable")
        assert page.js("document.getElementById('f-body').hidden") is True
    finally:
        browser.call("Page.removeScriptToEvaluateOnNewDocument", identifier=added["identifier"])


def test_the_page_through_the_virtual_host(proxy: Imnot) -> None:
    with watched_browser(proxy=f"127.0.0.1:{proxy.port}") as browser:
        page = Page(browser, "http://imnot.proxy")
        browser.navigate("http://imnot.proxy/")
        page.wait("location.pathname === '/imnot/admin/ui' && document.readyState === 'complete'")
        page.open()
        page.wait("document.querySelectorAll('#partners-list details').length >= 2")
        assert "imnot_proxy" in page.text("#status-line")
        page.shot("virtual-host")
        page.healthy()


def many_partners(root: Path, count: int) -> Path:
    """``count`` partners of three datapoints each, on hosts gen<i>.test."""
    for i in range(count):
        folder = root / f"gen{i:03}"
        folder.mkdir(parents=True)
        (folder / "partner.yaml").write_text(f"""\
partner: gen{i:03}
description: Generated partner number {i}
hosts: [gen{i:03}.test]
datapoints:
  - {{name: items, pattern: fetch, endpoints: [{{method: GET, path: /gen{i:03}/items}}]}}
  - name: jobs
    pattern: polling
    endpoints:
      - {{step: 1, method: POST, path: /gen{i:03}/jobs, response: {{generates_id: true, id_body_field: id}}}}
      - {{step: 2, method: GET, path: "/gen{i:03}/jobs/{{id}}", response: {{returns_payload: true}}}}
  - {{name: ping, pattern: static, endpoints: [{{method: GET, path: /gen{i:03}/ping}}]}}
""")
    return root


def test_usable_with_100_partners_and_10000_sessions(
        start_imnot: StartImnot, tmp_path_factory: pytest.TempPathFactory,
        browser: Browser) -> None:
    from imnot_proxy.store import SqliteStore

    work = tmp_path_factory.mktemp("ui-scale")
    store = SqliteStore(work / "imnot.db")
    for i in range(10_000):
        store.create_session(f"gen{i % 100:03}", "items", b'{"n": 1}', None)
    store.close()
    scale = start_imnot(many_partners(work / "partners", 100), name="ui-scale",
                        imnot_admin_key=KEY, imnot_db=str(work / "imnot.db"))
    page = Page(browser, scale.url)
    started = time.perf_counter()
    page.open("partners")
    page.wait_text("#partners-count", "100 partners.")
    opened_s = time.perf_counter() - started
    page.type("#partners-filter", "gen042 jobs")
    page.wait_text("#partners-count", "1 of 100 partners match.")
    assert "/gen042/jobs/{id}" in page.text("#partners-list")

    started = time.perf_counter()
    page.click(".tabs a[data-panel=sessions]")
    page.wait_text("#sessions-info", "Sessions 1–50 of 10000")
    first_s = time.perf_counter() - started
    started = time.perf_counter()
    page.click("#sessions-next")
    page.wait_text("#sessions-info", "Sessions 51–100 of 10000")
    next_s = time.perf_counter() - started
    assert page.js("document.querySelectorAll('#sessions-table tbody tr').length") == 50
    page.shot("scale-sessions")
    page.healthy()
    timings = {"page_with_100_partners_s": round(opened_s, 3),
               "first_sessions_page_s": round(first_s, 3), "next_sessions_page_s": round(next_s, 3)}
    (ARTIFACTS / "admin-ui-scale.json").write_text(json.dumps(timings, indent=1))
    assert opened_s < 10 and first_s < 5 and next_s < 5, timings
