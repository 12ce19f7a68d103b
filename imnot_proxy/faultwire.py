"""The bytes of an answer sent badly: a truncated body, a malformed chunk, a slow body.

``script`` turns a mock's answer and an ``Injection`` into the steps the local fault server
plays (``faultserver.py``): wait so long, send these bytes, and at the end close. mitmproxy
reads them as the response of a real server and streams them on to the client, so the
client sees what a misbehaving partner would send through the proxy:

- truncated: the head promises ``Content-Length: N`` and fewer bytes follow before the close;
- malformed chunk: ``Transfer-Encoding: chunked``, one good chunk, then a chunk whose size
  line is not hexadecimal, then the close. mitmproxy would frame the bytes as chunks itself;
  ``raw_chunks`` tells the glue to let them through unframed;
- slow body: the body in pieces of ``bytes``, ``every`` seconds apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from .messages import MockResponse

REASON = b"Imnot Fault"  # mitmproxy forwards the reason phrase the client gets from the mock
BAD_CHUNK = b"zz-not-hex\r\nthis is not a chunk\r\n"
FRAMING = (b"content-length", b"transfer-encoding")


@dataclass(frozen=True)
class Script:
    """What the fault server sends: ``steps`` of (seconds to wait first, bytes)."""

    steps: tuple[tuple[float, bytes], ...]
    raw_chunks: bool = False  # the body bytes carry their own (broken) chunk framing


def script(response: MockResponse, reason: bytes, kind: str, *, cut: int | None = None,
           dribble: tuple[int, float] | None = None) -> Script:
    """The steps for ``kind`` (``truncated``, ``malformed_chunk`` or ``latency`` with a
    ``dribble``) applied to ``response``; ``cut``: body bytes that get through."""
    body = response.body
    fields = [(k, v) for k, v in response.wire_headers if k.lower() not in FRAMING]
    if kind == "truncated":
        sent = body[:_cut(body, cut)]
        promised = max(len(body), len(sent) + 1)
        fields.append((b"content-length", str(promised).encode()))
        return Script(_head_and_body(response.status, reason, fields, sent, dribble))
    if kind == "malformed_chunk":
        good = body[:_cut(body, cut)]
        raw = (b"%x\r\n%s\r\n" % (len(good), good) if good else b"") + BAD_CHUNK
        fields.append((b"transfer-encoding", b"chunked"))
        # to mitmproxy, the raw bytes travel as one valid chunk; the glue then sends them as
        # they are, so the client meets the broken size line
        wrapped = b"%x\r\n%s\r\n0\r\n\r\n" % (len(raw), raw)
        return Script(_head_and_body(response.status, reason, fields, wrapped, None),
                      raw_chunks=True)
    fields.append((b"content-length", str(len(body)).encode()))
    return Script(_head_and_body(response.status, reason, fields, body, dribble))


def _cut(body: bytes, cut: int | None) -> int:
    return len(body) // 2 if cut is None else min(cut, len(body))


def _head_and_body(status: int, reason: bytes, fields: list[tuple[bytes, bytes]], body: bytes,
                   dribble: tuple[int, float] | None) -> tuple[tuple[float, bytes], ...]:
    head = b"HTTP/1.1 %d %s\r\n" % (status, reason or REASON)
    head += b"".join(b"%s: %s\r\n" % (k, v) for k, v in fields) + b"\r\n"
    if dribble is None:
        return ((0.0, head + body),)
    size, every = dribble
    pieces = [body[i:i + size] for i in range(0, len(body), size)]
    return ((0.0, head),) + tuple(((every if i else 0.0), piece) for i, piece in enumerate(pieces))
