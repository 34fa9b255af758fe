"""`contactpoint load`: a first load of many sources' files as one job gives the index the feeds one after another
would, survives being stopped part-way, changes nothing when run again, and keeps nothing in clear."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from contactpoint.audit.actions import AuditAction
from contactpoint.audit.models import AuditEntry
from contactpoint.bestview.models import Discrepancy
from contactpoint.children.models import Child, ChildStatus, HeldRecord, SourceRecord
from contactpoint.children.store import load_record
from contactpoint.config import get_settings
from contactpoint.errors import FeedRejected
from contactpoint.feeds.models import FeedRun, LoadPlacement, LoadRun, RowProblem
from contactpoint.ingest import load as loading
from contactpoint.ingest import spill
from contactpoint.ingest.load import LoadFile, load
from contactpoint.ingest.run import ingest
from contactpoint.matching.engine import connect
from contactpoint.matching.models import ReviewItem
from contactpoint.synthetic import demo
from contactpoint.synthetic.generator import feed_files, generate
from contactpoint.vault.keyring import get_keyring
from tests.matching.test_review import NOW

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 24)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("load")
    generate(160, 31, out, [demo.DEMO_LA], today=TODAY, bad_rows=8, workers=1)
    return out


def _files(folder) -> list[LoadFile]:
    sources = demo.register_sources(keyring=get_keyring(), now=NOW)
    names = feed_files([demo.DEMO_LA])
    return [LoadFile(sources[code][0], folder / names[code], "csv") for code in demo.LOAD_ORDER]  # as the command


def _index() -> dict:
    """What a practitioner, a data manager and a source would see of the index, without its random parts (IDs,
    ciphertexts): each child by its records, with its best view; the held rows, review pairs, discrepancies, and
    each file's problems and counts."""
    ring = get_keyring()
    records: dict[int, set] = {}
    for child_id, source, key in SourceRecord.objects.filter(active=True).values_list("child_id", "source",
                                                                                      "record_key"):
        records.setdefault(child_id, set()).add((source, key))
    by_records = {child_id: frozenset(r) for child_id, r in records.items()}
    children = {}
    for child in Child.objects.filter(status=ChildStatus.LIVE):
        record = load_record(ring, child)
        children[by_records[child.pk]] = (
            record.name.value.given, record.name.value.family,
            record.date_of_birth.value, record.nhs_number.value if record.nhs_number else None,
            record.postcode, child.responsible_la)
    return {
        "children": children,
        "held": set(HeldRecord.objects.values_list("source", "record_key")),
        "reviews": {frozenset((by_records.get(a), by_records.get(b))) for a, b in
                    ReviewItem.objects.filter(status=ReviewItem.Status.OPEN).values_list("child_a_id", "child_b_id")},
        # Each item by its child and its own record (which source, which of its records), as a source reads it.
        "discrepancies": sorted((sorted(by_records[d.child_id]), d.source, d.record.source, d.record.record_key,
                                 d.record.child_id == d.child_id, d.field, d.kind, d.reason)
                                for d in Discrepancy.objects.filter(closed_at__isnull=True).select_related("record")),
        "problems": sorted(RowProblem.objects.values_list("run__source__code", "line", "field", "reason", "kind")),
        "runs": sorted(FeedRun.objects.values_list("source__code", "rows_done", "rows_accepted", "rows_refused",
                                                   "fields_refused", "rows_held", "status")),
    }


def _empty_the_index() -> None:
    for model in (ReviewItem, Discrepancy, SourceRecord, HeldRecord, Child, FeedRun):
        model.objects.all().delete()


