"""Term-frequency adjustments: agreeing on a rare name or postcode says more than agreeing on a common one, by
national frequencies that reveal no value and no child (``matching.frequencies``)."""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pyarrow as pa
import pytest
from django.core.management import call_command
from django.db import connection
from hypothesis import given
from hypothesis import strategies as st

from contactpoint.children.record import Address, PersonName
from contactpoint.matching.engine import score
from contactpoint.matching.frequencies import COLUMNS, FLOOR, Frequencies, store, token, without_adjustments
from contactpoint.matching.model import trained_settings
from contactpoint.matching.models import FrequencyTotal, TermFrequency
from contactpoint.matching.profile import profile
from contactpoint.vault.keyring import get_keyring
from tests.matching.test_review import AMELIA, GP_ROW, csv_bytes, feed, health_org, source

NOW_UTC = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


@dataclass(frozen=True)
class _Row:  # what profiling reads of a feed's row
    name: PersonName
    address: Address
    date_of_birth: date = date(2015, 6, 3)
    former_family_names: tuple[str, ...] = ()
    gender: None = None
    nhs_number: None = None
    upn: None = None
    uln: None = None
    carers: tuple = ()


def _profile(uid: str, given: str, family: str, postcode: str = "NW1 8NP") -> dict:
    return profile(uid, "other", _Row(PersonName(given, family), Address(town="London", postcode=postcode)))


def _population(**common: int) -> dict[str, Counter[str]]:
    """A national count in which the given names in ``common`` are held by that many children each."""
    counts = {c: Counter() for c in COLUMNS}
    counts["given"].update({name: n for name, n in common.items()} | {f"NAME{i}": 40 for i in range(500)})
    counts["family"].update({f"FAMILY{i}": 40 for i in range(500)} | {"SMITH": 40})
    counts["postcode"].update({f"AB1 {i}CD": 20 for i in range(500)} | {"NW1 8NP": 20})
    return counts


def _probability(profiles, frequencies) -> float:
    [edge] = score(profiles, [profiles[1]["unique_id"]], threshold=0.0, frequencies=frequencies)
    return edge.probability


@given(st.text(max_size=20), st.text(max_size=20))
def test_a_token_is_the_same_for_the_same_value_and_differs_between_columns(a, b):
    key = b"k" * 32
    assert token(key, "given", a) == token(key, "given", a)
    assert -(2 ** 63) <= token(key, "given", a) < 2 ** 63
    if a != b:
        assert token(key, "given", a) != token(key, "given", b)
    assert token(key, "given", a) != token(key, "family", a)
    assert token(key, "given", a) != token(b"j" * 32, "given", a)


def test_agreeing_on_a_rare_given_name_counts_for_more_than_on_a_common_one():
    frequencies = Frequencies.of(_population(OLIVER=4000, ZEBEDEE=FLOOR))
    common = [_profile("a", "Oliver", "Smith"), _profile("b", "Oliver", "Smith")]
    rare = [_profile("a", "Zebedee", "Smith"), _profile("b", "Zebedee", "Smith")]
    assert _probability(rare, frequencies) > _probability(common, frequencies)
    # Without a national table the model scores as trained: a name is a name.
    assert _probability(rare, None) == pytest.approx(_probability(common, None))


def test_a_value_as_common_as_the_average_keeps_the_weight_the_model_was_trained_with():
    # Every given name equally common: each is exactly as common as two random names agreeing suggests.
    counts = {c: Counter({f"V{i}": 50 for i in range(100)}) for c in COLUMNS}
    frequencies = Frequencies.of(counts)
    assert frequencies is not None
    lookups = frequencies.lookups(pa.table({c: ["V1", "V2"] for c in COLUMNS}), {c: 0.003 for c in COLUMNS})
    assert lookups["given"].column("tf_given").to_pylist() == pytest.approx([0.003, 0.003])


def test_without_adjustments_takes_every_term_frequency_setting_out_and_leaves_the_model_alone():
    settings = trained_settings()
    plain = without_adjustments(settings)
    levels = [lv for c in plain["comparisons"] for lv in c["comparison_levels"]]
    assert not any("tf_adjustment_column" in lv for lv in levels)
    assert sum("tf_adjustment_column" in lv for c in settings["comparisons"] for lv in c["comparison_levels"]) == 3


