"""Time stamps in recorded answers: which values are the moment of the answer, in which
format, and the ``now()`` template that writes the same format.

A value is a time stamp when it is an ISO date-time (with or without a fraction of a
second, ``Z`` or an offset), an ISO date, or an epoch number of seconds or
milliseconds (a JSON number or a string of digits). It *tracks* the recording when it
lies within ``NEAR_SECONDS`` of the moment its answer was recorded, and the answers
recorded at one place (a JSON path, or an XML attribute or element name) do not all
carry the same text while the clock moved by more than the format's resolution:
those stay literal (``constant_places``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

NEAR_SECONDS = 120
DAY = 86400.0
EPOCH_FIRST, EPOCH_LAST = 946_684_800, 4_102_444_800  # 2000-01-01 .. 2100-01-01
ISO_RE = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})?$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DIGITS_RE = re.compile(r"^\d{10}(\d{3})?$")
# An ISO date-time or date as an XML attribute value or an element's whole text.
XML_STAMP_RE = re.compile(
    r'(?:(?P<attr>[\w:.-]+)\s*=\s*")(?P<a>\d{4}-\d{2}-\d{2}(?:T[\d:.]+(?:Z|[+-]\d{2}:\d{2})?)?)(?=")'
    r"|(?:<(?P<elem>[\w:.-]+)(?:\s[^<>]*)?>)(?P<e>\d{4}-\d{2}-\d{2}"
    r"(?:T[\d:.]+(?:Z|[+-]\d{2}:\d{2})?)?)(?=<)")

Place = tuple[Any, ...]


@dataclass(frozen=True)
class Stamp:
    moment: float  # epoch seconds of the first instant the text stands for
    resolution: float  # seconds one step of the format stands for
    expression: str  # a template writing now() in the recorded format

    def near(self, when: float) -> bool:
        return self.moment - NEAR_SECONDS <= when <= self.moment + self.resolution + NEAR_SECONDS


def parse(value: Any) -> Stamp | None:
    """The time stamp a recorded value is, or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return _epoch(value, value)
    if isinstance(value, float):
        if EPOCH_FIRST <= value <= EPOCH_LAST and value != int(value):
            return Stamp(value, 0.001, "{{ now('epoch_ms') / 1000 }}")
        return None
    if not isinstance(value, str) or len(value) > 40:
        return None
    if DIGITS_RE.match(value):
        return _epoch(int(value), value)
    if DATE_RE.match(value):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            return None
        moment = datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
        return Stamp(moment, DAY, "{{ now('date') }}")
    m = ISO_RE.match(value)
    if m is None:
        return None
    moment = iso_moment(m.group(1), m.group(3))
    if moment is None:
        return None
    fraction = m.group(2) or ""
    moment += float(fraction or 0)
    resolution = 10 ** -(len(fraction) - 1) if fraction else 1.0
    return Stamp(moment, resolution, iso_expression(len(fraction) - 1 if fraction else 0,
                                                    m.group(3) or ""))


def fresh(value: Any, started: float) -> Stamp | None:
    """The time stamp a value is when it is the moment of an answer recorded at
    ``started``."""
    stamp = parse(value)
    return stamp if stamp is not None and stamp.near(started) else None


def _epoch(number: int, value: int | str) -> Stamp | None:
    text = str(number)
    if len(text) == 13 and EPOCH_FIRST <= number / 1000 <= EPOCH_LAST:
        seconds, resolution, expression = number / 1000, 0.001, "now('epoch_ms')"
    elif len(text) == 10 and EPOCH_FIRST <= number <= EPOCH_LAST:
        seconds, resolution, expression = float(number), 1.0, "now('epoch')"
    else:
        return None
    if isinstance(value, str):
        expression += " | string"
    return Stamp(seconds, resolution, "{{ " + expression + " }}")


def iso_moment(stamp: str, zone: str | None) -> float | None:
    try:
        moment = datetime.fromisoformat(stamp + ("+00:00" if zone in (None, "", "Z") else zone))
    except ValueError:
        return None
    return moment.astimezone(UTC).timestamp()


