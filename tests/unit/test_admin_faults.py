"""``/imnot/admin/faults`` and ``imnot-proxy fault``: add, list, delete, clear, the 4xx of bad
input (with nothing stored), the same answers over HTTP and on a store file."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from imnot_proxy import cli
from imnot_proxy.admin import AdminApi, AdminService
from imnot_proxy.cli.faults import fault_body
from imnot_proxy.cli.remote import HttpRemote, LocalRemote, RemoteError, local_service
from imnot_proxy.client import AdminClient
from imnot_proxy.definitions import Definitions
from imnot_proxy.journal import JournalEntry, MemoryJournal
from imnot_proxy.messages import CIHeaders, MockResponse, RequestView
from imnot_proxy.schema.faults import FAULT_KINDS
from unit.test_cli_remote import serve

PARTNER = """
    partner: p
    hosts: [api.p.example]
    datapoints:
      - {name: config, pattern: static, endpoints: [{method: GET, path: /config}]}
      - name: jobs
        pattern: polling
        endpoints:
          - {step: 1, method: POST, path: /jobs,
             response: {generates_id: true, id_header: Location, id_header_value: "/jobs/{id}"}}
          - {step: 2, method: GET, path: "/jobs/{id}"}
      - name: export
        pattern: callback
        endpoints:
          - {method: POST, path: /export, response: {callback_url_field: url}}
    """


@pytest.fixture
def api(tmp_path, store, load_text):
    result = load_text(PARTNER, tmp_path)
    definitions = Definitions([str(tmp_path / "partner.yaml")], store)
    definitions.apply(result.partners)
    admin = AdminApi(AdminService(definitions, store))

    def call(method: str, path: str, body: Any = b"", query: str = "") -> MockResponse:
        if not isinstance(body, bytes):
            body = json.dumps(body).encode()
        return admin.handle(RequestView(method, path, query, CIHeaders(), body))
    return call


def as_json(response: MockResponse) -> Any:
    return json.loads(response.body)


FAULTS = "/imnot/admin/faults"


def test_add_list_delete_clear(api, clock):
    added = api("POST", FAULTS, {"kind": "status", "status": 429, "retry_after": 2,
                                 "partner": "p", "endpoint": "get /config/", "session": "s1",
                                 "when": {"first": 3}, "expires_in": 60})
    assert added.status == 201
    view = as_json(added)
    assert view == {"id": view["id"], "partner": "p", "session": "s1", "datapoint": "config",
                    "endpoint": "GET /config", "status": 429, "retry_after": 2,
                    "when": {"first": 3}, "kind": "status", "created_at": view["created_at"],
                    "expires_at": view["expires_at"]}
    other = as_json(api("POST", FAULTS, {"kind": "reset", "partner": "p"}))
    assert [f["id"] for f in as_json(api("GET", FAULTS))] == [view["id"], other["id"]]
    assert [f["id"] for f in as_json(api("GET", FAULTS, query="session=s1"))] == [view["id"]]
    assert [f["id"] for f in as_json(api("GET", "/imnot/admin/status"))["faults"]] == [
        view["id"], other["id"]]
    assert as_json(api("DELETE", f"{FAULTS}/{other['id']}")) == {"status": "ok",
                                                                 "id": other["id"]}
    assert api("DELETE", f"{FAULTS}/{other['id']}").status == 404
    assert as_json(api("DELETE", FAULTS, query="session=nobody")) == {"status": "ok",
                                                                       "deleted": 0}
    assert as_json(api("DELETE", FAULTS)) == {"status": "ok", "deleted": 1}
    assert as_json(api("GET", FAULTS)) == []


def test_caps_are_applied_and_reported(api):
    view = as_json(api("POST", FAULTS, {"kind": "latency", "ms": 9e9, "partner": "p"}))
    assert view["warnings"] == [
        "ms: 9000000000 ms is more than the cap of 300000 ms; capped to 300000"]


@pytest.mark.parametrize(("body", "status", "detail"), [
    (b"{nope", 400, "Invalid JSON body"),
    ([1, 2], 422, "a fault is a JSON object with 'kind' and 'partner'"),
    ({"kind": "reset"}, 422, ["partner: Field required"]),
    ({"partner": "p"}, 422, [f"kind: is required (one of: {', '.join(FAULT_KINDS)})"]),
    ({"kind": "boom", "partner": "p"}, 422,
     [f"kind: unknown fault kind 'boom'; supported: {', '.join(FAULT_KINDS)}"]),
    ({"kind": "status", "partner": "p", "when": {"probability": 2}}, 422,
     ["when.probability: Input should be less than or equal to 1"]),
    ({"kind": "latency", "partner": "p", "ms": -5}, 422,
     ["ms: Input should be greater than or equal to 0"]),
    ({"kind": "hang", "partner": "p", "max_seconds": 1, "colour": "red"}, 422,
     ["colour: Extra inputs are not permitted"]),
    ({"kind": "reset", "partner": "p", "expires_in": -1}, 422,
     ["expires_in: Input should be greater than 0"]),
    ({"kind": "reset", "partner": "q"}, 404, "No partner 'q' (partners: p)"),
    ({"kind": "reset", "partner": "p", "datapoint": "nope"}, 404,
     "No datapoint 'nope' in partner 'p' (datapoints: config, jobs, export)"),
    ({"kind": "reset", "partner": "p", "endpoint": "GET /nope"}, 404,
     "No endpoint 'GET /nope' in p (endpoints: GET /config, POST /jobs, GET /jobs/{id}, "
     "POST /export)"),
    ({"kind": "reset", "partner": "p", "datapoint": "config", "endpoint": "POST /jobs"}, 404,
     "No endpoint 'POST /jobs' in p/config (endpoints: GET /config)"),
    ({"kind": "callback_drop", "partner": "p", "datapoint": "config"}, 422,
     "'callback_drop' applies to callback deliveries: name a datapoint with pattern "
     "'callback'"),
    ({"kind": "status", "partner": "p", "endpoint": "GET /config",
      "when": {"seconds": 3, "since": "id"}}, 422,
     "'since: id' reads the generated id from the path, and 'GET /config' has no '{id}' "
     "segment"),
    ({"kind": "status", "partner": "p", "when": {"heder": "X-A", "frist": 2}}, 422,
     ["when.heder: unknown key 'heder' (did you mean 'header'?)",
      "when.frist: unknown key 'frist' (did you mean 'first'?)"]),
    ({"kind": "reset", "partner": "p", "when": {"json": "$.[", "first": 1}}, 422,
     ["when.json: invalid JSONPath: expected a shorthand selector"]),
    ({"kind": "callback_drop", "partner": "p", "datapoint": "export",
      "when": {"header": "X-A"}}, 422,
     "when: a callback fault is decided at delivery, after the request: its 'when' takes no "
     "request condition (only probability, every, first, seconds)"),
])
def test_bad_faults_are_4xx_and_store_nothing(api, body, status, detail):
    response = api("POST", FAULTS, body)
    assert (response.status, as_json(response)["detail"]) == (status, detail)
    assert as_json(api("GET", FAULTS)) == []


def test_a_request_condition_in_when_is_stored_as_written(api):
    added = as_json(api("POST", FAULTS, {
        "kind": "status", "status": 503, "partner": "p", "datapoint": "config",
        "when": {"header": {"X-Scenario": "outage"}, "first": 3}}))
    assert added["when"] == {"header": {"X-Scenario": "outage"}, "first": 3}
    assert as_json(api("GET", FAULTS))[0]["when"] == added["when"]


def test_endpoint_faults_with_an_id_window_and_callback_faults_are_accepted(api):
    assert api("POST", FAULTS, {"kind": "status", "partner": "p", "endpoint": "GET /jobs/{id}",
                                "when": {"seconds": 3, "since": "id"}}).status == 201
    assert api("POST", FAULTS, {"kind": "callback_duplicate", "partner": "p",
                                "datapoint": "export"}).status == 201
    assert api("POST", FAULTS, {"kind": "callback_drop", "partner": "p"}).status == 201


# --- the CLI ---------------------------------------------------------------------------

REPO = Path(__file__).resolve().parents[2]
PARTNERS = REPO / "partners"


@pytest.mark.parametrize(("argv", "body"), [
    (["status", "staylink"], {"kind": "status", "partner": "staylink"}),
    (["status", "staylink", "reservation", "--endpoint", "GET /x", "--session", "s1",
      "--expires-in", "30", "--status", "429", "--retry-after", "5", "--header", "X-A: 1",
      "--body", '{"e": 1}', "--first", "2"],
     {"kind": "status", "partner": "staylink", "datapoint": "reservation", "endpoint": "GET /x",
      "session": "s1", "expires_in": 30.0, "status": 429, "retry_after": 5,
      "headers": {"X-A": "1"}, "body": {"e": 1}, "when": {"first": 2}}),
    (["latency", "p", "--uniform-ms", "10,20", "--seed", "7"],
     {"kind": "latency", "partner": "p", "uniform_ms": [10.0, 20.0], "seed": "7"}),
    (["latency", "p", "--body-bytes", "8", "--every-ms", "100"],
     {"kind": "latency", "partner": "p", "body": {"bytes": 8, "every_ms": 100.0}}),
    (["status", "p", "--when", '{"header": {"X-Scenario": "outage"}}', "--first", "3"],
     {"kind": "status", "partner": "p", "when": {"header": {"X-Scenario": "outage"},
                                                  "first": 3}}),
    (["reset", "p", "--when", '[{"query": "a"}, {"header": "X-B"}]'],
     {"kind": "reset", "partner": "p", "when": {"all": [{"query": "a"}, {"header": "X-B"}]}}),
    (["reset", "p", "--probability", "0.3", "--seed", "42", "--per", "all"],
     {"kind": "reset", "partner": "p", "when": {"probability": 0.3, "per": "all",
                                                 "seed": "42"}}),
    (["hang", "p", "--max-seconds", "3", "--seconds", "10", "--since", "id",
      "--param", "extra=[1]"],
     {"kind": "hang", "partner": "p", "max_seconds": 3.0,
      "when": {"seconds": 10.0, "since": "id"}, "extra": [1]}),
])
def test_fault_set_flags_make_the_json_body(argv, body):
    args = cli.build_parser().parse_args(["fault", "set", *argv])
    assert fault_body(args) == body


def test_fault_commands_offline(tmp_path, capsys):
    common = ["--db", str(tmp_path / "imnot.db"), "--partners", str(PARTNERS)]
    assert cli.main(["fault", "set", "status", "staylink", "--status", "503", "--session",
                     "s1", *common]) == 0
    fault_id = capsys.readouterr().out.strip()
    assert cli.main(["fault", "set", "latency", "staylink", "--ms", "9999999", *common]) == 0
    assert "capped to 300000" in capsys.readouterr().out
    assert cli.main(["fault", "list", "--json", "--session", "s1", *common]) == 0
    assert [f["id"] for f in json.loads(capsys.readouterr().out)] == [fault_id]
    assert cli.main(["fault", "list", *common]) == 0
    assert fault_id in capsys.readouterr().out
    assert cli.main(["fault", "set", "explode", "staylink", *common]) == 1
    assert "unknown fault kind 'explode'" in capsys.readouterr().err
    assert cli.main(["fault", "set", "latency", "staylink", "--uniform-ms", "x", *common]) == 1
    assert "--uniform-ms takes MIN,MAX" in capsys.readouterr().err
    assert cli.main(["fault", "set", "reset", "staylink", "--when", "3", *common]) == 1
    assert "--when takes a condition as a JSON object" in capsys.readouterr().err
    assert cli.main(["fault", "set", "reset", "staylink", "--when", '{"heder": "X"}',
                     *common]) == 1
    assert "when.heder: unknown key 'heder' (did you mean 'header'?)" in capsys.readouterr().err
    assert cli.main(["fault", "clear", fault_id, *common]) == 0
    assert cli.main(["fault", "clear", fault_id, *common]) == 1
    assert f"No fault '{fault_id}'" in capsys.readouterr().err
    assert cli.main(["fault", "clear", "--json", *common]) == 0
    assert json.loads(capsys.readouterr().out) == {"status": "ok", "deleted": 1}


@pytest.fixture
def http(tmp_path: Path) -> Iterator[HttpRemote]:
    server = serve(AdminApi(local_service(PARTNERS, tmp_path / "served.db")))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield HttpRemote(AdminClient(f"http://127.0.0.1:{server.server_port}"))
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_http_and_local_remotes_answer_the_same(tmp_path, http):
    local = LocalRemote(local_service(PARTNERS, tmp_path / "local.db"))

    def script(remote) -> list:
        out: list = []
        for action, args in [
            (remote.add_fault, ({"kind": "reset", "partner": "staylink", "session": "a"},)),
            (remote.add_fault, ({"kind": "hang", "partner": "nobody"},)),
            (remote.add_fault, ({"kind": "latency", "partner": "staylink", "ms": -1},)),
            (remote.list_faults, ("a",)),
            (remote.clear_faults, ("a",)),
            (remote.delete_fault, ("nope",)),
        ]:
            try:
                result = action(*args)
            except RemoteError as exc:
                out.append((exc.status, exc.detail))
                continue
            drop = ("id", "created_at")
            out.append([{k: v for k, v in r.items() if k not in drop} for r in result]
                       if isinstance(result, list) else
                       {k: v for k, v in result.items() if k not in drop})
        return out

    answers = script(local)
    assert script(http) == answers
    assert answers[1][0] == 404 and answers[1][1].startswith("No partner 'nobody' (partners: ")
    assert answers[2] == (422, ["ms: Input should be greater than or equal to 0"])
    assert answers[4] == {"status": "ok", "deleted": 1}



def test_the_journal_lists_faulted_requests_by_their_kind(store):
    journal = MemoryJournal()
    for kind in ("mock", "fault", "fault"):
        journal.add(JournalEntry(at=0.0, kind=kind, method="GET", scheme="http",
                                 host="api.p.example", port=80, path=f"/{kind}", status=503,
                                 seconds=0.001, partner="p", session="s1"))
    service = AdminService(Definitions([], store), store, journal=journal)
    entries = service.journal_entries(10, kinds=frozenset({"fault"}))
    assert [e["kind"] for e in entries] == ["fault", "fault"]