@pytest.mark.django_db
def test_the_table_keeps_only_keyed_hashes_of_values_at_least_floor_children_share():
    counts = _population(OLIVER=4000, ZEBEDEE=FLOOR - 1)
    kept = store(get_keyring(), counts, now=NOW_UTC, counted_from="files")
    assert kept == TermFrequency.objects.count() == 1 + 500 + 501 + 501  # Oliver, not Zebedee
    assert {t.column: t.counted_from for t in FrequencyTotal.objects.all()} == dict.fromkeys(COLUMNS, "files")
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM matching_term_frequency")
        cells = {str(v) for row in cursor.fetchall() for v in row}
    assert not any(name in cell for cell in cells for name in ("OLIVER", "ZEBEDEE", "SMITH", "NW1"))
    frequencies = Frequencies.load(get_keyring())
    assert frequencies is not None and frequencies.counted is None  # read from the table, by token


@pytest.mark.django_db
def test_no_table_counted_means_no_adjustment():
    assert Frequencies.load(get_keyring()) is None


@pytest.mark.django_db
def test_the_command_counts_from_the_index_or_from_a_first_loads_files(tmp_path):
    gp = source("gp-camden", "gp_registrations", health_org())
    feed(gp, GP_ROW, GP_ROW | {"source_record_id": "GP-2", "given_name": "Zara", "nhs_number": ""})
    out = io.StringIO()
    call_command("match", "frequencies", stdout=out)
    assert "given 2 (2 different)" in out.getvalue() and "0 values shared by 10 or more kept" in out.getvalue()
    assert FrequencyTotal.objects.get(column="family").counted_from == "index"

    path = tmp_path / "gp.csv"
    path.write_bytes(csv_bytes([AMELIA | {"source_record_id": f"R{i}"} for i in range(12)]))
    out = io.StringIO()
    call_command("match", "frequencies", "--files", str(path), stdout=out)
    assert "given 12 (1 different)" in out.getvalue() and "3 values shared by 10 or more kept" in out.getvalue()
    assert FrequencyTotal.objects.get(column="given").total == 12


@pytest.mark.django_db
def test_a_record_that_cannot_be_opened_is_one_child_fewer_in_the_counts_not_no_counts(caplog):
    from contactpoint.children.models import Child
    from contactpoint.ingest.frequencies import from_index

    gp = source("gp-camden", "gp_registrations", health_org())
    feed(gp, GP_ROW, GP_ROW | {"source_record_id": "GP-2", "given_name": "Zara", "nhs_number": "",
                               "date_of_birth": "2014-01-09"})
    damaged = Child.objects.order_by("id").first()
    Child.objects.filter(pk=damaged.pk).update(names=b"\x00" * 64)
    counts = from_index(get_keyring())
    assert sum(counts["given"].values()) == 1
    assert "cannot be opened" in caplog.text


@pytest.mark.slow
def test_training_keeps_term_frequencies_only_if_they_decide_better_on_its_labelled_records(tmp_path, monkeypatch):
    from contactpoint.ingest.profiles import profiles_of
    from contactpoint.matching import train
    from contactpoint.matching.evaluate import read_truth

    call_command("generate", "--children", "300", "--seed", "7", "--out", str(tmp_path), "--today", "2026-11-24",
                 stdout=io.StringIO())
    profiles = profiles_of(tmp_path, today=date(2026, 11, 24))
    truth = read_truth(tmp_path / "truth.csv")
    asked = []
    real = train.choose_thresholds

    def choose(settings, profiles, truth, *, frequencies=False):
        asked.append(frequencies)
        return real(settings, profiles, truth, frequencies=frequencies)

    monkeypatch.setattr(train, "choose_thresholds", choose)
    use, link, review, tried = train.with_or_without_frequencies(trained_settings(), profiles, truth)
    assert asked == [False, True] and set(tried) == {False, True}
    assert link in train.LINK_CANDIDATES and review == pytest.approx(max(0.01, link - train.REVIEW_BAND))
    assert all(set(candidates) == set(train.LINK_CANDIDATES) for candidates in tried.values())
    kept, other = tried[use][link][0], max(q.f1 for q, _ in tried[not use].values())
    assert round(kept.f1, 3) >= round(other, 3) - 0.001  # the one kept decides at least as well


@pytest.mark.django_db
def test_a_feed_uses_the_national_counts_only_when_the_model_was_trained_to(monkeypatch):
    from contactpoint.access.models import SourceSystem
    from contactpoint.ingest import batch

    source("gp-camden", "gp_registrations", health_org())
    gp = SourceSystem.objects.select_related("organisation").get(code="gp-camden")
    store(get_keyring(), _population(OLIVER=4000), now=NOW_UTC, counted_from="index")
    assert batch.Batch(gp, keyring=get_keyring(), now=NOW_UTC, run_id="r").frequencies is None  # as saved: off
    monkeypatch.setattr(batch, "uses_frequencies", lambda: True)
    assert batch.Batch(gp, keyring=get_keyring(), now=NOW_UTC, run_id="r").frequencies is not None
