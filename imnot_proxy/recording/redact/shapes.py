"""Values that are secret by their shape, whatever they are called: JWTs, PEM private keys,
``Bearer``/``Basic`` credentials; and how to tell a base64 string worth decoding.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable

PLACEHOLDER = "REDACTED"

# A JWS (three parts) or JWE (five): the header is base64url JSON, so it starts "eyJ".
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}(?:\.[A-Za-z0-9_-]*){2,4}")
PEM_KEY = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE "
                     r"KEY-----|\Z)", re.S)
BEARER = re.compile(r"\b(?i:bearer)\s+(?=[A-Za-z0-9._~+/-]*[0-9._~+/-])"
                    r"([A-Za-z0-9._~+/-]{8,}=*)")
BASIC = re.compile(r"\b(?i:basic)\s+([A-Za-z0-9+/]{6,}={0,2})")
BASE64 = re.compile(r"[A-Za-z0-9+/_-]{16,}={0,2}")
# Cheap signs that one of the shapes may be present, checked before any regex runs.
SHAPE_HINTS = ("eyJ", "-----BEGIN", "earer", "asic ")


def has_hint(text: str) -> bool:
    return any(hint in text for hint in SHAPE_HINTS)


def redact_shapes(text: str, found: Callable[[str], None]) -> str:
    """``text`` with every JWT, private key and Bearer/Basic credential replaced."""
    if "eyJ" in text:
        text = JWT.sub(lambda m: _hit(m.group(0), found), text)
    if "-----BEGIN" in text:
        text = PEM_KEY.sub(lambda m: _hit(m.group(0), found), text)
    if "earer" in text or "EARER" in text:
        text = BEARER.sub(lambda m: _keep_scheme(m, found), text)
    if "asic " in text or "ASIC " in text:
        text = BASIC.sub(lambda m: _keep_scheme(m, found) if _is_login(m.group(1))
                         else m.group(0), text)
    return text


def _hit(value: str, found: Callable[[str], None]) -> str:
    found(value)
    return PLACEHOLDER


def _keep_scheme(match: re.Match[str], found: Callable[[str], None]) -> str:
    found(match.group(1))
    start = match.start(1) - match.start(0)
    return match.group(0)[:start] + PLACEHOLDER


def _is_login(value: str) -> bool:
    try:
        return b":" in base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False


def decode_base64(text: str) -> tuple[bytes, bool] | None:
    """The bytes of a string that is entirely base64 (standard or URL-safe), and whether it
    was URL-safe; None for anything else. Line breaks (MIME wraps at 76) are allowed."""
    if "\n" in text:
        text = "".join(text.split())
    if not BASE64.fullmatch(text):
        return None
    urlsafe = "-" in text or "_" in text
    body = text.rstrip("=")
    if len(body) % 4 == 1:
        return None
    try:
        data = base64.b64decode(body + "=" * (-len(body) % 4),
                                altchars=b"-_" if urlsafe else None, validate=True)
    except (binascii.Error, ValueError):
        return None
    return data, urlsafe


def encode_base64(data: bytes, urlsafe: bool, padded: bool) -> str:
    text = (base64.urlsafe_b64encode(data) if urlsafe else base64.b64encode(data)).decode()
    return text if padded else text.rstrip("=")
