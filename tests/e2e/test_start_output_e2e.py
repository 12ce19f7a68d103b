"""What ``imnot-proxy start`` prints while it serves: the imnot lines by default, mitmproxy's
connection lines with ``-v`` (also with ``--workers``), what record mode records, that it
listens only once it does (on the port it really uses), and a store it cannot open as one
line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from redis_server import RedisServer

from .conftest import REPO_PARTNERS
from .harness import Launcher, direct_request, proxied_request, run, wait_until
from .launcher import IMNOT_CLI, free_port

RESERVATIONS = "http://api.staylink.example/staylink/reservations"


def serve_two_requests(tmp_path: Path, *args: str) -> str:
    proxy = Launcher.imnot_start(tmp_path, "--partners", str(REPO_PARTNERS), "--db",
                                 str(tmp_path / "imnot.db"), "--no-watch", *args,
                                 confdir=tmp_path / "conf")
    said = "workers on 127.0.0.1" if "--workers" in args else "listening on"
    with proxy:
        wait_until(lambda: said in proxy.log_text(), timeout=30, message=f"no {said!r} line")
        assert direct_request(proxy.url, "GET", "/healthz").status == 200
        assert proxied_request(proxy.url, "POST", RESERVATIONS).status == 202
        wait_until(lambda: "imnot mock staylink/reservation" in proxy.log_text(),
                   message="no imnot line for the mocked request")
    return proxy.log_text()


def test_the_default_log_has_the_imnot_lines_only(tmp_path):
    log = serve_two_requests(tmp_path)
    assert "imnot mock staylink/reservation step 1/3 -> 202" in log
    assert "client connect" not in log and "client disconnect" not in log
    assert "record mode" not in log


def test_v_adds_mitmproxy_connection_lines(tmp_path):
    log = serve_two_requests(tmp_path, "-v")
    assert "client connect" in log and "imnot mock staylink/reservation" in log


def test_record_mode_says_what_it_records_at_start(tmp_path):
    proxy = Launcher.imnot_start(tmp_path, "--partners", str(REPO_PARTNERS), "--db",
                                 str(tmp_path / "imnot.db"), "--no-watch", "--record",
                                 confdir=tmp_path / "conf")
    with proxy:
        pass
    log = " ".join(proxy.log_text().split())
    recordings = REPO_PARTNERS.parent / "recordings"
    assert "record mode: requests for the partner files' hosts go to the real servers" in log
    assert f"HAR file in {recordings}/" in log
    assert "Secrets are redacted before anything is written" in log


def test_with_workers_the_default_log_has_the_imnot_lines_only(tmp_path):
    log = serve_two_requests(tmp_path, "--workers", "2")
    assert "imnot mock staylink/reservation step 1/3 -> 202" in log
    assert "client connect" not in log and "client disconnect" not in log
    assert "2 workers on 127.0.0.1" in log


def test_with_workers_v_adds_mitmproxy_connection_lines(tmp_path):
    log = serve_two_requests(tmp_path, "--workers", "2", "-v")
    assert "client connect" in log and "imnot mock staylink/reservation" in log


def init_partners(folder: Path) -> Path:
    done = run([*IMNOT_CLI, "init", "--dir", str(folder)], cwd=folder)
    assert done.returncode == 0, done.stderr
    return folder / "partners"


@pytest.fixture(scope="module")
def redis_with_password(tmp_path_factory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"), password="right-one", aof=False)
    yield server.start()
    server.shutdown()


@pytest.mark.parametrize(("db", "workers"), [
    ("redis://:hunter2@127.0.0.1:1/0", "1"),
    ("redis://:hunter2@127.0.0.1:1/0", "2"),
    ("mongodb://h/0", "1"),
    ("redis://127.0.0.1:notaport/0", "2"),
    ("redis://127.0.0.1:{redis}/0?session_ttl=soon", "1"),
    ("redis://:right-one@127.0.0.1:{redis}/99", "1"),
    ("redis://:hunter2@127.0.0.1:{redis}/0", "2"),
])
def test_a_store_that_cannot_be_opened_is_one_masked_line_and_nothing_listens(
        tmp_path, redis_with_password, db, workers):
    """Not "listening", not the partners loaded into another store: the error and exit 2."""
    init_partners(tmp_path)
    url = db.format(redis=redis_with_password.port)
    done = run([*IMNOT_CLI, "start", "--port", str(free_port()), "--db", url,
                "--workers", workers, "--confdir", str(tmp_path / "conf")],
               cwd=tmp_path, timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith("imnot-proxy: Cannot open imnot_db: cannot open store ")
    assert "hunter2" not in line and "right-one" not in line
    assert not (tmp_path / "imnot.db").exists()  # the default store was never opened


@pytest.mark.parametrize("form", [["--listen-port", "{port}"], ["-p", "{port}"], ["-p{port}"],
                                  ["--set", "listen_port={port}"], ["--listen-port={port}"]])
def test_a_port_given_after_the_double_dash_is_the_one_announced(tmp_path, form):
    port = free_port()
    passed = [arg.format(port=port) for arg in form]
    proxy = Launcher([*IMNOT_CLI, "start", "--partners", str(REPO_PARTNERS), "--db",
                      str(tmp_path / "imnot.db"), "--no-watch", "--confdir", str(tmp_path / "c"),
                      "--", *passed], port=port, workdir=tmp_path)
    with proxy:
        wait_until(lambda: "listening on" in proxy.log_text(), message="no start line")
        assert direct_request(proxy.url, "GET", "/healthz").status == 200
    assert f"listening on http://127.0.0.1:{port} " in proxy.log_text()
    assert "127.0.0.1:8080" not in proxy.log_text()
