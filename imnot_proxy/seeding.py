"""Payload files shipped with a partner become its global payloads when the store has none.

``partners/<name>/payloads/<datapoint>.json`` (written by record mode, or by
hand) gives a fresh checkout working fetch and polling results at once; an
upload always wins over the file.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from .loader import PartnerSource
from .messages import encode_json
from .schema import PAYLOAD_PATTERNS
from .store import Store

logger = logging.getLogger(__name__)



def payload_folder(partner_file: Path) -> Path:
    """``<dir>/payloads`` beside ``<dir>/partner.yaml``; ``<stem>.payloads`` beside ``<stem>.yaml``."""
    if partner_file.stem == "partner":
        return partner_file.parent / "payloads"
    return partner_file.parent / f"{partner_file.stem}.payloads"


def seed_payloads(partners: list[PartnerSource], store: Store) -> list[str]:
    """Load payload files for datapoints without a global payload; returns what was loaded."""
    loaded = []
    for source in partners:
        folder = payload_folder(source.file)
        if not folder.is_dir():
            continue
        for dp in source.model.datapoints:
            file = folder / f"{dp.name}.json"
            if dp.pattern not in PAYLOAD_PATTERNS or not file.is_file():
                continue
            if store.get_global(source.name, dp.name) is not None:
                continue
            try:
                value = json.loads(file.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                logger.warning("payload file %s ignored: %s", file, exc)
                continue
            if value is None:
                continue
            store.put_global(source.name, dp.name, encode_json(value))
            loaded.append(f"{source.name}/{dp.name}")
    return loaded
