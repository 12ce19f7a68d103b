"""The pytest plugin as its users run it: test files in a fresh project run by pytest in a
subprocess (``pytester``), with the proxy the plugin starts itself, under two xdist workers,
or attached to a running proxy (``--imnot-url``)."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from .conftest import REPO_PARTNERS
from .harness import Launcher, direct_request, free_port, port_accepts

pytest_plugins = ["pytester"]

# Each inner test writes what it saw here, for the outer test to compare across workers.
SEEN = """
import json, os
from pathlib import Path

def seen(imnot, imnot_server, **more):
    record = {"worker": os.environ.get("PYTEST_XDIST_WORKER", "main"), "url": imnot_server.url,
              "supervisor": imnot_server.supervisor, "proxy": imnot_server.proxy,
              "session": imnot.session, **more}
    with open(Path(__file__).parent / "seen.jsonl", "a") as out:
        out.write(json.dumps(record) + "\\n")
"""

CHARGES = "http://api.bookingco.example/bookingco/v1/charges?propertyId=P1"


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A fresh project with the example partners in ``partners/``."""
    shutil.copytree(REPO_PARTNERS, pytester.path / "partners")
    pytester.makepyfile(seen_helper=SEEN)
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    return pytester


def seen_records(project: pytest.Pytester) -> list[dict]:
    path = project.path / "seen.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def gone(pid: int | None) -> bool:
    if pid is None:
        return True
    try:
        status = Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0]
    except (FileNotFoundError, IndexError):
        return True
    return status == "Z"  # ended, not yet reaped by its new parent


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Launcher]:
    """An imnot proxy that is already running, for the runs that attach to it."""
    base = tmp_path_factory.mktemp("attached")
    proxy = Launcher.imnot_start(base, "--partners", str(REPO_PARTNERS), "--db",
                                 str(base / "imnot.db"), "--no-watch", confdir=base / "conf",
                                 mitmproxy_args=["--set", "imnot_journal_bodies=4096"])
    with proxy:
        yield proxy


def attach_args(proxy: Launcher) -> list[str]:
    return [f"--imnot-url={proxy.url}", f"--imnot-ca={proxy.ca_cert}"]


def test_the_plugin_starts_the_proxy_serves_each_test_a_session_and_stops_it(project):
    project.makepyfile(test_flows="""
        import re, time
        import pytest, requests
        from seen_helper import seen

        CHARGES = "CHARGES_URL"

        @pytest.mark.imnot(payloads={"bookingco/charges": {"charges": [1, 2]}})
        def test_marker_payload_through_the_session(imnot, imnot_server):
            seen(imnot, imnot_server)
            reply = requests.get(CHARGES, proxies={"http": imnot.proxy_url})
            assert reply.json() == {"charges": [1, 2]}
            imnot.assert_called("GET /bookingco/v1/charges", times=1)
            imnot.assert_called("bookingco/charges")
            imnot.assert_not_called("POST /bookingco/auth/token")

        def test_without_a_payload_the_session_has_none(imnot):
            reply = requests.get(CHARGES, proxies={"http": imnot.proxy_url})
            assert reply.status_code == 404

        def test_https_with_env_and_a_body_assertion(imnot):
            imnot.set_payload("staylink", "reservation", {"reservationId": "R-9"})
            with imnot.env():
                submit = requests.post("https://api.staylink.example/staylink/reservations",
                                       json={"guest": "Ada", "password": "hunter22"})
                location = submit.headers["Location"]
                result = requests.get("https://api.staylink.example" + location)
            assert result.json() == {"reservationId": "R-9"}
            calls = imnot.assert_called("POST /staylink/reservations", times=1,
                                        body={"guest": "Ada"})
            assert "hunter22" not in calls[0].body
            imnot.assert_called("POST /staylink/reservations", body=re.compile(r'"guest":\\s*"A'))
            imnot.assert_called("GET /staylink/reservations/{id}", times=1)
            with pytest.raises(AssertionError, match="with a body containing 'Bob'"):
                imnot.assert_called("POST /staylink/reservations", body="Bob")
            assert [c.kind for c in imnot.requests()] == ["mock", "mock"]

        def test_callbacks_of_the_session(imnot):
            from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
            import threading
            got = []
            class Hook(BaseHTTPRequestHandler):
                def do_POST(self):
                    got.append(self.rfile.read(int(self.headers["Content-Length"])))
                    self.send_response(204); self.end_headers()
                def log_message(self, *args): pass
            server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            try:
                imnot.set_payload("bookingco", "export", {"rows": 3})
                url = f"http://127.0.0.1:{server.server_address[1]}/hook"
                reply = requests.post("http://api.bookingco.example/bookingco/v1/exports",
                                      json={"callbackUrl": url}, proxies={"http": imnot.proxy_url})
                assert reply.status_code == 202
                deadline = time.monotonic() + 10
                while not (imnot.callbacks() and imnot.callbacks()[0]["deliveries"]):
                    assert time.monotonic() < deadline, "no callback delivered"
                    time.sleep(0.05)
                [callback] = imnot.callbacks()
                assert callback["url"] == url
                assert callback["deliveries"][0]["status"] == 204
                assert got == [b'{"rows":3}']
            finally:
                server.shutdown()
                server.server_close()
    """.replace("CHARGES_URL", CHARGES))
    result = project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)
    [record] = seen_records(project)
    host_port = record["url"].removeprefix("http://")
    assert not port_accepts(int(host_port.split(":")[1]))  # stopped with the run
    assert gone(record["supervisor"]) and gone(record["proxy"])