def test_a_load_gives_the_index_the_feeds_one_after_another_would(folder):
    files = _files(folder)
    for f in files:  # as `make demo` takes them: each source's whole file, in load order
        ingest(f.source, f.data, fmt="csv", mode="full", keyring=get_keyring(), now=NOW, batch_size=10_000)
    fed = _index()
    _empty_the_index()

    outcome = load(files, keyring=get_keyring(), now=NOW)

    loaded = _index()
    assert len(loaded["children"]) > 150
    assert loaded["problems"]  # the generator's bad rows: reported back, with line and reason, as a feed would
    for part in ("children", "held", "problems", "discrepancies", "reviews"):
        assert loaded[part] == fed[part], part
    # Each file's counts are its feed's, but for the rows held. A feed holds a row too thin to make a child (a GP's
    # with no date of birth) until a later source's record of that child takes it in, and its run still counts it
    # held; a load sees that record at once, and holds only what stays held.
    still_held = Counter(source for source, _ in loaded["held"])
    for (code, *counts, held_then, status), (fed_code, *fed_counts, fed_held, fed_status) in zip(
            loaded["runs"], fed["runs"], strict=True):
        assert (code, counts, status) == (fed_code, fed_counts, fed_status)
        assert held_then == still_held[code] <= fed_held
    assert outcome.load.stage == LoadRun.Stage.COMPLETED
    assert not LoadPlacement.objects.exists()  # kept only between matching and writing


def test_a_pair_a_load_leaves_for_review_shows_its_evidence():
    """The load scores its pairs without their evidence (it would take gigabytes nationally) and finds it again
    for the pairs it leaves to a person, who must see why the model thought them one child."""
    header = "source_record_id,given_name,family_name,gender,date_of_birth,nhs_number,address_line_1,town,postcode\n"
    sources = demo.register_sources(keyring=get_keyring(), now=NOW)
    first, second = (sources[code][0] for code in demo.LOAD_ORDER[:2])
    files = [LoadFile(first, (header + "A-1,Harper,Haynes,female,2017-03-01,4166102508,8 Martin Gardens,London,"
                                       "WC1N 3LB\n").encode(), "csv"),
             LoadFile(second, (header + "B-1,Harper,Haynes,female,2017-03-01,6405388611,8 Martin Gardens,London,"
                                        "WC1N 3LB\n").encode(), "csv")]

    load(files, keyring=get_keyring(), now=NOW)

    item = ReviewItem.objects.get(status=ReviewItem.Status.OPEN)
    assert item.why == "different NHS numbers"
    assert {name: item.evidence[name] for name in ("given_name", "family_name", "birth_date", "address")} == {
        "given_name": "exact", "family_name": "exact", "birth_date": "exact", "address": "same home"}
    assert item.evidence["nhs_number"] != "exact"


def test_sending_one_of_the_loaded_files_again_later_changes_nothing(folder):
    files = _files(folder)
    load(files, keyring=get_keyring(), now=NOW)
    children = Child.objects.count()
    again = ingest(files[0].source, files[0].data, fmt="csv", keyring=get_keyring(), now=NOW)
    assert again.already_done and Child.objects.count() == children


def test_the_same_load_again_changes_nothing_and_a_loaded_index_refuses_another(folder):
    files = _files(folder)
    first = load(files, keyring=get_keyring(), now=NOW)
    children = Child.objects.count()
    again = load(files, keyring=get_keyring(), now=NOW)
    assert again.already_done and again.load.pk == first.load.pk and Child.objects.count() == children
    with pytest.raises(FeedRejected, match="empty index"):
        load(files[:2], keyring=get_keyring(), now=NOW)
    assert Child.objects.count() == children


def test_a_load_stopped_while_writing_goes_on_where_it_stopped(folder, monkeypatch):
    files = _files(folder)
    load(files, keyring=get_keyring(), now=NOW)
    whole = _index()
    _empty_the_index()
    LoadRun.objects.all().delete()

    written = []
    real = loading._write_children

    def stopped_after_two_batches(batch, *args, **kwargs):
        if len(written) == 2:
            raise KeyboardInterrupt  # as kill -9 between two transactions: the third batch is never committed
        written.append(len(batch.batch))
        return real(batch, *args, **kwargs)

    monkeypatch.setattr(loading, "_write_children", stopped_after_two_batches)
    with pytest.raises(KeyboardInterrupt):
        load(files, keyring=get_keyring(), now=NOW, batch_size=40)
    assert not any((get_settings().var_dir / "load").rglob("*.spill"))  # sealed, and removed when it stopped
    run = LoadRun.objects.get()
    assert run.stage == LoadRun.Stage.WRITING and run.groups_done == 80
    assert Child.objects.count() == 80

    monkeypatch.setattr(loading, "_write_children", real)
    outcome = load(files, keyring=get_keyring(), now=NOW, batch_size=40)
    assert not outcome.already_done and outcome.load.pk == run.pk
    assert _index() == whole
    assert SourceRecord.objects.count() == len(set(SourceRecord.objects.values_list("source", "record_key")))