def iso_expression(digits: int, zone: str) -> str:
    """``now()`` writing an ISO date-time with ``digits`` of a second and ``zone`` (``Z``,
    ``+02:00`` or nothing) as recorded."""
    if digits == 3 and zone == "Z":
        return "{{ now() }}"
    tz = "" if zone in ("", "Z", "+00:00", "-00:00") else f", tz={zone!r}"
    base = "%Y-%m-%dT%H:%M:%S"
    if digits in (0, 6):
        pattern = base + (".%f" if digits else "") + zone
        return "{{ now(" + repr(pattern) + tz + ") }}"
    # strftime writes six digits: cut them to the recorded ones, the zone after
    return "{{ now(" + repr(base + ".%f") + tz + ")[:" + str(20 + digits) + "] }}" + zone


# --- places --------------------------------------------------------------------------------


def json_places(value: Any, place: Place = ()) -> Iterator[tuple[Place, Any]]:
    """(place, leaf) of a JSON value; list items share their list's place (``[]``)."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield from json_places(child, (*place, key))
    elif isinstance(value, list):
        for child in value:
            yield from json_places(child, (*place, "[]"))
    else:
        yield place, value


def xml_places(text: str) -> Iterator[tuple[Place, str, re.Match]]:
    """(place, value, match) of each ISO stamp in an XML text: the attribute's or the
    element's name is its place."""
    for m in XML_STAMP_RE.finditer(text):
        if m.group("a") is not None:
            yield ("@" + m.group("attr").rpartition(":")[2],), m.group("a"), m
        else:
            yield (m.group("elem").rpartition(":")[2],), m.group("e"), m


def constant_places(observations: Iterable[tuple[Any, float]]) -> frozenset[Place]:
    """Places whose time stamps kept one text while the clock moved past the format's
    resolution. ``observations``: (a JSON value or an XML text, the moment it was
    recorded)."""
    seen: dict[Place, tuple[set[str], float, float, float]] = {}
    for body, started in observations:
        if isinstance(body, str) and body.lstrip()[:1] == "<":
            found: Iterable[tuple[Place, Any]] = ((p, v) for p, v, _ in xml_places(body))
        elif isinstance(body, dict | list):
            found = json_places(body)
        else:
            continue
        for place, leaf in found:
            stamp = parse(leaf)
            if stamp is None:
                continue
            texts, first, last, resolution = seen.get(place, (set(), started, started, 0.0))
            texts.add(str(leaf))
            seen[place] = (texts, min(first, started), max(last, started),
                           max(resolution, stamp.resolution))
    return frozenset(place for place, (texts, first, last, resolution) in seen.items()
                     if len(texts) == 1 and last - first >= resolution)


def template_json(value: Any, started: float, constant: frozenset[Place] = frozenset(),
                  place: Place = ()) -> tuple[Any, int]:
    """A JSON value with each fresh time stamp (not at a constant place) as a ``now()``
    template, and how many there were."""
    if isinstance(value, dict):
        count = 0
        out = {}
        for key, child in value.items():
            out[key], n = template_json(child, started, constant, (*place, key))
            count += n
        return out, count
    if isinstance(value, list):
        items = [template_json(child, started, constant, (*place, "[]")) for child in value]
        return [v for v, _ in items], sum(n for _, n in items)
    stamp = fresh(value, started)
    if stamp is None or place in constant:
        return value, 0
    return stamp.expression, 1


def template_xml(text: str, started: float, constant: frozenset[Place] = frozenset()
                 ) -> tuple[str, int]:
    """An XML text with each fresh ISO time stamp (not at a constant place) as ``now()``."""
    count = 0
    out: list[str] = []
    at = 0
    for place, value, m in xml_places(text):
        stamp = fresh(value, started)
        if stamp is None or place in constant:
            continue
        group = "a" if m.group("a") is not None else "e"
        out += [text[at:m.start(group)], stamp.expression]
        at = m.end(group)
        count += 1
    return "".join(out) + text[at:], count
