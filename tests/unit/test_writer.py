"""Recorded exchanges go to disk from a writer thread: batched, flushed on demand and on
close, and a write that fails stops record-mode traffic instead of letting it through."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from mitmproxy import http

from imnot_proxy.addon import ImnotProxy
from imnot_proxy.recording.exchange import Exchange
from imnot_proxy.recording.har import read_har
from imnot_proxy.recording.recorder import Recorder
from imnot_proxy.recording.redact import Redactor
from imnot_proxy.recording.writer import QueuedRecorder, RecordingFailed

from .test_addon import make_flow


def exchange(n: int) -> Exchange:
    return Exchange(float(n), "GET", f"https://api.partner.example/items/{n}?token=s3cr3t-{n}",
                    (("Authorization", f"Bearer tok-{n}"),), b"", 200,
                    (("Content-Type", "application/json"),), json.dumps({"n": n}).encode())


def test_every_queued_exchange_is_written_redacted_once_flushed(tmp_path: Path) -> None:
    writer = QueuedRecorder(Recorder(tmp_path, Redactor.default()), capacity=8)
    for n in range(500):
        writer.submit("acme", exchange(n))
    writer.flush()
    [har] = writer.files()
    entries = read_har(har)
    assert [e.url.split("/items/")[1].split("?")[0] for e in entries] == [
        str(n) for n in range(500)]
    text = har.read_text()
    assert "tok-" not in text and "s3cr3t" not in text
    json.loads(text)
    writer.close()


def test_close_writes_what_is_queued(tmp_path: Path) -> None:
    writer = QueuedRecorder(Recorder(tmp_path, Redactor.default()))
    for n in range(50):
        writer.submit("a" if n % 2 else "b", exchange(n))
    writer.close()
    assert sorted(len(read_har(p)) for p in tmp_path.glob("*.har")) == [25, 25]


def test_a_failed_write_is_reported_once_and_refuses_more(tmp_path: Path, caplog) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    writer = QueuedRecorder(Recorder(blocked / "recordings", Redactor.default()))
    writer.submit("acme", exchange(1))
    writer.submit("acme", exchange(2))
    writer.flush()
    assert writer.failure is not None and "cannot write the recording of acme" in writer.failure
    with pytest.raises(RecordingFailed):
        writer.submit("acme", exchange(3))
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "refused from now on" in errors[0].getMessage()
    writer.close()


async def test_the_proxy_refuses_record_mode_traffic_it_cannot_record(
        partners_dir: Path, tmp_path: Path, addon_context) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    addon = ImnotProxy()
    with addon_context(addon) as tctx:
        tctx.configure(addon, imnot_partners=[str(partners_dir)],
                       imnot_db=str(tmp_path / "imnot.db"),
                       imnot_recordings=str(blocked / "rec"),
                       imnot_record_hosts=["api.new.example"])
        first = make_flow("GET", "http://api.new.example/x")
        addon.request(first)
        assert first.response is None  # forwarded
        first.response = http.Response.make(200, b"{}")
        addon.response(first)
        addon.recording.flush()
        second = make_flow("GET", "http://api.new.example/y")
        addon.request(second)
        assert second.response is not None and second.response.status_code == 502
        assert b"recording failed" in second.response.content
        assert second.metadata["imnot"]["kind"] == "error"
        addon.done()


# --- the child process ---------------------------------------------------------------------


def captured(n: int):
    from mitmproxy.test import tflow

    from imnot_proxy.recording.capture import capture

    flow = tflow.tflow(req=http.Request.make(
        "GET", f"http://api.partner.example/items/{n}", b"", {"Authorization": f"Bearer tok-{n}"}))
    flow.response = http.Response.make(200, json.dumps({"n": n}).encode(),
                                       {"Content-Type": "application/json"})
    return capture(flow)


def test_a_child_process_writes_captured_flows(tmp_path: Path) -> None:
    from imnot_proxy.recording.sinks import ProcessSink

    writer = QueuedRecorder(ProcessSink(tmp_path, (), ()))
    for n in range(300):
        writer.submit("acme", captured(n))
    writer.flush()
    assert writer.failure is None
    [har] = writer.files()
    entries = read_har(har)
    assert [e.url.rsplit("/", 1)[1] for e in entries] == [str(n) for n in range(300)]
    assert "tok-" not in har.read_text()
    writer.close()


def test_a_child_that_cannot_write_or_dies_stops_recording(tmp_path: Path) -> None:
    from imnot_proxy.recording.sinks import ProcessSink

    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    writer = QueuedRecorder(ProcessSink(blocked / "rec", (), ()))
    writer.submit("acme", captured(1))
    writer.flush()
    assert writer.failure is not None and "cannot write the recording of acme" in writer.failure
    writer.close()

    sink = ProcessSink(tmp_path / "rec", (), ())
    writer = QueuedRecorder(sink)
    writer.submit("acme", captured(1))
    writer.flush()
    sink._child.kill()  # noqa: SLF001 - the crash under test
    sink._child.wait()  # noqa: SLF001
    writer.submit("acme", captured(2))
    writer.flush()
    assert writer.failure is not None and "writer process exited" in writer.failure
    writer.close()


def test_without_a_usable_interpreter_the_thread_records(tmp_path: Path, monkeypatch,
                                                         caplog) -> None:
    from imnot_proxy.recording import sinks

    monkeypatch.setattr(sinks.os, "access", lambda path, mode: False)
    sink = sinks.ProcessSink(tmp_path, (), ())
    writer = QueuedRecorder(sink)
    writer.submit("acme", captured(1))
    writer.flush()
    assert writer.failure is None and sink._child is None  # noqa: SLF001
    assert len(read_har(writer.files()[0])) == 1
    assert any("no recording writer process (this user cannot run" in r.getMessage()
               for r in caplog.records)
    writer.close()


def test_the_pipe_carries_plain_tuples_and_the_child_writes_what_the_thread_would(
        tmp_path: Path, monkeypatch) -> None:
    from imnot_proxy.recording import sinks

    sent: list = []
    send = sinks.send_frame
    monkeypatch.setattr(sinks, "send_frame", lambda stream, value: (sent.append(value),
                                                                     send(stream, value)))
    batch = [("acme", captured(n)) for n in range(5)]
    child = sinks.ProcessSink(tmp_path / "child", (), ())
    child.write(batch)
    child.close()
    [(kind, items)] = [frame for frame in sent if frame[0] == "batch"]
    assert all(type(item) is tuple for _, item in items)  # not the named tuple: cheaper
    local = sinks.LocalSink(Recorder(tmp_path / "thread", Redactor.default()))
    local.write(batch)
    [by_child], [by_thread] = child.files(), local.files()
    local.close()
    assert read_har(by_child) == read_har(by_thread)
    assert sinks.as_exchanges([(p, tuple(c)) for p, c in batch]) == sinks.as_exchanges(batch)


def test_the_child_runs_at_a_lower_priority_than_the_proxy(tmp_path: Path) -> None:
    import os

    from imnot_proxy.recording.sinks import ProcessSink
    from imnot_proxy.recording.writer_child import NICE

    sink = ProcessSink(tmp_path, (), ())
    sink.write([("acme", captured(1))])
    try:
        ours = os.getpriority(os.PRIO_PROCESS, 0)
        assert os.getpriority(os.PRIO_PROCESS, sink._child.pid) == min(19, ours + NICE)  # noqa: SLF001
    finally:
        sink.close()
