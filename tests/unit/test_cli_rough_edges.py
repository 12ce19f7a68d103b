"""What a new user meets first: taken ports, mitmweb's columns, the log, record mode's notice,
``init`` and ``generate`` twice, and ``routes`` without the admin rows."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from mitmproxy import optmanager

from imnot_proxy import cli
from imnot_proxy.cli import preflight
from imnot_proxy.cli.start import start_argv
from imnot_proxy.listening import CONNECTION_LOGGER, quiet_connections

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def listening() -> Iterator[int]:
    """A port on 127.0.0.1 that something already listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def free() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_taken_port_is_one_line_naming_the_flag_and_exit_1(listening, capsys):
    assert cli.main(["start", "--port", str(listening)]) == 1
    out, err = capsys.readouterr()
    assert err.strip() == (f"imnot-proxy: port {listening} on 127.0.0.1 is already in use; "
                           "choose another with --port")
    assert "listening" not in out and "--mode" not in err


def test_a_taken_admin_port_names_its_flag(listening, capsys):
    assert cli.main(["start", "--port", str(free()), "--admin-port", str(listening)]) == 1
    assert "choose another with --admin-port" in capsys.readouterr().err


@pytest.mark.parametrize("form", [["--listen-port", "{port}"], ["-p", "{port}"], ["-p{port}"],
                                  ["--listen-port={port}"], ["--set", "listen_port={port}"],
                                  ["--set=listen_port={port}"]])
def test_a_taken_port_given_after_the_double_dash_is_found_too(listening, capsys, form):
    passed = [arg.format(port=listening) for arg in form]
    assert cli.main(["start", "--", *passed]) == 1
    out, err = capsys.readouterr()
    assert f"port {listening} on 127.0.0.1 is already in use" in err
    assert "listening" not in out


@pytest.mark.parametrize(("extra", "where"), [
    ([], ("127.0.0.1", 8080)),
    (["-p", "9001"], ("127.0.0.1", 9001)),
    (["--set", "listen_port=9002", "--listen-port", "9003"], ("127.0.0.1", 9003)),
    (["--listen-port", "9003", "--set", "listen_port=9002"], ("127.0.0.1", 9003)),  # flags win
    (["-p", "9004", "-p9005"], ("127.0.0.1", 9005)),  # the last flag wins
    (["--listen-host", "0.0.0.0", "--set", "imnot_watch=false"], ("0.0.0.0", 8080)),
    (["--set", "listen_host=::1"], ("::1", 8080)),
])
def test_the_address_mitmproxy_will_use_is_taken_from_the_double_dash(extra, where):
    parsed = cli.build_parser().parse_args(["start"])
    preflight.follow_listen_address(parsed, extra)
    assert (parsed.host, parsed.port) == where
    line = start_argv(parsed, extra)
    assert line[line.index("--listen-port") + 1] == str(where[1])


@pytest.mark.parametrize("port", ["http", "0", "70000"])
def test_a_port_after_the_double_dash_that_is_not_one_is_refused(capsys, port):
    assert cli.main(["start", "--", "--listen-port", port]) == 2
    assert capsys.readouterr().err.strip() == (
        f"imnot-proxy: the listening port after -- must be a number from 1 to 65535, not "
        f"{port!r} (or give it with --port)")


def test_free_ports_are_not_taken():
    assert not preflight.port_taken("127.0.0.1", free())


def parse(args: Sequence[str]) -> list[str]:
    parsed = cli.build_parser().parse_args(["start", "--partners", "partners", *args])
    return start_argv(parsed, [])


def web_columns(line: list[str]) -> list[str]:
    """What mitmweb makes of the command line's web_columns settings."""
    options = optmanager.OptManager()
    options.add_option("web_columns", Sequence[str], ["tls"], "")
    options.set(*[line[i + 1] for i, t in enumerate(line)
                  if t == "--set" and line[i + 1].startswith("web_columns=")])
    return list(options.web_columns)


def test_mitmweb_shows_the_comment_column():
    assert web_columns(parse(["--web"])) == list(preflight.WEB_COLUMNS)
    assert "comment" in preflight.WEB_COLUMNS
    assert not [t for t in parse([]) if t.startswith("web_columns")]  # the lean engine: none


def test_columns_the_user_chose_are_kept():
    parsed = cli.build_parser().parse_args(["start", "--web"])
    line = start_argv(parsed, ["--set", "web_columns=path"])
    assert web_columns(line) == ["path"]


@pytest.mark.parametrize(("verbose", "level"), [(False, logging.WARNING), (True, logging.DEBUG)])
def test_connection_lines_only_with_v(verbose, level):
    logger = logging.getLogger(CONNECTION_LOGGER)
    before = logger.level
    try:
        quiet_connections(verbose)
        assert logger.level == level
    finally:
        logger.setLevel(before)


def notice(*args: str, extra: Sequence[str] = ()) -> str | None:
    parsed = cli.build_parser().parse_args(["start", *args])
    return preflight.record_notice(parsed, extra, "/srv/partners")


def test_record_mode_says_what_where_and_that_secrets_are_redacted():
    text = notice("--record")
    assert text is not None
    assert text.startswith("record mode: requests for the partner files' hosts go to the real")
    assert "HAR file in /srv/recordings/" in text
    assert "Secrets are redacted before anything is written" in text
    assert "imnot-proxy record to-yaml" in text
    hosts = notice("--record-host", "api.x.test", extra=["--set", "imnot_recordings=/tmp/r"])
    assert hosts.startswith("recording api.x.test: their requests go to the real servers")
    assert "HAR file in /tmp/r/" in hosts
    assert notice(extra=["--set", "imnot_mode=record"]).startswith("record mode:")
    assert notice() is None and notice(extra=["--set", "imnot_mode=mock"]) is None


def test_init_twice_names_force_and_force_rewrites_the_examples(tmp_path, capsys):
    assert cli.main(["init", "--dir", str(tmp_path)]) == 0
    example = tmp_path / "partners" / "staylink" / "partner.yaml"
    mine = tmp_path / "partners" / "mine.yaml"
    mine.write_text("partner: mine\n")
    example.write_text("edited")
    capsys.readouterr()
    assert cli.main(["init", "--dir", str(tmp_path)]) == 1
    assert "--force" in capsys.readouterr().err
    assert example.read_text() == "edited"
    assert cli.main(["init", "--dir", str(tmp_path), "--force"]) == 0
    assert example.read_text() != "edited"
    assert mine.read_text() == "partner: mine\n"


def test_generate_twice_names_the_force_flag(tmp_path, capsys):
    partners = tmp_path / "partners"
    partners.mkdir()
    source = tmp_path / "acme.yaml"
    source.write_text((REPO / "tests" / "e2e" / "partners" / "hello" / "acme.yaml").read_text())
    args = ["generate", "--file", str(source), "--partners-dir", str(partners)]
    assert cli.main(args) == 0
    capsys.readouterr()
    assert cli.main(args) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"partner 'acme' already exists in {partners}; run again with --force" in err
    assert "Use force" not in err
    assert cli.main([*args, "--force"]) == 0


def test_routes_leave_the_admin_rows_to_admin(capsys):
    assert cli.main(["routes", "--json", str(REPO / "partners")]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and all(row["pattern"] != "admin" for row in rows)
    assert cli.main(["routes", str(REPO / "partners")]) == 0
    assert "listed with --admin" in capsys.readouterr().out
    assert cli.main(["routes", "--json", "--admin", str(REPO / "partners")]) == 0
    assert any(row["pattern"] == "admin" for row in json.loads(capsys.readouterr().out))