def test_two_xdist_workers_share_one_proxy_with_a_session_each(project):
    project.makepyfile(test_parallel="""
        import pytest, requests
        from seen_helper import seen

        @pytest.mark.parametrize("n", range(8))
        def test_isolated(imnot, imnot_server, n):
            imnot.set_payload("bookingco", "charges", {"n": n})
            reply = requests.get("CHARGES_URL", proxies={"http": imnot.proxy_url})
            seen(imnot, imnot_server, got=reply.json())
            assert reply.json() == {"n": n}
    """.replace("CHARGES_URL", CHARGES))
    result = project.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2")
    result.assert_outcomes(passed=8)
    records = seen_records(project)
    assert {r["worker"] for r in records} == {"gw0", "gw1"}
    assert len({(r["url"], r["supervisor"], r["proxy"]) for r in records}) == 1  # one proxy
    assert len({r["session"] for r in records}) == 8
    port = int(records[0]["url"].rsplit(":", 1)[1])
    assert not port_accepts(port)
    assert gone(records[0]["supervisor"]) and gone(records[0]["proxy"])


def test_a_failed_test_shows_its_session_requests(project, running):
    project.makepyfile(test_report="""
        import requests

        def test_fails(imnot):
            requests.post("http://api.bookingco.example/bookingco/v1/nope",
                          json={"password": "hunter22", "room": 12},
                          proxies={"http": imnot.proxy_url})
            assert False, "the integration broke"
    """)
    result = project.runpytest_subprocess("-p", "no:cacheprovider", *attach_args(running))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*- imnot requests (session test_fails-*) -*",
        "*1 partner request(s) in session test_fails-*",
        "*miss*POST http://api.bookingco.example/bookingco/v1/nope -> 404*closest:*",
        '*body: {"password":"REDACTED","room":12}*',
    ])
    section = result.stdout.str().split("imnot requests (session", 1)[1]
    assert "hunter22" not in section  # (the test's own source line above it shows it)


def test_strict_fails_a_test_whose_request_matched_no_route(project, running):
    project.makepyfile(test_strict="""
        import pytest, requests

        def hit(imnot, path):
            return requests.get("http://api.bookingco.example" + path,
                                proxies={"http": imnot.proxy_url})

        def test_only_mocked(imnot):
            hit(imnot, "/bookingco/v1/reservation")

        def test_a_miss(imnot):
            assert hit(imnot, "/bookingco/v1/typo").status_code == 404

        @pytest.mark.imnot(strict=False)
        def test_a_miss_allowed_here(imnot):
            hit(imnot, "/bookingco/v1/typo")
    """)
    result = project.runpytest_subprocess("-p", "no:cacheprovider", "--imnot-strict",
                                          *attach_args(running))
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines([
        "*imnot strict: 1 partner request(s) matched no route (--imnot-strict)",
        "*miss*GET http://api.bookingco.example/bookingco/v1/typo -> 404*",
        "FAILED test_strict.py::test_a_miss*",
    ])
    relaxed = project.runpytest_subprocess("-p", "no:cacheprovider", *attach_args(running))
    relaxed.assert_outcomes(passed=3)


