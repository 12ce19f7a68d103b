"""The time, random, encoding and crypto functions and filters response templates call.

Every helper is a plain function of its arguments (the current time, counter and keys
are passed in by ``template_sandbox.py``), so each one is tested without rendering. A helper
given a value it cannot use raises ``HelperError`` with a message written for the
author of the partner file; rendering turns it into a ``TemplateRenderError``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import random
import re
import uuid as _uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import Any
from urllib.parse import quote
from urllib.parse import urlencode as _urlencode
from zoneinfo import ZoneInfo

from markupsafe import Markup

MAX_RANDOM_LENGTH = 4096
MAX_ALPHABET = 10_000
_RANDOM = random.SystemRandom()  # confirmation numbers should not be guessable
_NAMED_FORMATS = ("iso", "epoch", "epoch_ms", "date")


class HelperError(ValueError):
    """A helper was given a value it cannot use; the message names the value."""


def show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# --- time -----------------------------------------------------------------------------

_OFFSET = re.compile(r"\s*([+-]?)\s*((?:\d{1,7}\s*[wdhms]\s*)+)")
_OFFSET_PART = re.compile(r"(\d+)\s*([wdhms])")
_UNIT_SECONDS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_offset(offset: Any) -> timedelta:
    """``"+1d"``, ``"-2h30m"``, ``"+90s"``, ``"+1w"`` or a number of seconds; None is zero."""
    if offset is None or offset == "":
        return timedelta()
    if isinstance(offset, (int, float)) and not isinstance(offset, bool):
        seconds = float(offset)
    else:
        found = _OFFSET.fullmatch(offset) if isinstance(offset, str) else None
        if not found:
            raise HelperError(f"offset {show(offset)} is not like '+1d', '-2h30m', '+90s' "
                              "or '+1w' (units w, d, h, m, s)")
        seconds = sum(int(n) * _UNIT_SECONDS[u] for n, u in _OFFSET_PART.findall(found[2]))
        seconds = -seconds if found[1] == "-" else seconds
    if not math.isfinite(seconds) or abs(seconds) > 400 * 366 * 86400:
        raise HelperError(f"offset {show(offset)} is out of range")
    return timedelta(seconds=seconds)


@lru_cache(maxsize=128)
def zone(name: str) -> tzinfo:
    """``UTC``, an IANA name (``Europe/Paris``) or a fixed offset (``+05:30``)."""
    if name in ("UTC", "Z", "utc"):
        return UTC
    fixed = re.fullmatch(r"([+-])(\d{2}):?(\d{2})", name)
    if fixed:
        delta = timedelta(hours=int(fixed[2]), minutes=int(fixed[3]))
        if delta >= timedelta(hours=24):
            raise HelperError(f"time zone {name!r} is out of range")
        return timezone(-delta if fixed[1] == "-" else delta)
    try:
        return ZoneInfo(name)
    except (ValueError, OSError, LookupError):  # ZoneInfoNotFoundError is a KeyError
        raise HelperError(f"unknown time zone {show(name)} (use an IANA name such as "
                          "'Europe/Paris', 'UTC' or an offset such as '+02:00')") from None


def _tz(name: Any) -> tzinfo:
    if not isinstance(name, str):
        raise HelperError(f"time zone {show(name)} is not a name")
    return zone(name)


def format_time(moment: datetime, format: Any) -> Any:
    """``iso`` (RFC 3339, milliseconds, ``Z`` at UTC), ``epoch``, ``epoch_ms``, ``date``,
    or a strftime pattern. A naive ``moment`` is read as UTC."""
    if not isinstance(format, str):
        raise HelperError(f"time format {show(format)} is not text")
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    if format == "iso":
        text = aware.isoformat(timespec="milliseconds")
        return text[:-6] + "Z" if aware.utcoffset() == timedelta() else text
    if format == "epoch":
        return math.floor(aware.timestamp())
    if format == "epoch_ms":
        return math.floor(aware.timestamp() * 1000)
    if format == "date":
        return moment.date().isoformat()
    if "%" not in format:
        raise HelperError(f"unknown time format {show(format)} (use iso, epoch, epoch_ms, "
                          "date or a strftime pattern such as '%Y-%m-%d')")
    try:
        return moment.strftime(format)
    except (ValueError, UnicodeError) as e:
        raise HelperError(f"time format {show(format)}: {e}") from None


def now(epoch: float, format: Any = "iso", offset: Any = None, tz: Any = "UTC") -> Any:
    """The time ``epoch`` (from the render's clock) moved by ``offset``, shown in ``tz``."""
    try:
        moment = datetime.fromtimestamp(epoch, UTC) + parse_offset(offset)
        return format_time(moment.astimezone(_tz(tz)), format)
    except (OverflowError, OSError) as e:
        raise HelperError(f"time out of range: {e}") from None


_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")
_NUMBER = re.compile(r"-?\d{1,12}(\.\d{1,9})?")


def parse_when(value: Any) -> tuple[str, datetime]:
    """(kind, datetime) of an ISO date, an ISO date-time or an epoch number (seconds).
    kind is ``date``, ``datetime``, ``zulu`` (a date-time written with Z) or ``epoch``."""
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return "epoch", datetime.fromtimestamp(value, UTC)
        if isinstance(value, str):
            text = value.strip()
            if _NUMBER.fullmatch(text):
                return "epoch", datetime.fromtimestamp(float(text), UTC)
            if _DATE_ONLY.fullmatch(text):
                return "date", datetime.combine(date.fromisoformat(text), datetime.min.time())
            moment = datetime.fromisoformat(text)
            return ("zulu" if text.endswith(("Z", "z")) else "datetime"), moment
    except (ValueError, OverflowError, OSError):
        pass
    raise HelperError(f"{show(value)} is not an ISO date, an ISO date-time or an epoch number")


def date_add(value: Any, offset: Any) -> Any:
    """``value`` moved by ``offset``, written the way it came: a date stays a date
    (``2024-05-01`` + ``+3d`` is ``2024-05-04``), an epoch number stays a number."""
    kind, moment = parse_when(value)
    try:
        moved = moment + parse_offset(offset)
    except OverflowError:
        raise HelperError(f"{show(value)} {offset} is out of range") from None
    if kind == "date":
        return moved.date().isoformat()
    if kind == "epoch":
        seconds = moved.timestamp()
        return seconds if isinstance(value, float) else math.floor(seconds)
    text = moved.isoformat()
    return text[:-6] + "Z" if kind == "zulu" else text


def date_format(value: Any, format: Any = "iso", tz: Any = None) -> Any:
    """``value`` (date, date-time or epoch) in ``format`` (as ``now``), converted to ``tz``
    when one is given. Naive values are read as UTC."""
    kind, moment = parse_when(value)
    if tz is not None:
        aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        moment = aware.astimezone(_tz(tz))
    return format_time(moment, format)


def days_between(start: Any, end: Any) -> int:
    """Calendar days from ``start`` to ``end`` (negative when ``end`` is earlier), each taken
    as the date it names in its own offset: check-in 05-01, check-out 05-04 is 3."""
    return (parse_when(end)[1].date() - parse_when(start)[1].date()).days


# --- random ---------------------------------------------------------------------------

def uuid() -> str:
    """A random (version 4) UUID."""
    return str(_uuid.uuid4())


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise HelperError(f"{what} must be an integer, not {show(value)}")
    return value


def random_int(low: Any, high: Any) -> int:
    """A random integer from ``low`` to ``high``, both included."""
    low, high = _int(low, "random_int low"), _int(high, "random_int high")
    if low > high:
        raise HelperError(f"random_int: low {low} is above high {high}")
    return _RANDOM.randint(low, high)


@lru_cache(maxsize=64)
def expand_alphabet(spec: str) -> str:
    """``A-Za-z0-9`` expanded to its characters; a ``-`` first or last is itself."""
    chars: list[str] = []
    size = 0
    i = 0
    while i < len(spec):
        if i + 2 < len(spec) and spec[i + 1] == "-":
            low, high = ord(spec[i]), ord(spec[i + 2])
            if low > high:
                raise HelperError(f"alphabet range {spec[i:i + 3]!r} runs backwards")
            size += high - low + 1
            if size > MAX_ALPHABET:
                break
            chars.extend(map(chr, range(low, high + 1)))
            i += 3
        else:
            chars.append(spec[i])
            size += 1
            i += 1
    if size > MAX_ALPHABET:
        raise HelperError(f"alphabet {show(spec)} has more than {MAX_ALPHABET} characters")
    unique = "".join(dict.fromkeys(chars))
    if not unique:
        raise HelperError("alphabet is empty")
    return unique


def random_string(length: Any = 12, alphabet: Any = "A-Za-z0-9") -> str:
    """``length`` random characters from ``alphabet`` (ranges such as ``A-Z``)."""
    length = _int(length, "random_string length")
    if not 0 <= length <= MAX_RANDOM_LENGTH:
        raise HelperError(f"random_string length must be 0 to {MAX_RANDOM_LENGTH}, not {length}")
    if not isinstance(alphabet, str):
        raise HelperError(f"alphabet must be text, not {show(alphabet)}")
    return "".join(_RANDOM.choices(expand_alphabet(alphabet), k=length))


# --- encoding and crypto ----------------------------------------------------------------

def to_bytes(value: Any, what: str) -> bytes:
    """Text as UTF-8, bytes as they are, numbers/lists/dicts as compact JSON text."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    if value is None or isinstance(value, (bool, int, float, list, tuple, dict)):
        if value is None:
            raise HelperError(f"{what} needs a value, not None")
        try:
            text = json.dumps(value, separators=(",", ":"), ensure_ascii=False,
                              allow_nan=False)
        except (TypeError, ValueError) as e:
            raise HelperError(f"{what}: {e}") from None
        return text.encode("utf-8", "surrogatepass")
    raise HelperError(f"{what} needs text, not {type(value).__name__}")


def sha256(value: Any) -> str:
    """The SHA-256 of ``value`` (see ``to_bytes``), in hex."""
    return hashlib.sha256(to_bytes(value, "sha256")).hexdigest()


def hmac_sha256(value: Any, key: bytes) -> str:
    """The HMAC-SHA256 of ``value`` with ``key``, in hex."""
    return hmac.new(key, to_bytes(value, "hmac_sha256"), hashlib.sha256).hexdigest()


def b64encode(value: Any, urlsafe: bool = False) -> str:
    data = to_bytes(value, "b64encode")
    return (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(data).decode("ascii")


def b64decode(value: Any, urlsafe: bool = False) -> str:
    """Base64 (standard or URL-safe) back to text; bytes that are not UTF-8 become U+FFFD."""
    data = to_bytes(value, "b64decode").strip()
    data += b"=" * (-len(data) % 4)
    try:
        raw = (base64.urlsafe_b64decode if urlsafe else base64.b64decode)(data)
    except ValueError:
        raise HelperError(f"b64decode: {show(value)} is not base64") from None
    return raw.decode("utf-8", "replace")


def urlencode(value: Any) -> str:
    """Text percent-encoded for a URL or form (``/`` too); a mapping as ``a=1&b=2``."""
    if isinstance(value, Mapping):
        return _urlencode([(str(k), "" if v is None else str(v)) for k, v in value.items()])
    if value is None:
        return ""
    return quote(value if isinstance(value, (str, bytes)) else str(value), safe="")


def xml_escape(value: Any) -> Markup:
    """``& < > " '`` as XML entities. The result is marked safe: not escaped twice."""
    text = "" if value is None else str(value)
    return Markup(text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                  .replace('"', "&quot;").replace("'", "&apos;"))
