"""``imnot-proxy start`` with a separate admin listener and JSON log lines."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import REPO_PARTNERS
from .harness import Launcher, direct_request, free_port, proxied_request, wait_until


def test_admin_listener_serves_the_admin_api_without_a_proxy_and_logs_are_json(
        tmp_path: Path) -> None:
    admin_port = free_port()
    with Launcher.imnot_start(tmp_path, "--partners", REPO_PARTNERS, "--db", tmp_path / "imnot.db",
                              "--admin-port", str(admin_port), "--json-logs",
                              confdir=tmp_path / "conf", ready_ports=[admin_port]) as proxy:
        admin = f"http://127.0.0.1:{admin_port}"
        assert direct_request(admin, "GET", "/healthz").status == 200
        uploaded = direct_request(admin, "POST", "/imnot/admin/bookingco/charges/payload",
                                  b'{"total": 7}')
        assert uploaded.status == 200
        charges = proxied_request(proxy.url, "GET",
                                  "http://api.bookingco.example/bookingco/v1/charges?propertyId=P1")
        assert charges.json() == {"total": 7}

        def flow_line() -> dict | None:
            for line in proxy.log_text().splitlines():
                if line.startswith("{") and '"kind": "mock"' in line:
                    return json.loads(line)
            return None

        line = wait_until(flow_line, message="no JSON log line for the mocked flow")
        assert (line["partner"], line["datapoint"], line["status"]) == ("bookingco", "charges",
                                                                        200)