def test_env_sets_the_proxy_variables_and_restores_them(project, running):
    project.makepyfile(test_env="""
        import os, pytest

        NAMES = ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy",
                 "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE")

        def test_context_manager(imnot, monkeypatch):
            monkeypatch.setenv("HTTPS_PROXY", "http://corporate:3128")
            monkeypatch.delenv("SSL_CERT_FILE", raising=False)
            with imnot.env():
                assert all(os.environ[n] == imnot.proxy_url for n in NAMES[:4])
                assert all(os.environ[n] == str(imnot.ca_bundle) for n in NAMES[4:])
                assert imnot.ca_bundle.read_bytes().endswith(imnot.ca_cert.read_bytes())
                assert imnot.session in os.environ["HTTPS_PROXY"]
            assert os.environ["HTTPS_PROXY"] == "http://corporate:3128"
            assert "SSL_CERT_FILE" not in os.environ

        @pytest.mark.imnot(env=True)
        def test_marker(imnot):
            assert os.environ["HTTPS_PROXY"] == imnot.proxy_url

        def test_after_the_marker():
            assert os.environ.get("HTTPS_PROXY") != "set by the marker"
            assert "imnot" not in os.environ.get("HTTPS_PROXY", "")
    """)
    result = project.runpytest_subprocess("-p", "no:cacheprovider", *attach_args(running))
    result.assert_outcomes(passed=3)


class FaultStub(BaseHTTPRequestHandler):
    """The admin routes a test's session uses, with the faults API; records each call."""

    calls: list[tuple[str, str, bytes]] = []

    def _answer(self, status: int, value: object) -> None:
        body = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.calls.append((self.command, self.path, body))
        if self.path == "/healthz":
            self._answer(200, {"status": "ok"})
        elif self.command == "POST" and self.path == "/imnot/admin/faults":
            self._answer(201, {"id": "f1", **json.loads(body)})
        elif self.command == "POST" and self.path == "/imnot/admin/sessions":
            self._answer(201, json.loads(body))
        else:
            self._answer(200, {"status": "ok"})

    do_GET = do_POST = do_DELETE = _handle

    def log_message(self, *args: object) -> None:
        pass


def test_named_and_xml_payloads_into_the_session(project, running):
    read = (REPO_PARTNERS / "channellink" / "requests" / "read-rq.xml").read_text()
    project.makepyfile(test_named=f"""
        import requests

        READ = {read!r}
        XML = '<OTA_ResRetrieveRS><Success/></OTA_ResRetrieveRS>'

        def test_xml_and_a_name(imnot, imnot_server):
            imnot.set_payload("channellink", "reservations", XML,
                              content_type="application/xml")
            imnot.set_payload("bookingco", "charges", {{"tier": "gold"}}, name="gold")
            reply = requests.post("http://api.channellink.example/pmsxchange/v2", data=READ,
                                  headers={{"Content-Type": "text/xml",
                                           "SOAPAction": "OTA_ReadRQ"}},
                                  proxies={{"http": imnot.proxy_url}})
            assert reply.status_code == 200, reply.text
            assert "<Success/>" in reply.text and "xml" in reply.headers["content-type"]
            named = requests.get(f"{{imnot_server.url}}/imnot/admin/bookingco/charges/payload/"
                                 f"session/{{imnot.session}}?name=gold")
            assert named.json()["payload"] == {{"tier": "gold"}}, named.text
    """)
    result = project.runpytest_subprocess("-p", "no:cacheprovider", *attach_args(running))
    result.assert_outcomes(passed=1)


