"""What ``imnot-proxy start`` prints while it serves: the imnot lines by default, mitmproxy's
connection lines with ``-v``, and what record mode records."""

from __future__ import annotations

from pathlib import Path

from .conftest import REPO_PARTNERS
from .harness import Launcher, direct_request, proxied_request, wait_until

RESERVATIONS = "http://api.staylink.example/staylink/reservations"


def serve_two_requests(tmp_path: Path, *args: str) -> str:
    proxy = Launcher.imnot_start(tmp_path, "--partners", str(REPO_PARTNERS), "--db",
                                 str(tmp_path / "imnot.db"), "--no-watch", *args,
                                 confdir=tmp_path / "conf")
    with proxy:
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
