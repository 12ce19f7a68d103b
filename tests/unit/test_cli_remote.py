"""The state commands (``cli/remote.py``): the ``Remote`` interface over HTTP and over a store
file gives the same answers and errors, and ``payload``/``sessions`` work on a store file.

The HTTP side talks to a small ``http.server`` that hands each request to the admin API
(``AdminApi.handle``), so it goes through the same routes and status codes as the proxy.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from imnot_proxy import cli
from imnot_proxy.admin import AdminApi
from imnot_proxy.cli.remote import (
    HttpRemote,
    LocalRemote,
    Remote,
    RemoteError,
    local_service,
    open_remote,
)
from imnot_proxy.client import AdminClient
from imnot_proxy.messages import CIHeaders, RequestView

REPO = Path(__file__).resolve().parents[2]
PARTNERS = REPO / "partners"
KEY = "remote-test-key"
TIMES = ("updated_at", "created_at", "last_used", "at")


def serve(api: AdminApi) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def handle_one(self) -> None:
            path, _, query = self.path.partition("?")
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            reply = api.handle(RequestView(self.command, path, query,
                                           CIHeaders(self.headers.items()), body))
            self.send_response(reply.status)
            for name, value in reply.wire_headers:
                self.send_header(name.decode(), value.decode())
            self.end_headers()
            self.wfile.write(reply.body)

        do_GET = do_POST = do_DELETE = handle_one

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return ThreadingHTTPServer(("127.0.0.1", 0), Handler)


@pytest.fixture
def local(tmp_path: Path) -> LocalRemote:
    return LocalRemote(local_service(PARTNERS, tmp_path / "local.db"))


@pytest.fixture
def http(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HttpRemote]:
    service = local_service(PARTNERS, tmp_path / "served.db")
    # The local service has no admin key; give it one, so the stub checks it as the proxy does.
    monkeypatch.setattr(service, "admin_key", lambda: KEY)
    server = serve(AdminApi(service))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield HttpRemote(AdminClient(f"http://127.0.0.1:{server.server_port}", KEY))
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def script(remote: Remote) -> list[Any]:
    """The same calls on any remote, each answer or error with times and session ids masked."""
    answers: list[Any] = []
    sessions: dict[str, str] = {}

    def mask(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: ("<time>" if k in TIMES and v else mask(v)) for k, v in value.items()}
        if isinstance(value, list):
            return [mask(v) for v in value]
        if isinstance(value, str):
            for session_id, label in sessions.items():
                value = value.replace(session_id, label)
        return value

    def call(action: Callable[..., Any], *args: Any) -> Any:
        try:
            result = action(*args)
        except RemoteError as exc:
            answers.append(("error", exc.status, mask(str(exc))))
            return None
        if isinstance(result, dict) and "session_id" in result:
            sessions.setdefault(result["session_id"], f"<session {len(sessions)}>")
        answers.append(mask(result))
        return result

    call(remote.get_payload, "bookingco", "charges")
    call(remote.set_payload, "bookingco", "charges", b'{"total": 150}')
    call(remote.get_payload, "bookingco", "charges")
    call(remote.set_payload, "bookingco", "charges", b'{"total": 0}', "failed")
    call(remote.get_payload, "bookingco", "charges")
    call(remote.set_payload, "bookingco", "reservation", b"{}")
    call(remote.set_payload, "bookingco", "charges", b"{nope")
    call(remote.set_payload, "nobody", "charges", b"{}")
    first = call(remote.new_session, "staylink", "reservation", b'{"n": 1}')
    call(remote.new_session, "staylink", "reservation", b'{"n": 2}', "failed")
    call(remote.get_session, "staylink", "reservation", first["session_id"])
    call(remote.get_session, "bookingco", "charges", first["session_id"])
    call(remote.get_session, "staylink", "reservation", "no-such-session")
    call(remote.list_sessions)
    call(remote.status)
    call(remote.delete_session, first["session_id"])
    call(remote.delete_session, first["session_id"])
    call(remote.clear_sessions)
    call(remote.list_sessions)
    return answers


def test_http_and_local_remotes_answer_the_same(local: LocalRemote, http: HttpRemote) -> None:
    answers = script(local)
    assert script(http) == answers
    assert answers[0] == ("error", 404, "No global payload set for bookingco/charges")
    assert answers[2] == {"payload": {"total": 150}, "updated_at": "<time>"}
    assert answers[4]["outcome"] == "failed"
    assert [a[:2] for a in answers[5:8]] == [("error", 404), ("error", 400), ("error", 404)]
    assert answers[8] == {"session_id": "<session 0>"}
    assert answers[13][0]["session_id"] == "<session 1>"  # newest first
    assert answers[14]["partners"] == ["bookingco", "channellink", "staylink"]
    assert answers[16] == ("error", 404, "Session not found")
    assert answers[17:] == [{"status": "ok", "deleted": 1}, []]


def test_http_remote_errors_carry_status_and_detail(http: HttpRemote) -> None:
    refused = HttpRemote(AdminClient(http.client.base_url, "wrong"))
    with pytest.raises(RemoteError) as error:
        refused.status()
    assert error.value.status == 401
    assert error.value.detail == ("Unauthorized: the proxy has an admin key; give it with --key "
                                  "or IMNOT_ADMIN_KEY (the one given was refused)")
    down = HttpRemote(AdminClient("http://127.0.0.1:9", KEY, timeout=2))
    with pytest.raises(RemoteError) as error:
        down.list_sessions()
    assert error.value.status is None
    assert str(error.value).startswith("cannot reach http://127.0.0.1:9")


def test_http_remote_names_are_one_path_segment_each(http: HttpRemote) -> None:
    http.set_payload("staylink", "reservation", b'{"n": 1}', name="gold")
    with pytest.raises(RemoteError) as error:
        http.get_payload("staylink/reservation/payload?name=gold#", "x")
    assert error.value.status == 404
    with pytest.raises(RemoteError) as error:
        http.set_payload("a b", "x\r\ny", b"{}")
    assert error.value.status == 404 and "a b" in str(error.value.detail)
    with pytest.raises(RemoteError) as error:
        http.delete_session("x y/../../partners")
    assert error.value.status == 404


def test_db_chooses_the_store_file_and_otherwise_the_proxy(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IMNOT_URL", raising=False)
    parser = cli.build_parser()
    offline = parser.parse_args(["sessions", "list", "--db", str(tmp_path / "x.db"),
                                 "--partners", str(PARTNERS)])
    assert isinstance(open_remote(offline), LocalRemote)
    online = open_remote(parser.parse_args(["status", "--url", "http://proxy:9/", "--key", "k"]))
    assert isinstance(online, HttpRemote)
    assert (online.client.base_url, online.client.key) == ("http://proxy:9", "k")


def test_payload_set_and_get_offline(tmp_path, capsys):
    payload = tmp_path / "charges.json"
    payload.write_text('{"total": 150}')
    common = ["--db", str(tmp_path / "imnot.db"), "--partners", str(REPO / "partners")]
    assert cli.main(["payload", "set", "bookingco", "charges", str(payload), *common]) == 0
    capsys.readouterr()
    assert cli.main(["payload", "get", "bookingco", "charges", "--json", *common]) == 0
    assert json.loads(capsys.readouterr().out)["payload"] == {"total": 150}


def test_payload_set_offline_rejects_a_static_datapoint(tmp_path, capsys):
    payload = tmp_path / "x.json"
    payload.write_text("[1]")
    assert cli.main(["payload", "set", "bookingco", "reservation", str(payload),
                     "--db", str(tmp_path / "imnot.db"),
                     "--partners", str(REPO / "partners")]) == 1
    assert "No payload datapoint bookingco/reservation" in capsys.readouterr().err


def test_sessions_offline_list_delete_clear(tmp_path, capsys):
    common = ["--db", str(tmp_path / "imnot.db"), "--partners", str(PARTNERS)]
    remote = LocalRemote(local_service(PARTNERS, tmp_path / "imnot.db"))
    sid = remote.new_session("staylink", "reservation", b'{"n": 1}')["session_id"]
    remote.new_session("staylink", "reservation", b'{"n": 2}')
    assert cli.main(["sessions", "list", *common]) == 0
    assert sid in capsys.readouterr().out
    assert cli.main(["sessions", "delete", sid, "--json", *common]) == 0
    assert json.loads(capsys.readouterr().out) == {"status": "ok", "session_id": sid}
    assert cli.main(["sessions", "delete", sid, *common]) == 1
    assert "Session not found" in capsys.readouterr().err
    assert cli.main(["sessions", "clear", "--json", *common]) == 0
    assert json.loads(capsys.readouterr().out) == {"status": "ok", "deleted": 1}
    assert cli.main(["sessions", "list", *common]) == 0
    assert "No sessions." in capsys.readouterr().out