def test_fault_is_posted_for_the_test_session_and_cleared_after_it(project):
    FaultStub.calls = []
    stub = ThreadingHTTPServer(("127.0.0.1", 0), FaultStub)
    threading.Thread(target=stub.serve_forever, daemon=True).start()
    try:
        project.makepyfile(test_fault="""
            def test_fault(imnot):
                fault = imnot.fault("status", "staylink", "reservation", status=503,
                                    endpoint="GET /staylink/reservations/{id}")
                assert fault["id"] == "f1"
        """)
        url = f"http://127.0.0.1:{stub.server_address[1]}"
        result = project.runpytest_subprocess("-p", "no:cacheprovider", f"--imnot-url={url}")
        result.assert_outcomes(passed=1)
    finally:
        stub.shutdown()
        stub.server_close()
    posted = [json.loads(b) for m, p, b in FaultStub.calls if p == "/imnot/admin/faults"]
    [session] = [json.loads(b)["session_id"] for m, p, b in FaultStub.calls
                 if (m, p) == ("POST", "/imnot/admin/sessions")]
    assert posted == [{"kind": "status", "partner": "staylink", "session": session,
                       "datapoint": "reservation", "status": 503,
                       "endpoint": "GET /staylink/reservations/{id}"}]
    teardown = [(m, p) for m, p, _ in FaultStub.calls if m == "DELETE"]
    assert teardown == [("DELETE", f"/imnot/admin/faults?session={session}"),
                        ("DELETE", f"/imnot/admin/sessions/{session}")]


def test_fault_against_the_real_proxy(project, running):
    """The fault helper against the real faults API: the test's session is faulted (with a
    request condition), other clients are not, and the fault is gone after the test."""
    project.makepyfile(test_real_fault="""
        import requests

        RESERVATIONS = "http://api.staylink.example/staylink/reservations"
        OUTAGE = {"X-Scenario": "outage"}

        def test_fault(imnot):
            imnot.set_payload("staylink", "reservation", {"r": 1})
            fault = imnot.fault("status", "staylink", "reservation", status=503,
                                when={"header": OUTAGE})
            assert fault["session"] == imnot.session
            mine = {"http": imnot.proxy_url}
            assert requests.post(RESERVATIONS, proxies=mine, headers=OUTAGE).status_code == 503
            assert requests.post(RESERVATIONS, proxies=mine).status_code == 202
            anyone = {"http": "PROXY"}
            assert requests.post(RESERVATIONS, proxies=anyone, headers=OUTAGE).status_code == 202
    """.replace("PROXY", running.url))
    result = project.runpytest_subprocess("-p", "no:cacheprovider", "-rs", *attach_args(running))
    result.assert_outcomes(passed=1)
    assert direct_request(running.url, "GET", "/imnot/admin/faults", None, {}).json() == []


def test_bad_setups_fail_with_a_clear_message(project, tmp_path):
    project.makepyfile(test_any="""
        def test_needs_it(imnot):
            pass

        def test_also(imnot):
            pass
    """)
    nobody = f"http://127.0.0.1:{free_port()}"
    result = project.runpytest_subprocess("-p", "no:cacheprovider", f"--imnot-url={nobody}")
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines([f"*imnot: no imnot-proxy answers at {nobody}/healthz*"])
    result = project.runpytest_subprocess("-p", "no:cacheprovider",
                                          f"--imnot-partners={tmp_path / 'nowhere'}")
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(["*imnot: no partner files at *nowhere: set --imnot-partners*"])


def test_a_run_without_the_fixtures_starts_nothing(project):
    project.makepyfile(test_plain="""
        import sys

        def test_plain():
            assert "imnot_proxy.testing.server" not in sys.modules
            assert "mitmproxy" not in sys.modules
    """)
    project.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_the_plugin_is_registered_and_documents_its_options(project):
    result = project.runpytest_subprocess("--help")
    result.stdout.fnmatch_lines(["*imnot_proxy partner mocks*", "*--imnot-url=IMNOT_URL*",
                                 "*--imnot-strict*"])
    markers = project.runpytest_subprocess("--markers")
    markers.stdout.fnmatch_lines(["*@pytest.mark.imnot(payloads=None, env=False, strict=None)*"])
