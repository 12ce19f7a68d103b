"""``multipart/*`` bodies, part by part, on the bytes (files stay as they were).

A part named like a secret (``Content-Disposition: form-data; name="password"``,
``name*=`` too) has its content replaced; secret part headers are replaced; every
other part is redacted as a body of its own content type, after undoing a
``base64`` or ``quoted-printable`` transfer encoding. The boundary comes from the
content type or, when that lacks it, from the body's first line.
"""

from __future__ import annotations

import base64
import binascii
import quopri
import re
from urllib.parse import unquote

from .context import Pass
from .shapes import PLACEHOLDER

_BOUNDARY = re.compile(r"""boundary\s*=\s*(?:"([^"]+)"|([^\s;,]+))""", re.I)
_FIRST_LINE = re.compile(rb"\s*--([!-~][ -~]{0,69}?)\r?\n")
_NAME = re.compile(r"""\bname(\*)?\s*=\s*(?:"([^"]*)"|([^\s;]+))""", re.I)


def boundary(content_type: str, data: bytes) -> bytes | None:
    m = _BOUNDARY.search(content_type) if "multipart" in content_type.lower() else None
    if m:
        return (m.group(1) or m.group(2)).encode("latin-1", "replace")
    first = _FIRST_LINE.match(data)
    return first.group(1).rstrip() if first else None


def redact(data: bytes, mark: bytes, ctx: Pass) -> bytes:
    delimiter = b"--" + mark
    chunks = data.split(delimiter)
    for i in range(1, len(chunks)):
        chunk = chunks[i]
        if chunk.startswith(b"--"):  # the closing delimiter; the rest is the epilogue
            chunks[i] = chunk[:2] + ctx.body(chunk[2:], "text/plain")
            break
        chunks[i] = _part(chunk, ctx)
    chunks[0] = ctx.body(chunks[0], "text/plain") if chunks[0].strip() else chunks[0]
    return delimiter.join(chunks)


def _part(chunk: bytes, ctx: Pass) -> bytes:
    newline = b"\r\n" if b"\r\n\r\n" in chunk else b"\n"
    head, sep, body = chunk.partition(newline * 2)
    if not sep:
        return ctx.body(chunk, "text/plain")
    tail = newline if body.endswith(newline) else b""
    content = body[:len(body) - len(tail)]
    headers = head.decode("latin-1").split(newline.decode())
    ctype, encoding, secret = "", "", False
    for n, line in enumerate(headers):
        key, colon, value = line.partition(":")
        key = key.strip().lower()
        if not colon:
            continue
        if key == "content-disposition":
            secret = any(ctx.names.field(_decoded_name(m)) for m in _NAME.finditer(value))
        elif key == "content-type":
            ctype = value.strip()
        elif key == "content-transfer-encoding":
            encoding = value.strip().lower()
        elif ctx.names.header(key) and value.strip() and value.strip() != PLACEHOLDER:
            ctx.secret(value.strip())
            headers[n] = f"{line[:len(line) - len(value)]} {PLACEHOLDER}"
    head = newline.decode().join(headers).encode("latin-1")
    if secret:
        if content.strip():
            ctx.secret(_decode(content, encoding).decode("utf-8", "replace").strip())
            content = PLACEHOLDER.encode()
    elif encoding in ("base64", "quoted-printable"):
        inner = _decode(content, encoding)
        new = ctx.body(inner, ctype)
        if new != inner:
            content = (base64.encodebytes(new) if encoding == "base64"
                       else quopri.encodestring(new)).rstrip(b"\n")
    else:
        content = ctx.body(content, ctype)
    return head + sep + content + tail


def _decoded_name(m: re.Match[str]) -> str:
    name = m.group(2) if m.group(2) is not None else (m.group(3) or "")
    if m.group(1):  # RFC 2231: name*=utf-8''pass%77ord
        name = unquote(name.rpartition("'")[2])
    return name


def _decode(content: bytes, encoding: str) -> bytes:
    try:
        if encoding == "base64":
            return base64.b64decode(content)
        if encoding == "quoted-printable":
            return quopri.decodestring(content)
    except (binascii.Error, ValueError):
        pass
    return content
