"""``contactpoint export-links FILE``: which child every source record is linked to, for measuring match quality
against a truth file. The file holds source record IDs and ContactPoint IDs only (no names or dates) but still
links identifiers: it is written mode 0600 and its export is audited."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from pathlib import Path

from contactpoint.children.models import Child, ChildStatus, SourceRecord
from contactpoint.children.source_records import open_payload
from contactpoint.children.store import cipher_for
from contactpoint.vault.keyring import KeyRing


def links(keyring: KeyRing) -> Iterator[tuple[str, str, str]]:
    """(source, source_record_id, contactpoint_id) for every record held about a child in the index."""

    children = Child.objects.exclude(status=ChildStatus.MERGED).only("id", "cpid").order_by("id").iterator(2000)
    for child in children:
        records = list(SourceRecord.objects.filter(child=child, active=True).order_by("id"))
        if not records:
            continue
        cipher = cipher_for(keyring, child)
        for record in records:
            yield record.source, open_payload(cipher, record).source_record_id, child.cpid


def write_links(keyring: KeyRing, path: Path) -> int:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    count = 0
    with os.fdopen(fd, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["source", "source_record_id", "contactpoint_id"])
        for row in links(keyring):
            writer.writerow(row)
            count += 1
    return count
