"""Bytes to text to the right format and back: the pre-check, decoding, dispatch.

The pre-check keeps the common case cheap: a body is parsed only when it may
hold a secret. It may when its bytes, lower-cased and without separators, hold a
fragment of a secret name or ``bearer``; when it holds a JWT's ``eyJ``, an escape
that could hide a name (``%``, a ``\\u`` or ``&#`` escape of printable ASCII) or a
NUL; when it is not UTF-8 (UTF-16, gzip, binary); when it is multipart; or when it
is one base64 string. Anything else has nothing a rule could find.

A body that may is decoded (BOM, charset, UTF-16, gzip and zlib opened; bytes that
are none of these read as Latin-1, which maps every byte to one character and
back), recognised by its content type or its first character, and redacted by
the JSON, XML, form or multipart module; what does not parse is redacted by
pattern. It is encoded back the way it came. Only a body compressed in a format
the standard library cannot open (zstd, or a declared brotli body) is replaced
whole by the placeholder: its content cannot be read, so it cannot be checked.
"""

from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import Callable

from . import form, jsonbody, multipart, xmlbody
from .context import MAX_DEPTH, Pass
from .names import squash
from .shapes import PLACEHOLDER, decode_base64, encode_base64, has_hint, redact_shapes
from .text import redact_pairs

_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
_CHARSET = re.compile(r"charset\s*=\s*\"?([A-Za-z0-9_.:-]+)", re.I)
_BASE64_START = re.compile(rb"\s*[A-Za-z0-9+/_-]{16}")
# Escapes of printable ASCII could spell a secret name or "eyJ"; "\u00eb" or "&#233;" cannot.
_ASCII_ESCAPE = re.compile(rb"\\u00[2-7][0-9A-Fa-f]")
_ASCII_CHAR_REF = re.compile(
    rb"&#(?:0*(?:3[2-9]|[4-9][0-9]|1[01][0-9]|12[0-7])|[xX]0*[2-7][0-9A-Fa-f]);")
_MAX_INFLATED = 16 * 1024 * 1024
OPAQUE = PLACEHOLDER.encode() + b" (compressed body not recorded)"
ZSTD = b"\x28\xb5\x2f\xfd"


def may_hold_secrets(data: bytes, names_may_name: Callable[[bytes], bool],
                     content_type: str = "") -> bool:
    """The cheap pre-check: False only when no rule could find anything in ``data``."""
    if b"%" in data or b"\x00" in data or b"eyJ" in data or data.startswith(b"--") \
            or (b"\\u" in data and _ASCII_ESCAPE.search(data)) \
            or (b"&#" in data and _ASCII_CHAR_REF.search(data)):
        return True
    if not data.isascii():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return True
    if names_may_name(squash(data)) or "multipart" in content_type.lower():
        return True
    return _BASE64_START.match(data) is not None and decode_base64(data.strip().decode()) \
        is not None


class Dispatch:
    """The ``Nested`` of every pass: strings and bodies to the module for their format."""

    def string(self, text: str, ctx: Pass) -> str:
        if len(text) < 5 or not self._may(text, ctx):
            return text
        if ctx.depth >= MAX_DEPTH:
            return redact_pairs(redact_shapes(text, ctx.secret), ctx)
        return self.document(text, "", ctx.deeper())

    def _may(self, text: str, ctx: Pass) -> bool:
        if has_hint(text) or "%" in text or "\\u" in text or "&#" in text:
            return True
        if ctx.names.may_name(squash(text.encode("utf-8", "surrogatepass"))):
            return True
        return len(text) >= 16 and decode_base64(text) is not None

    def document(self, text: str, kind: str, ctx: Pass) -> str:
        """Text of any format, by its content type (``kind``) or by its first character."""
        head = text.lstrip()[:1]
        if head in ("{", "[") or kind == "json":
            done = jsonbody.redact(text.lstrip("\ufeff"), ctx)
            if done is not None:
                return done if done != text.lstrip("\ufeff") else text
        if kind == "form":
            return form.redact(text, ctx)
        if head not in ("{", "[", "<") and (decoded := decode_base64(text.strip())):
            data, urlsafe = decoded
            new = self.body(data, "", ctx.deeper())
            if new == data:
                return text
            return encode_base64(new, urlsafe, text.strip().endswith("="))
        if kind != "xml" and head != "<" and form.looks_like_form(text):
            return form.redact(text, ctx)
        text = redact_shapes(text, ctx.secret)
        if kind == "xml" or xmlbody.has_tags(text):
            text = xmlbody.redact(text, ctx)
        return redact_pairs(text, ctx)

    def body(self, data: bytes, content_type: str, ctx: Pass) -> bytes:
        if not data or not may_hold_secrets(data, ctx.names.may_name, content_type):
            return data
        if ctx.depth > MAX_DEPTH:
            return PLACEHOLDER.encode()
        opened = _inflate(data)
        if opened is not None:
            inner, pack = opened
            if inner is None:
                return OPAQUE
            new = self.body(inner, content_type, ctx.deeper())
            return data if new == inner else pack(new)
        if data[:4] == ZSTD:
            return OPAQUE
        mark = multipart.boundary(content_type, data)
        if mark:
            return multipart.redact(data, mark, ctx)
        text, codec, bom = decode(data, content_type)
        new = self.document(text, _kind(content_type), ctx)
        if new == text and codec.startswith("utf-16") and not bom:
            text, codec = data.decode("latin-1"), "latin-1"  # the guess may be wrong
            new = self.document(text, _kind(content_type), ctx)
        if new == text:
            return data
        try:
            return bom + new.encode(codec)
        except UnicodeEncodeError:
            return bom + new.encode("utf-8")


def decode(data: bytes, content_type: str) -> tuple[str, str, bytes]:
    """The text of a body, the codec to encode it back with, and its BOM."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom):].decode(codec), codec, bom
            except UnicodeDecodeError:
                break
    m = _CHARSET.search(content_type)
    codecs = [m.group(1)] if m else []
    if b"\x00" in data and len(data) % 2 == 0:
        odd, even = data[1::2].count(0), data[0::2].count(0)
        if max(odd, even) * 5 > len(data) * 2 and min(odd, even) * 10 < len(data):
            codecs.append("utf-16-le" if odd > even else "utf-16-be")  # ASCII as UTF-16
    for codec in (*codecs, "utf-8"):
        try:
            return data.decode(codec), codec, b""
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode("latin-1"), "latin-1", b""


def _kind(content_type: str) -> str:
    low = content_type.lower()
    if "json" in low:
        return "json"
    if "form-urlencoded" in low:
        return "form"
    if "xml" in low:
        return "xml"
    return ""


def _inflate(data: bytes) -> tuple[bytes | None, Callable[[bytes], bytes]] | None:
    """gzip or zlib data opened, with how to pack a changed result the same way."""
    if data[:2] == b"\x1f\x8b":
        def pack(new: bytes) -> bytes:
            return gzip.compress(new, mtime=0)
        wbits = 31
    elif len(data) > 2 and data[0] == 0x78 and (data[0] * 256 + data[1]) % 31 == 0:
        pack = zlib.compress
        wbits = 15
    else:
        return None
    inflater = zlib.decompressobj(wbits)
    try:
        inner = inflater.decompress(data, _MAX_INFLATED)
    except zlib.error:
        return None
    if inflater.unconsumed_tail:
        return None, pack  # a bomb, or just too large to check
    return inner, pack
