"""The management CLI as users run it: ``imnot-proxy`` subprocesses against a real mitmdump.

The proxy takes its admin key from ``IMNOT_ADMIN_KEY``; the CLI gets ``--url`` and
``--key`` (or the same environment variables). Every command is checked for its
human output, its ``--json`` output and a non-zero exit code on errors, and the
payload and session commands also in ``--db`` mode, on a store file with no proxy.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from imnot_proxy import __version__

from .conftest import ENTRY_SCRIPT, Imnot
from .harness import Launcher, Reply, free_port, run

# Warnings are errors; a socket closed late by the interpreter (unraisable) is not.
pytestmark = pytest.mark.filterwarnings("error", "ignore::pytest.PytestUnraisableExceptionWarning")

DATA = Path(__file__).resolve().parents[1] / "data" / "admin"
KEY = f"cli-{uuid.uuid4().hex}"
ADMINCO = "http://api.adminco.example"


def imnot_proxy_cli() -> str:
    found = shutil.which("imnot-proxy", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip("the imnot-proxy console script is not installed (pip install -e .)")
    return found


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The CLI's working directory: no ./partners or ./imnot.db of the repository."""
    return tmp_path_factory.mktemp("cli-cwd")


@pytest.fixture(scope="module")
def partners_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("cli-partners") / "partners"
    shutil.copytree(DATA / "partners", target)
    return target


@pytest.fixture(scope="module")
def imnot(tmp_path_factory: pytest.TempPathFactory, partners_dir: Path) -> Iterator[Imnot]:
    """A proxy whose admin key comes from the environment, as in a container."""
    base = tmp_path_factory.mktemp("cli-proxy")
    proc = Launcher.mitmdump(ENTRY_SCRIPT, base / "conf",
                             options={"imnot_db": str(base / "imnot.db")},
                             extra_args=["--set", f"imnot_partners={partners_dir}"],
                             env={"IMNOT_ADMIN_KEY": KEY, "IMNOT_URL": None})
    proxy = Imnot(proc).start()
    try:
        yield proxy
    finally:
        proxy.stop()
    crashed = proxy.tracebacks()
    assert not crashed, "imnot_proxy logged tracebacks:\n" + "\n---\n".join(crashed)