def _index_keys(table: str = "vault_index") -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = %s::regclass "
                       "UNION ALL SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                       "WHERE conrelid = %s::regclass ORDER BY 1", [table, table])
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.postgres
def test_on_postgresql_the_index_and_record_keys_are_built_after_the_rows_and_again_after_a_stop(folder, monkeypatch):
    files = _files(folder)
    keys = _index_keys()
    assert len(keys) == 4  # primary key (index and constraint), the index by child, the foreign key
    tables = ("children_source_record", "children_child", "vault_data_key", "bestview_discrepancy")
    others = {table: _index_keys(table) for table in tables}
    assert any("(source, record_key)" in k for k in others["children_source_record"])
    real = loading._write_children
    seen: list[list[str]] = []

    def stopped_after_one_batch(batch, *args, **kwargs):
        seen.append(_index_keys())
        # Set aside too: what takes a random value a row. The source records' unique key, and their index and
        # foreign key by child (a child's number is its random ContactPoint ID); the ContactPoint IDs' key; the
        # data keys' primary key and foreign key; the discrepancies' index and foreign key by child.
        records = _index_keys("children_source_record")
        assert not any("(source, record_key)" in k or "(child_id)" in k for k in records)
        assert any("PRIMARY KEY (id)" in k for k in records)  # by a sequence: it stays
        children = _index_keys("children_child")
        assert not any("(cpid)" in k for k in children) and any("PRIMARY KEY (id)" in k for k in children)
        assert any("(responsible_la)" in k for k in children)  # few values: it stays
        assert not any("(child_id)" in k for k in _index_keys("vault_data_key"))
        assert not any("(child_id)" in k for k in _index_keys("bestview_discrepancy"))
        if len(seen) == 2:
            raise KeyboardInterrupt
        return real(batch, *args, **kwargs)

    monkeypatch.setattr(loading, "_write_children", stopped_after_one_batch)
    with pytest.raises(KeyboardInterrupt):
        load(files, keyring=get_keyring(), now=NOW, batch_size=40)
    assert seen[0] == [] and LoadRun.objects.get().keys_set_aside  # written without them; what to make kept
    monkeypatch.setattr(loading, "_write_children", real)
    load(files, keyring=get_keyring(), now=NOW, batch_size=40)
    assert _index_keys() == keys and LoadRun.objects.get().keys_set_aside == []
    assert {table: _index_keys(table) for table in tables} == others
    assert "keys" in LoadRun.objects.get().seconds


def test_a_contactpoint_id_that_collides_while_the_next_batch_is_sealed_is_issued_again(folder, monkeypatch):
    """The workers seal one batch while the load writes the one before; a collision in the written batch is
    sealed again under new IDs here, without disturbing the workers' answer for the next batch."""
    from contactpoint.children import identifiers

    files = _files(folder)
    load(files, keyring=get_keyring(), now=NOW)
    whole = _index()
    _empty_the_index()
    LoadRun.objects.all().delete()
    settings = get_settings()  # in helper processes, where the next batch is sealed while one is written
    monkeypatch.setattr("contactpoint.config._settings", dataclasses.replace(
        settings, feeds=dataclasses.replace(settings.feeds, workers=2, helpers_from_bytes=0)))
    real = identifiers.new_contactpoint_id
    issued: list[str] = []

    def repeating() -> str:
        # The 41st child (the second batch's first) gets the first child's ID: the insert fails, and the batch is
        # made again with fresh IDs.
        issued.append(issued[0] if len(issued) == 40 else real())
        return issued[-1]

    monkeypatch.setattr("contactpoint.children.store.new_contactpoint_id", repeating)
    load(files, keyring=get_keyring(), now=NOW, batch_size=40)
    assert len(issued) > Child.objects.count() and issued[40] == issued[0]
    assert _index() == whole


