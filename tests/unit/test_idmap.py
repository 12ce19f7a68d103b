"""Ids given out on the other side replace the recorded ones in later requests."""

from __future__ import annotations

import json

from imnot_proxy.recording.compare import Observed
from imnot_proxy.recording.exchange import Exchange
from imnot_proxy.recording.idmap import IdMap, later_use

UUID_A = "3f2a9c1e-7b4d-4e8a-9c2f-1a2b3c4d5e6f"
UUID_B = "9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"


def ex(method: str, url: str, body: object = b"", headers=()) -> Exchange:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Exchange(0.0, method, url, tuple(headers), data, 200)


def always(value: str) -> bool:
    return True


def never(value: str) -> bool:
    return False


def test_location_segments_pair_up() -> None:
    ids = IdMap()
    ids.learn(Observed(202, (("Location", f"/jobs/{UUID_A}"),)),
              Observed(202, (("Location", f"https://h.example/jobs/{UUID_B}"),)), never)
    assert ids.values == {UUID_A: UUID_B}
    url, _, _ = ids.request(ex("GET", f"https://h.example/jobs/{UUID_A}/status?job={UUID_A}"))
    assert url == f"https://h.example/jobs/{UUID_B}/status?job={UUID_B}"


def test_body_values_pair_by_position_when_used_again_or_id_shaped() -> None:
    ids = IdMap()
    recorded = Observed(200, (), json.dumps({"jobId": "J-100", "n": 3, "count": 5,
                                             "nested": {"ref": 12}}).encode())
    other = Observed(200, (), json.dumps({"jobId": "M-7", "n": 4, "count": 9,
                                          "nested": {"ref": 99}}).encode())
    ids.learn(recorded, other, always)
    # counts are not ids, even when the number shows up again; a field named like an id is
    assert ids.values == {"J-100": "M-7", "12": "99"}
    ids = IdMap()
    ids.learn(recorded, other, never)
    assert ids.values == {"12": "99"}


def test_request_bodies_and_headers_are_rewritten_as_values() -> None:
    ids = IdMap()
    ids.values = {"J-100": "M-7", "12": "abc"}
    url, headers, body = ids.request(ex(
        "POST", "https://h.example/x", {"job": "J-100", "ref": 12, "text": "about J-100"},
        headers=[("X-Job", "J-100"), ("Content-Length", "99"), ("Host", "J-100")]))
    assert json.loads(body) == {"job": "M-7", "ref": "abc", "text": "about M-7"}
    assert dict(headers) == {"X-Job": "M-7", "Content-Length": str(len(body)), "Host": "J-100"}
    assert url == "https://h.example/x"


def test_short_values_count_as_used_again_only_as_whole_tokens() -> None:
    exchanges = [ex("GET", "https://h.example/a"), ex("GET", "https://h.example/a?cursor=c-2"),
                 ex("GET", "https://h.example/abc-22")]
    wanted = later_use(exchanges)(0)
    assert wanted("c-2") and not wanted("c-22x") and not wanted("b")
    assert not later_use(exchanges)(1)("c-2")
