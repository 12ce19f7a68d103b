"""Faults and latency through real proxies, seen from the client side: ``imnot-proxy start``
(the lean engine) and ``mitmdump -s``, clients ``requests``, ``httpx``, ``http.client`` and
raw sockets, over HTTP and HTTPS.

Every test uses sessions of its own, so the counters of one never reach another. Waits are
conditions with deadlines; the only timing asserted is the one the fault is about.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests

from .conftest import Imnot, StartImnot
from .harness import CallbackReceiver, Launcher, UpstreamServer, wait_until

PARTNERS = Path(__file__).resolve().parent / "partners" / "faults"
HOST = "api.chaos.test"


@pytest.fixture(scope="module")
def lean(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Imnot]:
    work = tmp_path_factory.mktemp("lean")
    proc = Launcher.imnot_start(work, "--partners", PARTNERS, "--db", work / "imnot.db",
                                "--no-watch", confdir=work / "conf")
    imnot = Imnot(proc).start()
    yield imnot
    imnot.stop()
    assert not imnot.tracebacks(), imnot.log_text()


@pytest.fixture(scope="module")
def dump(start_imnot: StartImnot) -> Imnot:
    return start_imnot(PARTNERS, name="dump")


@pytest.fixture(params=["lean", "mitmdump"])
def proxy(request: pytest.FixtureRequest) -> Imnot:
    return request.getfixturevalue("lean" if request.param == "lean" else "dump")


@pytest.fixture
def session() -> str:
    return f"t-{uuid.uuid4().hex[:8]}"


def client(proxy: Imnot, session: str | None = None, timeout: float = 10) -> requests.Session:
    s = requests.Session()
    s.proxies = {"http": proxy.url, "https": proxy.url}
    s.verify = str(proxy.ca_cert)
    s.trust_env = False
    if session:
        s.headers["X-Imnot-Session"] = session
    s.request = _with_timeout(s.request, timeout)  # type: ignore[method-assign]
    return s


def _with_timeout(send: Callable[..., Any], timeout: float) -> Callable[..., Any]:
    def request(*args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", timeout)
        return send(*args, **kwargs)
    return request


def tls(proxy: Imnot) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(proxy.ca_cert))


def causes(exc: BaseException) -> list[BaseException]:
    """The exception and everything it wraps (causes, contexts and exception arguments)."""
    seen: list[BaseException] = []
    todo = [exc]
    while todo:
        e = todo.pop()
        if e in seen:
            continue
        seen.append(e)
        todo += [x for x in (e.__cause__, e.__context__, *e.args)
                 if isinstance(x, BaseException)]
    return seen


def add_fault(proxy: Imnot, **body: Any) -> dict:
    reply = proxy.admin("POST", "faults", {"partner": "chaos", **body})
    assert reply.status == 201, reply.text
    return reply.json()


# --- every kind, from the client side -------------------------------------------------------


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_status_first_n_with_retry_after(proxy, session, scheme):
    with client(proxy, session) as c:
        replies = [c.get(f"{scheme}://{HOST}/busy") for _ in range(3)]
    assert [r.status_code for r in replies] == [429, 429, 200]
    assert replies[0].headers["Retry-After"] == "7"
    assert replies[0].json() == {"detail": "Too Many Requests"}
    assert replies[2].json() == {"busy": False}


def test_reset_is_a_reset(proxy):
    with client(proxy) as c, pytest.raises(requests.ConnectionError) as caught:
        c.get(f"http://{HOST}/reset")
    assert any(isinstance(e, ConnectionResetError) for e in causes(caught.value))
    with httpx.Client(proxy=proxy.url, trust_env=False) as c, \
            pytest.raises(httpx.ReadError, match="Connection reset by peer"):
        c.get(f"http://{HOST}/reset")


def test_reset_over_tls_is_a_tcp_reset(proxy):
    """Python's ssl module reports a reset under TLS as an EOF; the socket below sees the
    RST itself."""
    assert raw_tls_exchange(proxy, "/reset")[1] == "reset"
    assert raw_tls_exchange(proxy, "/plain")[1] == "answered"


def test_empty_reply_closes_without_a_response(proxy):
    conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
    try:
        conn.request("GET", f"http://{HOST}/empty")
        with pytest.raises(http.client.RemoteDisconnected):
            conn.getresponse()
    finally:
        conn.close()
    with httpx.Client(proxy=proxy.url, trust_env=False, verify=tls(proxy)) as c, \
            pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
        c.get(f"https://{HOST}/empty")


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_truncated_body_is_an_incomplete_read(proxy, scheme):
    with client(proxy) as c, pytest.raises(requests.exceptions.ChunkedEncodingError,
                                           match=r"IncompleteRead\(10 bytes read, 42 more"):
        c.get(f"{scheme}://{HOST}/truncated")
    conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
    try:
        conn.request("GET", f"http://{HOST}/truncated")
        response = conn.getresponse()
        assert response.status == 200 and response.getheader("content-length") == "52"
        with pytest.raises(http.client.IncompleteRead) as caught:
            response.read()
        assert len(caught.value.partial) == 10
    finally:
        conn.close()
    with httpx.Client(proxy=proxy.url, trust_env=False, verify=tls(proxy)) as c, \
            pytest.raises(httpx.RemoteProtocolError, match=r"received 10 bytes, expected 52"):
        c.get(f"{scheme}://{HOST}/truncated")


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_malformed_chunk(proxy, scheme):
    with client(proxy) as c, pytest.raises(requests.exceptions.ChunkedEncodingError,
                                           match="InvalidChunkLength"):
        c.get(f"{scheme}://{HOST}/malformed")
    with httpx.Client(proxy=proxy.url, trust_env=False, verify=tls(proxy)) as c, \
            pytest.raises(httpx.RemoteProtocolError, match="illegal chunk header"):
        c.get(f"{scheme}://{HOST}/malformed")


def test_malformed_chunk_on_the_wire(proxy):
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as sock:
        sock.sendall(f"GET http://{HOST}/malformed HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode())
        data = read_until_closed(sock)
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head.lower()
    mock = b'{"malformed":"0123456789abcdefghijklmnopqrstuvwxyz"}'
    assert body == b"1a\r\n" + mock[:26] + b"\r\nzz-not-hex\r\nthis is not a chunk\r\n"


def test_hang_until_the_client_gives_up_or_the_bound(proxy):
    started = time.monotonic()
    with client(proxy, timeout=1) as c, pytest.raises(requests.exceptions.ReadTimeout):
        c.get(f"http://{HOST}/hang")
    assert time.monotonic() - started < 2.5
    started = time.monotonic()
    with client(proxy, timeout=20) as c, pytest.raises(requests.ConnectionError) as caught:
        c.get(f"http://{HOST}/hang")
    assert 2.9 <= time.monotonic() - started < 10  # max_seconds: 3, then closed
    assert any(isinstance(e, http.client.RemoteDisconnected) for e in causes(caught.value))


def test_slow_body_arrives_in_pieces(proxy):
    with httpx.Client(proxy=proxy.url, trust_env=False, timeout=10) as c:
        with c.stream("GET", f"http://{HOST}/dribble") as response:
            started = time.monotonic()
            arrivals = [(time.monotonic() - started, len(piece))
                        for piece in response.iter_raw()]
    body_size = int(response.headers["content-length"])
    assert sum(n for _, n in arrivals) == body_size == 40
    assert len(arrivals) >= 4  # 8 bytes every 150 ms: five pieces, a few may coalesce
    assert arrivals[-1][0] >= 0.45


# --- latency never blocks the proxy ---------------------------------------------------------


def test_fifty_delayed_requests_take_two_seconds_and_block_nothing(proxy):
    def slow(_: int) -> tuple[int, float]:
        started = time.monotonic()
        with client(proxy, timeout=30) as c:
            status = c.get(f"http://{HOST}/slow").status_code
        return status, time.monotonic() - started

    fast: list[float] = []
    with ThreadPoolExecutor(max_workers=50) as pool:
        started = time.monotonic()
        delayed = [pool.submit(slow, i) for i in range(50)]
        with client(proxy) as c:
            while time.monotonic() - started < 1.5:
                t = time.monotonic()
                assert c.get(f"http://{HOST}/plain").status_code == 200
                fast.append(time.monotonic() - t)
        results = [f.result() for f in delayed]
        total = time.monotonic() - started
    assert all(status == 200 for status, _ in results)
    assert min(seconds for _, seconds in results) >= 1.95
    assert total < 4.0, f"50 requests delayed by 2 s took {total:.2f} s"
    assert len(fast) >= 5 and sorted(fast)[len(fast) // 2] < 0.25, fast


# --- when: seeded probability, every Nth, the window after an id ---------------------------


def test_seeded_probability_is_the_same_in_every_session(proxy):
    sequences = []
    for _ in range(2):
        with client(proxy, f"p-{uuid.uuid4().hex[:8]}") as c:
            sequences.append([c.get(f"http://{HOST}/flaky").status_code for _ in range(12)])
    assert sequences[0] == sequences[1]
    assert {503, 200} == set(sequences[0])


def test_every_third_request(proxy, session):
    with client(proxy, session) as c:
        got = [c.get(f"http://{HOST}/third").status_code for _ in range(6)]
    assert got == [200, 200, 500, 200, 200, 500]


def test_status_answers_503_for_two_seconds_after_the_id(proxy, session):
    with client(proxy, session) as c:
        submitted = time.monotonic()
        location = c.post(f"http://{HOST}/reports").headers["Location"]
        assert c.get(f"http://{HOST}{location}/status").status_code == 503
        wait_until(lambda: c.get(f"http://{HOST}{location}/status").status_code == 200,
                   timeout=10, interval=0.1, message="the window never closed")
        assert time.monotonic() - submitted >= 1.9


# --- set at run time: scoped, listed, cleared, expired, kept across a restart --------------


def test_a_session_fault_leaves_a_concurrent_session_alone(proxy):
    faulted, other = f"f-{uuid.uuid4().hex[:8]}", f"o-{uuid.uuid4().hex[:8]}"
    fault = add_fault(proxy, kind="status", status=503, endpoint="GET /plain",
                      session=faulted)
    add_fault(proxy, kind="latency", ms=1000, datapoint="plain", session=faulted)

    def run(session: str) -> list[tuple[int, float]]:
        out = []
        with client(proxy, session) as c:
            for _ in range(3):
                t = time.monotonic()
                out.append((c.get(f"http://{HOST}/plain").status_code, time.monotonic() - t))
        return out

    with ThreadPoolExecutor(max_workers=2) as pool:
        mine, theirs = pool.submit(run, faulted), pool.submit(run, other)
        mine_r, theirs_r = mine.result(), theirs.result()
    assert [s for s, _ in mine_r] == [503] * 3 and min(t for _, t in mine_r) >= 0.95
    assert [s for s, _ in theirs_r] == [200] * 3 and max(t for _, t in theirs_r) < 0.9
    # the session as the proxy user name works the same
    reply = proxy.request("GET", f"http://{HOST}/other", user=faulted)
    assert reply.status == 200  # another endpoint
    listed = proxy.admin("GET", f"faults?session={faulted}").json()
    assert [f["kind"] for f in listed] == ["status", "latency"]
    assert proxy.admin("DELETE", f"faults?session={faulted}").json()["deleted"] == 2
    assert proxy.request("GET", f"http://{HOST}/plain", session=faulted).status == 200
    assert proxy.admin("DELETE", f"faults/{fault['id']}").status == 404


def test_a_fault_expires(proxy, session):
    add_fault(proxy, kind="status", status=502, datapoint="plain", session=session,
              expires_in=1)
    assert proxy.request("GET", f"http://{HOST}/plain", session=session).status == 502
    wait_until(lambda: proxy.request("GET", f"http://{HOST}/plain",
                                     session=session).status == 200,
               timeout=10, interval=0.1, message="the fault did not expire")
    assert proxy.admin("GET", f"faults?session={session}").json() == []


def test_faults_are_visible_in_the_journal_and_the_log(proxy, session):
    add_fault(proxy, kind="status", status=503, endpoint="GET /plain", session=session,
              when={"first": 3})
    for _ in range(2):
        proxy.request("GET", f"http://{HOST}/plain", session=session)
    entries = [e for e in proxy.admin("GET", "journal?limit=50").json()
               if e["session"] == session]
    assert [e["kind"] for e in entries] == ["fault", "fault"]
    note = entries[0]["note"]
    assert note.startswith(f"imnot fault 503 chaos/plain (session {session}, 2nd of 3, fault ")
    if proxy.proc.name == "imnot":  # mitmdump -q logs errors only
        wait_until(lambda: note in proxy.log_text(), message="the fault is not in the log")
    status = proxy.admin("GET", "status").json()
    assert any(f["session"] == session for f in status["faults"])


def test_runtime_faults_survive_a_restart(start_imnot: StartImnot, session):
    imnot = start_imnot(PARTNERS, name="restart")
    add_fault(imnot, kind="status", status=418, endpoint="GET /other", session=session,
              when={"first": 2})
    assert imnot.request("GET", f"http://{HOST}/other", session=session).status == 418
    imnot.restart()
    assert imnot.request("GET", f"http://{HOST}/other", session=session).status == 418
    assert imnot.request("GET", f"http://{HOST}/other", session=session).status == 200
    assert [f["session"] for f in imnot.admin("GET", "faults").json()] == [session]


# --- callbacks ------------------------------------------------------------------------------


def test_callbacks_duplicated_and_dropped(proxy, receivers):
    receiver: CallbackReceiver = receivers()
    # a callback delivers the payload of its session: each session gets one uploaded
    twice, never = (proxy.new_session("chaos", "export", {"exported": n}) for n in (1, 2))
    add_fault(proxy, kind="callback_duplicate", datapoint="export", session=twice)
    add_fault(proxy, kind="callback_drop", datapoint="export", session=never)
    ids = {}
    for session in (twice, never):
        reply = proxy.request("POST", f"http://{HOST}/exports", {"url": receiver.url + "/hook"},
                              session=session)
        assert reply.status == 202
        ids[session] = reply.json()["request_id"]
    got = receiver.wait_for_requests(2)
    assert {r.path for r in got} == {"/hook"}

    def log(session: str) -> list[dict]:
        return proxy.admin("GET", f"chaos/export/callback/{ids[session]}").json()["deliveries"]

    dropped = wait_until(lambda: log(never), message="the drop was not logged")
    assert dropped[0]["error"].startswith("dropped (imnot fault callback drop")
    assert [d["status"] for d in wait_until(lambda: len(log(twice)) == 2 and log(twice))] == [
        200, 200]
    assert len(receiver.requests) == 2


# --- passthrough: the real partner made to fail for one session ----------------------------


def test_passthrough_fault_for_one_session(start_imnot: StartImnot, tmp_path_factory,
                                           upstream: UpstreamServer, session):
    folder = tmp_path_factory.mktemp("sandbox")
    (folder / "sandbox.yaml").write_text(
        "partner: sandbox\nhosts: [localhost]\ndatapoints:\n"
        "  - {name: mocked, pattern: static, endpoints: [{method: GET, path: /mocked}]}\n")
    imnot = start_imnot(folder, name="passthrough", imnot_unmatched="passthrough")
    url = f"http://localhost:{upstream.port}/real"
    assert imnot.request("GET", url, session=session).status == 200
    add_fault(imnot, partner="sandbox", kind="status", status=503, session=session)
    add_fault(imnot, partner="sandbox", kind="latency", ms=500, session=session)
    before = len(upstream.requests)
    started = time.monotonic()
    assert imnot.request("GET", url, session=session).status == 503
    assert time.monotonic() - started >= 0.45
    assert len(upstream.requests) == before  # never reached the real partner
    assert imnot.request("GET", url, session="someone-else").status == 200
    assert len(upstream.requests) == before + 1


def test_bodies_sent_badly_need_no_upstream_in_upstream_mode(tmp_path, session):
    """``--upstream`` sends every request that leaves the proxy to another proxy; the fault
    server is reached directly all the same (the upstream proxy here does not exist)."""
    proc = Launcher.imnot_start(tmp_path, "--partners", PARTNERS, "--db", tmp_path / "imnot.db",
                                "--no-watch", "--upstream", "http://127.0.0.1:9",
                                confdir=tmp_path / "conf")
    with proc:
        imnot = Imnot(proc)
        with client(imnot, session) as c:
            assert c.get(f"http://{HOST}/plain").status_code == 200
        # a connection of its own: requests keeps one that failed open, and Python 3.12
        # logs a connection still open at shutdown as an error
        with client(imnot, session) as c, pytest.raises(
                requests.exceptions.ChunkedEncodingError, match=r"IncompleteRead\(10 bytes read"):
            c.get(f"http://{HOST}/truncated", headers={"Connection": "close"})
        with client(imnot, session) as c:
            assert c.get(f"http://{HOST}/dribble").json() == {
                "dribble": "0123456789abcdefghijklmnop"}
    assert not imnot.tracebacks(), imnot.log_text()


# --- helpers --------------------------------------------------------------------------------


def read_until_closed(sock: socket.socket) -> bytes:
    data = b""
    while True:
        piece = sock.recv(65536)
        if not piece:
            return data
        data += piece


def raw_tls_exchange(proxy: Imnot, path: str) -> tuple[bytes, str]:
    """One HTTPS request through the proxy with TLS done in memory, so that the TCP socket's
    own end is visible: ``reset`` (ECONNRESET), ``closed`` (FIN) or ``answered``."""
    context = ssl.create_default_context(cafile=str(proxy.ca_cert))
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as sock:
        sock.sendall(f"CONNECT {HOST}:443 HTTP/1.1\r\nHost: {HOST}:443\r\n\r\n".encode())
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = context.wrap_bio(incoming, outgoing, server_hostname=HOST)
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                sock.sendall(outgoing.read())
                incoming.write(sock.recv(65536))
        sock.sendall(outgoing.read())
        tls.write(f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode())
        sock.sendall(outgoing.read())
        plain = b""
        try:
            while True:
                data = sock.recv(65536)
                if not data:
                    return plain, "answered" if plain.startswith(b"HTTP/1.1") else "closed"
                incoming.write(data)
                try:
                    while True:
                        plain += tls.read(65536)
                except (ssl.SSLWantReadError, ssl.SSLZeroReturnError):
                    pass
        except ConnectionResetError:
            return plain, "reset"