def test_a_load_in_helper_processes_gives_what_one_process_would(folder, monkeypatch):
    files = _files(folder)
    load(files, keyring=get_keyring(), now=NOW)
    inline = _index()
    _empty_the_index()
    LoadRun.objects.all().delete()
    settings = get_settings()
    monkeypatch.setattr("contactpoint.config._settings", dataclasses.replace(
        settings, feeds=dataclasses.replace(settings.feeds, workers=2, helpers_from_bytes=0)))
    load(files, keyring=get_keyring(), now=NOW)
    assert _index() == inline


def test_what_a_load_keeps_is_audited_and_holds_no_value(folder):
    files = _files(folder)
    outcome = load(files, keyring=get_keyring(), now=NOW)
    actions = list(AuditEntry.objects.values_list("action", flat=True))
    assert actions.count(AuditAction.FEED_RECEIVED.value) == len(files)
    assert actions.count(AuditAction.FEED_COMPLETED.value) == len(files)
    created = AuditEntry.objects.filter(action=AuditAction.CHILD_CREATED.value)
    assert sum(e.context["count"] for e in created) == Child.objects.count() == outcome.load.groups_total
    # The load's own row keeps counts, timings, record keys (keyed hashes) and comparison levels: no child's
    # name, date of birth or identifier.
    kept = json.dumps(LoadRun.objects.values("reviews", "seconds", "fingerprint").get(), default=str).lower()
    ring = get_keyring()
    for child in Child.objects.all():
        record = load_record(ring, child)
        for value in (record.name.value.family, record.date_of_birth.value,
                      record.nhs_number.value if record.nhs_number else None):
            if value:
                assert str(value).lower() not in kept


def test_the_rows_a_load_keeps_on_disk_until_it_writes_are_sealed_and_gone_when_it_stops(folder, monkeypatch):
    files = _files(folder)
    on_disk: list[bytes] = []
    real_open = spill.Spill.open

    def read_before_opening(self):
        if self._fd is None:
            on_disk.append(self.path.read_bytes())
        real_open(self)

    monkeypatch.setattr(spill.Spill, "open", read_before_opening)
    load(files, keyring=get_keyring(), now=NOW)
    assert len(on_disk) == len(files) and all(on_disk)
    ring = get_keyring()
    values = set()
    for child in Child.objects.all():
        record = load_record(ring, child)
        values |= {record.name.value.family, record.name.value.given, record.date_of_birth.value.isoformat(),
                   record.nhs_number.value if record.nhs_number else None}
    values |= set(SourceRecord.objects.values_list("record_key", flat=True))
    kept = b"".join(on_disk)
    assert not [value for value in values if value and len(value) > 3 and value.encode() in kept]
    assert not (get_settings().var_dir / "load").exists() or not any((get_settings().var_dir / "load").iterdir())


def test_splink_is_given_no_temporary_directory_to_spill_profiles_to():
    con = connect()
    try:
        assert con.execute("SELECT current_setting('temp_directory')").fetchall() == [("",)]
    finally:
        con.close()


def test_the_command_loads_and_says_what_it_did(folder):
    sources = demo.register_sources(keyring=get_keyring(), now=NOW)
    names = feed_files([demo.DEMO_LA])
    args = [f"{code}={folder / names[code]}" for code in demo.LOAD_ORDER]
    out = StringIO()
    call_command("load", *args, stdout=out, stderr=StringIO())
    text = out.getvalue()
    assert f"{Child.objects.count()} children" in text
    assert all(f"  {code}: run" in text for code in sources)
    with pytest.raises(CommandError, match="SOURCE=FILE"):
        call_command("load", str(folder / names[demo.LOAD_ORDER[0]]), stdout=StringIO(), stderr=StringIO())
    with pytest.raises(CommandError, match="no source system 'nowhere'"):
        call_command("load", f"nowhere={folder / names[demo.LOAD_ORDER[0]]}", stdout=StringIO(), stderr=StringIO())
