"""Payload files shipped with a partner become its global payloads when the store has none.

``partners/<name>/payloads/<datapoint>.<ext>`` is a datapoint's default payload and
``payloads/<datapoint>/<payload name>.<ext>`` one of its named payloads (written by
record mode, or by hand), so that a fresh checkout answers at once; an upload always
wins over the file. ``.json`` files are JSON (checked and stored compactly); ``.xml``,
``.txt``, ``.csv`` and ``.html`` files are stored byte for byte with their content type.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

from .loader import PartnerSource
from .messages import encode_json
from .schema import PAYLOAD_PATTERNS
from .store import Store

logger = logging.getLogger(__name__)

CONTENT_TYPES = {
    ".json": "application/json",
    ".xml": "application/xml",
    ".txt": "text/plain; charset=utf-8",
    ".csv": "text/csv; charset=utf-8",
    ".html": "text/html; charset=utf-8",
}


def payload_folder(partner_file: Path) -> Path:
    """``<dir>/payloads`` beside ``<dir>/partner.yaml``; ``<stem>.payloads`` beside ``<stem>.yaml``."""
    if partner_file.stem == "partner":
        return partner_file.parent / "payloads"
    return partner_file.parent / f"{partner_file.stem}.payloads"


def payload_files(folder: Path, datapoint: str) -> Iterator[tuple[str, Path]]:
    """(payload name, file) for a datapoint: its default payload, then its named ones."""
    for suffix in CONTENT_TYPES:
        file = folder / f"{datapoint}{suffix}"
        if file.is_file():
            yield "", file
            break
    named = folder / datapoint
    if named.is_dir():
        for file in sorted(named.iterdir()):
            if file.suffix in CONTENT_TYPES and file.is_file():
                yield file.stem, file


def seed_payloads(partners: list[PartnerSource], store: Store) -> list[str]:
    """Load payload files for payloads the store does not have; returns what was loaded."""
    loaded = []
    for source in partners:
        folder = payload_folder(source.file)
        if not folder.is_dir():
            continue
        for dp in source.model.datapoints:
            if dp.pattern not in PAYLOAD_PATTERNS:
                continue
            for name, file in payload_files(folder, dp.name):
                if store.get_global(source.name, dp.name, name) is not None:
                    continue
                try:
                    body, content_type = read_payload_file(file)
                except (OSError, ValueError) as exc:
                    logger.warning("payload file %s ignored: %s", file, exc)
                    continue
                if body is None:
                    continue
                if store.put_global(source.name, dp.name, body, name=name,
                                    content_type=content_type, if_absent=True) is None:
                    continue  # another process (a worker, a replica) seeded it, or an upload
                loaded.append(f"{source.name}/{dp.name}" + (f"@{name}" if name else ""))
    return loaded


def read_payload_file(file: Path) -> tuple[bytes | None, str]:
    """The bytes to store and their content type; None for a JSON ``null``."""
    content_type = CONTENT_TYPES[file.suffix]
    if file.suffix != ".json":
        return file.read_bytes(), content_type
    value = json.loads(file.read_text(encoding="utf-8"))
    return (encode_json(value) if value is not None else None), content_type