class Cli:
    """Runs ``imnot-proxy`` in ``workdir``, without the ``IMNOT_*`` variables of the tests."""

    def __init__(self, workdir: Path, imnot: Imnot) -> None:
        self.workdir = workdir
        self.imnot = imnot

    def run(self, *args: str, stdin: str | None = None,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return run([imnot_proxy_cli(), *args], stdin=stdin, env=env, drop_imnot=True,
                   cwd=self.workdir)

    def remote(self, *args: str, key: str | None = KEY,
               stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """A command against the running proxy."""
        extra = ["--url", self.imnot.url] + (["--key", key] if key is not None else [])
        return self.run(*args, *extra, stdin=stdin)

    def ok(self, *args: str, stdin: str | None = None) -> str:
        done = self.remote(*args, stdin=stdin)
        assert done.returncode == 0, f"{args}: {done.returncode}\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def json(self, *args: str, stdin: str | None = None) -> Any:
        return json.loads(self.ok(*args, "--json", stdin=stdin))

    def offline_ok(self, *args: str) -> str:
        """A command that needs no proxy."""
        done = self.run(*args)
        assert done.returncode == 0, f"{args}: {done.returncode}\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def admin(self, method: str, path: str, body: bytes | None = None) -> Reply:
        return self.imnot.direct(method, f"/imnot/admin/{path}", body,
                                 headers={"Authorization": f"Bearer {KEY}"})


@pytest.fixture
def cli(workdir: Path, imnot: Imnot) -> Cli:
    return Cli(workdir, imnot)


def flat(text: str) -> str:
    """Console output with rich's line wrapping undone."""
    return " ".join(text.split())


def payload_file(tmp_path: Path, value: Any, name: str = "payload.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(value), encoding="utf-8")
    return str(path)


# --------------------------------------------------------------------------- payload


def test_payload_set_and_get_global(cli: Cli, imnot: Imnot, tmp_path: Path) -> None:
    first = {"orders": [1, 2], "from": "file"}
    out = cli.ok("payload", "set", "adminco", "orders", payload_file(tmp_path, first))
    assert "payload set for adminco/orders" in out
    assert imnot.request("GET", f"{ADMINCO}/adminco/orders").json() == first

    second = {"orders": [3], "from": "stdin"}
    assert cli.json("payload", "set", "adminco", "orders", "-", stdin=json.dumps(second)) == {
        "status": "ok", "partner": "adminco", "datapoint": "orders"}
    assert imnot.direct("GET", "/adminco/orders").json() == second

    got = cli.json("payload", "get", "adminco", "orders")
    assert set(got) == {"payload", "updated_at"}
    assert got["payload"] == second
    human = cli.ok("payload", "get", "adminco", "orders")
    assert f"updated: {got['updated_at']}" in human
    assert json.loads(human[human.index("{"):]) == second


def test_payload_sessions_and_outcome(cli: Cli, imnot: Imnot, tmp_path: Path) -> None:
    source = payload_file(tmp_path, {"scope": "session"})
    sid = cli.ok("payload", "set", "adminco", "orders", source, "--session").strip()
    assert uuid.UUID(sid).version == 4
    served = imnot.request("GET", f"{ADMINCO}/adminco/orders", session=sid)
    assert served.json() == {"scope": "session"}

    other = cli.json("payload", "set", "adminco", "orders", source, "--session")
    assert set(other) == {"session_id"} and other["session_id"] != sid

    got = cli.json("payload", "get", "adminco", "orders", "--session", sid)
    assert (got["session_id"], got["payload"]) == (sid, {"scope": "session"})

    cli.ok("payload", "set", "adminco", "orders", source, "--outcome", "failed")
    assert cli.json("payload", "get", "adminco", "orders")["outcome"] == "failed"


def test_payload_errors_exit_non_zero(cli: Cli, tmp_path: Path) -> None:
    good = payload_file(tmp_path, {"ok": True})
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{nope", encoding="utf-8")
    missing_sid = str(uuid.uuid4())
    cases: list[tuple[tuple[str, ...], str | None, str]] = [
        (("payload", "set", "adminco", "orders", good), "wrong", "Unauthorized"),
        (("payload", "get", "adminco", "orders"), None, "Unauthorized"),
        (("payload", "set", "adminco", "nothing", good), KEY, "No payload datapoint adminco/nothing"),
        (("payload", "set", "adminco", "greeting", good), KEY, "No payload datapoint"),
        (("payload", "set", "adminco", "orders", str(bad_json)), KEY, "Invalid JSON body"),
        (("payload", "set", "adminco", "orders", str(tmp_path / "absent.json")), KEY,
         "cannot read"),
        (("payload", "get", "adminco", "notes"), KEY, "No global payload set for adminco/notes"),
        (("payload", "get", "adminco", "orders", "--session", missing_sid), KEY,
         f"Session '{missing_sid}' not found"),
    ]
    with ThreadPoolExecutor(max_workers=4) as pool:
        runs = list(pool.map(lambda case: cli.remote(*case[0], "--json", key=case[1]), cases))
    for (args, _, message), done in zip(cases, runs, strict=True):
        assert done.returncode == 1, (args, done.stdout, done.stderr)
        assert message in flat(done.stderr), (args, done.stderr)
        assert done.stdout == "", "errors go to stderr, even with --json"


def test_unreachable_proxy_exits_1(cli: Cli) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    for args in (("status",), ("payload", "get", "adminco", "orders")):
        done = cli.run(*args, "--url", url, "--key", KEY)
        assert done.returncode == 1, (args, done.stdout)
        assert f"cannot reach {url}" in flat(done.stderr)


def test_url_and_key_from_the_environment(cli: Cli, imnot: Imnot) -> None:
    done = cli.run("status", "--json", env={"IMNOT_URL": imnot.url, "IMNOT_ADMIN_KEY": KEY})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["partners"] == ["adminco"]
    refused = cli.run("status", env={"IMNOT_URL": imnot.url, "IMNOT_ADMIN_KEY": "wrong"})
    assert refused.returncode == 1
    assert "Unauthorized" in refused.stderr


# --------------------------------------------------------------------------- sessions


def test_sessions_list_delete_clear(cli: Cli, imnot: Imnot, tmp_path: Path) -> None:
    source = payload_file(tmp_path, {"n": 1})
    older = cli.ok("payload", "set", "adminco", "orders", source, "--session").strip()
    newer = cli.ok("payload", "set", "adminco", "orders", source, "--session").strip()

    listed = cli.json("sessions", "list")
    ids = [row["session_id"] for row in listed]
    assert ids.index(newer) < ids.index(older)
    row = listed[ids.index(newer)]
    assert {k: row[k] for k in ("partner", "datapoint", "last_used")} == {
        "partner": "adminco", "datapoint": "orders", "last_used": None}
    table = flat(cli.ok("sessions", "list"))
    assert newer in table and older in table and "adminco/orders" in table

    assert cli.json("sessions", "delete", older) == {"status": "ok", "session_id": older}
    again = cli.remote("sessions", "delete", older)
    assert again.returncode == 1
    assert "Session not found" in again.stderr
    assert imnot.request("GET", f"{ADMINCO}/adminco/orders", session=older).status == 404

    remaining = len(cli.json("sessions", "list"))
    assert cli.json("sessions", "clear") == {"status": "ok", "deleted": remaining}
    assert "No sessions." in cli.ok("sessions", "list")


# --------------------------------------------------------------------------- status


def test_status_human_and_json_and_a_broken_reload(cli: Cli, partners_dir: Path) -> None:
    status = cli.json("status")
    assert (status["version"], status["partners"]) == (__version__, ["adminco"])
    assert status["routes"] >= 4 and isinstance(status["sessions"], int)
    human = flat(cli.ok("status"))
    assert f"imnot-proxy {__version__}: 1 partners (adminco), {status['routes']} routes" in human

    path = partners_dir / "adminco" / "partner.yaml"
    good = path.read_text(encoding="utf-8")
    path.write_text(good.replace("status: 202", "status: accepted"), encoding="utf-8")
    line = good.splitlines().index("          status: 202") + 1
    try:
        assert cli.admin("POST", "reload").status == 200
        report = cli.json("status")["last_reload"]
        assert report["status"] == "partial" and report["kept"] == [str(path)]
        assert any(p.startswith(f"{path}:{line} ") for p in report["problems"]), report
        human = flat(cli.ok("status"))
        assert "partial" in human and f"{path.name}:{line}" in human
    finally:
        path.write_text(good, encoding="utf-8")
        assert cli.admin("POST", "reload").status == 200
    assert cli.json("status")["last_reload"]["status"] == "ok"
    assert cli.remote("status", key="wrong").returncode == 1


# --------------------------------------------------------------------------- generate


def test_generate_writes_a_file_the_proxy_then_serves(cli: Cli, imnot: Imnot,
                                                      partners_dir: Path) -> None:
    source = str(DATA / "newco.yaml")
    target = partners_dir / "newco" / "partner.yaml"
    try:
        dry = cli.run("generate", "--file", source, "--partners-dir", str(partners_dir),
                      "--dry-run", "--json")
        assert dry.returncode == 0, dry.stderr
        assert json.loads(dry.stdout)["dry_run"] is True
        assert not target.exists()

        done = cli.run("generate", "--file", source, "--partners-dir", str(partners_dir),
                       "--json")
        assert done.returncode == 0, done.stderr
        view = json.loads(done.stdout)
        assert {k: view[k] for k in ("status", "partner", "created", "dry_run")} == {
            "status": "ok", "partner": "newco", "created": True, "dry_run": False}
        assert [dp["name"] for dp in view["datapoints"]] == ["ping", "items"]
        assert target.read_text("utf-8") == (DATA / "newco.yaml").read_text("utf-8")

        assert imnot.direct("GET", "/newco/ping").status == 404, "live only after a reload"
        assert cli.admin("POST", "reload").status == 200
        assert imnot.request("GET", "http://api.newco.example/newco/ping").json() == {"pong": 1}

        exists = cli.run("generate", "--file", source, "--partners-dir", str(partners_dir))
        assert exists.returncode == 2
        assert "already exists" in flat(exists.stderr)
        forced = cli.run("generate", "--file", "-", "--partners-dir", str(partners_dir),
                         "--force", "--json",
                         stdin=target.read_text("utf-8").replace("pong: 1", "pong: 2"))
        assert forced.returncode == 0, forced.stderr
        assert json.loads(forced.stdout)["created"] is False
        assert "pong: 2" in target.read_text("utf-8")
        human = cli.run("generate", "--file", source, "--partners-dir", str(partners_dir),
                        "--force")
        assert human.returncode == 0
        assert "GET    /newco/ping  [static] ping" in human.stdout
    finally:
        assert cli.admin("DELETE", "partners/newco").status in (200, 404)
    assert not target.parent.exists()


def test_generate_errors_exit_non_zero_and_write_nothing(cli: Cli, partners_dir: Path,
                                                         tmp_path: Path) -> None:
    invalid = tmp_path / "invalid.yaml"
    invalid.write_text("partner: x\ndatapoints:\n  - name: a\n   pattern: [\n", encoding="utf-8")
    cases = [
        (str(DATA / "clash.yaml"), str(partners_dir), 1, "route conflict"),
        (str(invalid), str(partners_dir), 1, "invalid YAML"),
        (str(tmp_path / "absent.yaml"), str(partners_dir), 1, "cannot read"),
        (str(DATA / "newco.yaml"), str(tmp_path / "no-such-dir"), 3, "not found"),
    ]
    for source, target, code, message in cases:
        done = cli.run("generate", "--file", source, "--partners-dir", target)
        assert done.returncode == code, (source, done.stdout, done.stderr)
        assert message in flat(done.stderr), done.stderr
    as_json = cli.run("generate", "--file", str(DATA / "clash.yaml"), "--partners-dir",
                      str(partners_dir), "--json")
    assert as_json.returncode == 1
    body = json.loads(as_json.stdout)
    assert body["status"] == "error" and "route conflict" in " ".join(body["error"])
    assert sorted(p.name for p in partners_dir.iterdir()) == ["adminco"]


# --------------------------------------------------------------------------- routes, export


def test_routes_match_what_the_proxy_serves(cli: Cli, imnot: Imnot, partners_dir: Path) -> None:
    rows = json.loads(cli.offline_ok("routes", str(partners_dir), "--json", "--admin"))
    partner_rows = [r for r in rows if r["pattern"] != "admin"]
    assert {(r["host"], r["method"], r["path"]) for r in partner_rows} == {
        ("api.adminco.example", "GET", "/adminco/greeting"),
        ("api.adminco.example", "GET", "/adminco/orders"),
        ("api.adminco.example", "GET", "/adminco/notes"),
        ("api.adminco.example", "POST", "/adminco/exports"),
    }
    admin_rows = {(r["method"], r["path"]) for r in rows if r["pattern"] == "admin"}
    assert ("POST", "/imnot/admin/adminco/orders/payload") in admin_rows
    assert ("POST", "/imnot/admin/adminco/export/callback/{request_id}/retrigger") in admin_rows
    assert ("GET", "/imnot/admin/adminco/greeting/payload") not in admin_rows
    for row in partner_rows:
        reply = imnot.request(row["method"], f"http://{row['host']}{row['path']}")
        assert b"No imnot route" not in reply.body, row
    assert "Routes" in cli.offline_ok("routes", str(partners_dir))

    broken = partners_dir.parent / "broken-routes"
    broken.mkdir(exist_ok=True)
    (broken / "bad.yaml").write_text("- not a partner\n", encoding="utf-8")
    assert cli.run("routes", str(broken)).returncode == 1


def test_export_postman_matches_the_live_collection(cli: Cli, partners_dir: Path,
                                                    tmp_path: Path) -> None:
    out = tmp_path / "collection.json"
    done = cli.run("export", "postman", "--partners", str(partners_dir), "--out", str(out))
    assert done.returncode == 0, done.stderr
    exported = json.loads(out.read_text(encoding="utf-8"))
    live = cli.admin("GET", "postman").json()
    assert exported["info"] == live["info"]
    assert exported["item"] == live["item"]
    empty = tmp_path / "empty"
    empty.mkdir()
    nothing = cli.run("export", "postman", "--partners", str(empty), "--out", str(tmp_path / "x"))
    assert nothing.returncode == 1
    assert "no partners" in nothing.stderr


# --------------------------------------------------------------------------- offline --db


def test_offline_db_mode_then_a_proxy_serves_that_store(cli: Cli, tmp_path: Path) -> None:
    db = tmp_path / "offline.db"
    where = ("--db", str(db), "--partners", str(DATA / "partners"))
    source = payload_file(tmp_path, {"offline": True})

    def offline(*args: str) -> subprocess.CompletedProcess[str]:
        return cli.run(*args, *where)

    def offline_json(*args: str) -> Any:
        done = offline(*args, "--json")
        assert done.returncode == 0, (args, done.stderr)
        return json.loads(done.stdout)

    assert offline_json("payload", "set", "adminco", "orders", source) == {
        "status": "ok", "partner": "adminco", "datapoint": "orders"}
    assert offline_json("payload", "get", "adminco", "orders")["payload"] == {"offline": True}
    sid = offline_json("payload", "set", "adminco", "orders", source, "--session")["session_id"]
    assert offline_json("payload", "get", "adminco", "orders", "--session", sid)["payload"] == {
        "offline": True}
    assert [row["session_id"] for row in offline_json("sessions", "list")] == [sid]
    gone = offline("sessions", "delete", str(uuid.uuid4()))
    assert gone.returncode == 1 and "Session not found" in gone.stderr
    unknown = offline("payload", "set", "adminco", "greeting", source)
    assert unknown.returncode == 1 and "No payload datapoint" in flat(unknown.stderr)

    proc = Launcher.mitmdump(ENTRY_SCRIPT, tmp_path / "conf",
                             options={"imnot_db": str(db), "imnot_partners": str(DATA / "partners")},
                             env={"IMNOT_ADMIN_KEY": None})
    with proc:
        proxy = Imnot(proc)
        assert proxy.request("GET", f"{ADMINCO}/adminco/orders").json() == {"offline": True}
        served = proxy.request("GET", f"{ADMINCO}/adminco/orders", session=sid)
        assert served.json() == {"offline": True}
    assert "Traceback" not in proc.log_text()

    assert offline_json("sessions", "delete", sid) == {"status": "ok", "session_id": sid}
    assert offline_json("sessions", "clear") == {"status": "ok", "deleted": 0}
