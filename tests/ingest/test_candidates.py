"""Which children a feed row is matched against: those the blind index finds for a reason, not those that share
a truncated token's bucket by chance."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from io import BytesIO

import pytest

from contactpoint.children import source_records
from contactpoint.children.models import Child, SourceRecord
from contactpoint.children.store import load_record, save_record
from contactpoint.feeds import formats
from contactpoint.feeds.validate import validate
from contactpoint.ingest import batch, prepare, work
from contactpoint.ingest.batch import Batch
from contactpoint.vault import blindindex as bi
from contactpoint.vault.keyring import get_keyring
from contactpoint.vault.models import IndexEntry
from contactpoint.vault.tokens import dob_variants, matching_tokens
from tests.factories import vouched_org
from tests.matching.test_review import AMELIA, GP_ROW, NOW, csv_bytes, feed, health_org, source

pytestmark = pytest.mark.django_db

# Another child altogether: another name, birthday, home and NHS number.
ZARA = {"source_record_id": "GP-2", "given_name": "Zara", "family_name": "Quist", "gender": "female",
        "date_of_birth": "2012-02-20", "address_line_1": "3 Upper Street", "town": "London", "postcode": "N1 0PN",
        "whereabouts": "current", "nhs_number": "4010232137", "gp_practice_code": "F83004",
        "gp_practice_name": "Camden Health Centre"}
SCHOOL_ROW = AMELIA | {"source_record_id": "S-1", "setting_urn": "100001", "setting_name": "Agar Grove Primary"}


def child_id_of(source_code: str, record_id: str) -> int:
    key = source_records.record_key(get_keyring(), source_code, record_id)
    return SourceRecord.objects.filter(record_key=key).values_list("child_id", flat=True).get()


def in_every_bucket_of(row: dict[str, str], child_id: int) -> None:
    """Put a child in every bucket the row looks up, as a large index does for some of them by chance."""
    born = date.fromisoformat(row["date_of_birth"])
    for dob in dob_variants(born, fuzzy=True):
        for token in matching_tokens(get_keyring(), given=row["given_name"], family_names=[row["family_name"]],
                                     date_of_birth=dob, postcode=row.get("postcode") or None,
                                     nhs_number=row.get("nhs_number") or None, upn=None, uln=None):
            IndexEntry.objects.get_or_create(token=token, child_id=child_id)


def school_row_after_the_gps(**changes: str):
    """The GP's record of Amelia, then the school's with ``changes``: the school's run, once it is known to have
    joined her."""
    feed(source("gp-camden", "gp_registrations", health_org()), GP_ROW)
    run = feed(source("agar-grove", "school_census", vouched_org()), SCHOOL_ROW | changes,
               now=NOW + timedelta(days=1))
    assert child_id_of("agar-grove", "S-1") == child_id_of("gp-camden", "GP-1")
    return run


@pytest.fixture
def opened(monkeypatch) -> list[int]:
    """The children whose source records the pipeline decrypts."""
    seen: list[int] = []
    real = work.Worker.open

    def spy(self, jobs, **options):
        seen.extend(job.child_id for job in jobs)
        return real(self, jobs, **options)

    monkeypatch.setattr(work.Worker, "open", spy)
    return seen


def test_a_child_in_the_rows_buckets_by_chance_is_dropped_before_its_records_are_opened(opened):
    gp = source("gp-camden", "gp_registrations", health_org())
    feed(gp, GP_ROW, ZARA, now=NOW - timedelta(days=1))
    amelia, zara = child_id_of("gp-camden", "GP-1"), child_id_of("gp-camden", "GP-2")
    in_every_bucket_of(SCHOOL_ROW, zara)
    opened.clear()
    feed(source("agar-grove", "school_census", vouched_org()), SCHOOL_ROW)
    assert child_id_of("agar-grove", "S-1") == amelia
    assert zara not in opened and amelia in opened


def test_a_child_in_an_identifiers_bucket_by_chance_is_dropped_before_its_records_are_opened(opened):
    """An NHS number's token is not keyed by date of birth, so a bucket-mate there is told apart by opening the
    identifiers it holds: another NHS number, another child."""
    gp = source("gp-camden", "gp_registrations", health_org())
    feed(gp, GP_ROW, ZARA, now=NOW - timedelta(days=1))
    amelia, zara = child_id_of("gp-camden", "GP-1"), child_id_of("gp-camden", "GP-2")
    school = SCHOOL_ROW | {"nhs_number": GP_ROW["nhs_number"]}
    in_every_bucket_of(school, zara)  # the NHS number's buckets (searchable and match-only) included
    opened.clear()
    feed(source("agar-grove", "school_census", vouched_org()), school)
    assert child_id_of("agar-grove", "S-1") == amelia
    assert zara not in opened and amelia in opened


def test_a_feed_does_not_look_children_up_by_the_first_letters_of_their_surname(opened):
    """Born the same day, surname starting the same, nothing else alike: search's wildcard index would find her,
    but a feed row does not ask it (at scale it would bring back a few such children for every row)."""
    gp = source("gp-camden", "gp_registrations", health_org())
    harriet = ZARA | {"given_name": "Xanthe", "family_name": "Hawksworth", "date_of_birth": AMELIA["date_of_birth"]}
    feed(gp, harriet, now=NOW - timedelta(days=1))
    opened.clear()
    feed(source("agar-grove", "school_census", vouched_org()), SCHOOL_ROW)
    assert opened == []
    assert child_id_of("agar-grove", "S-1") != child_id_of("gp-camden", "GP-2")


def test_a_child_found_by_its_nhs_number_is_matched_whatever_its_date_of_birth(opened):
    gp = source("gp-camden", "gp_registrations", health_org())
    feed(gp, GP_ROW, now=NOW - timedelta(days=1))
    # The school has her birthday a few days out (not a day/month swap) but her NHS number right.
    typo = SCHOOL_ROW | {"date_of_birth": "2015-06-08", "nhs_number": GP_ROW["nhs_number"]}
    opened.clear()
    feed(source("agar-grove", "school_census", vouched_org()), typo)
    assert child_id_of("gp-camden", "GP-1") in opened
    assert child_id_of("agar-grove", "S-1") == child_id_of("gp-camden", "GP-1")


def test_a_bucket_mates_date_of_birth_is_opened_again_once_its_record_has_changed():
    """A run keeps the dates of birth it opened, with each child's version: a child written since (here a
    corrected date of birth) is judged on its new record, not on what the run saw earlier."""
    feed(source("gp-camden", "gp_registrations", health_org()), ZARA, now=NOW - timedelta(days=1))
    zara = Child.objects.get(pk=child_id_of("gp-camden", "GP-2"))
    in_every_bucket_of(SCHOOL_ROW, zara.pk)
    [raw] = formats.read("csv", BytesIO(csv_bytes([SCHOOL_ROW])))
    row, _ = validate(raw, today=NOW.date())
    batch = Batch(source("agar-grove", "school_census", vouched_org()), keyring=get_keyring(), now=NOW,
                           run_id="run-1")
    tokens = prepare.lookup_tokens(get_keyring(), row)
    assert [c.pk for c in batch._candidates(tokens)] == []  # born on another day: a bucket-mate

    record = load_record(get_keyring(), zara)
    save_record(get_keyring(), zara, replace(record, date_of_birth=replace(record.date_of_birth,
                                                                           value=row.date_of_birth)), now=NOW)
    in_every_bucket_of(SCHOOL_ROW, zara.pk)  # (saving rewrote her tokens: chance puts her back)
    assert [c.pk for c in batch._candidates(tokens)] == [zara.pk]


def test_a_record_whose_date_of_birth_has_a_typo_and_no_identifier_in_common_still_finds_its_child():
    """Every other token is keyed by the date of birth: the names' sounds with the birth year find it."""
    run = school_row_after_the_gps(date_of_birth="2015-06-08", nhs_number="")
    assert run.records_linked == 1 and run.children_created == 0


def test_a_namesake_born_in_another_year_found_by_the_names_and_year_token_is_not_linked():
    gp = source("gp-camden", "gp_registrations", health_org())
    feed(gp, GP_ROW)
    school = source("agar-grove", "school_census", vouched_org())
    # Same names, born years apart, nothing else in common: not a candidate once its date of birth is opened.
    run = feed(school, SCHOOL_ROW | {"date_of_birth": "2011-01-20", "nhs_number": "", "postcode": "N1 0PN",
                                     "address_line_1": "3 Upper Street", "carer_1_name": ""},
               now=NOW + timedelta(days=1))
    assert run.children_created == 1 and run.records_linked == 0


def test_keys_reindex_gives_children_indexed_before_an_index_was_added_its_tokens():
    import io

    from django.core.management import call_command

    from contactpoint.vault import blindindex as bi

    gp = source("gp-camden", "gp_registrations", health_org())
    feed(gp, GP_ROW)
    child_id = child_id_of("gp-camden", "GP-1")
    names_year = [t for t in IndexEntry.objects.filter(child_id=child_id).values_list("token", flat=True)
                  if bi.keyed_by_year(t)]
    assert names_year
    IndexEntry.objects.filter(token__in=names_year).delete()  # as a child indexed before the index existed
    out = io.StringIO()
    call_command("keys", "reindex", stdout=out)
    assert "re-indexed 1 live children" in out.getvalue()
    assert set(names_year) <= set(IndexEntry.objects.filter(child_id=child_id).values_list("token", flat=True))


def test_a_record_whose_year_of_birth_and_family_name_are_both_mistyped_finds_its_child_through_its_home():
    """No date-keyed token and no names-and-year token is shared: either name with the postcode finds it."""
    run = school_row_after_the_gps(date_of_birth="2016-06-03", family_name="Hartly", nhs_number="")
    assert run.records_linked == 1 and run.children_created == 0


def test_a_record_without_a_date_of_birth_or_identifier_is_linked_through_its_names_and_home():
    run = school_row_after_the_gps(date_of_birth="", nhs_number="")
    assert run.records_linked == 1 and run.rows_held == 0


def test_a_child_in_a_postcode_tokens_bucket_by_chance_is_dropped_before_its_records_are_opened(opened):
    gp = source("gp-camden", "gp_registrations", health_org())
    feed(gp, ZARA)
    zara = child_id_of("gp-camden", "GP-2")
    row = SCHOOL_ROW | {"date_of_birth": "", "nhs_number": ""}
    entry = next(iter(prepare.chunks(csv_bytes([row]), fmt="csv", keyring=get_keyring(), source_code="agar-grove",
                                     today=NOW.date(), skip=0, batch_size=10))).entries[0]
    tokens = entry.lookup(get_keyring())
    assert tokens and all(bi.keyed_by_postcode(t) for t in tokens)
    for token in tokens:  # Zara, who lives elsewhere, shares every bucket by chance
        IndexEntry.objects.get_or_create(token=token, child_id=zara)
    batch = Batch(source("agar-grove", "school_census", vouched_org()), keyring=get_keyring(), now=NOW,
                  run_id="r1")
    assert batch._candidates(tokens) == []
    assert opened == []


def test_a_record_that_finds_its_child_does_not_look_through_its_postcode(opened, monkeypatch):
    """The names-at-a-postcode buckets are the fullest (about 29 unrelated children a token at 11 million): only
    records that found no child on the first look open them, even to tell a bucket-mate."""
    told_apart: list[str] = []  # children whose postcode was opened to tell whether they are bucket-mates
    real = batch.decode_groups

    def spy(cpid, groups):
        if "whereabouts" in groups:
            told_apart.append(cpid)
        return real(cpid, groups)

    monkeypatch.setattr(batch, "decode_groups", spy)

    gp = source("gp-camden", "gp_registrations", health_org())
    feed(gp, GP_ROW, ZARA, now=NOW - timedelta(days=1))
    amelia, zara = child_id_of("gp-camden", "GP-1"), child_id_of("gp-camden", "GP-2")
    entry = next(iter(prepare.chunks(csv_bytes([SCHOOL_ROW]), fmt="csv", keyring=get_keyring(),
                                     source_code="agar-grove", today=NOW.date(), skip=0, batch_size=10))).entries[0]
    for token in entry.lookup(get_keyring()):
        if bi.keyed_by_postcode(token):
            IndexEntry.objects.get_or_create(token=token, child_id=zara)
    opened.clear()
    feed(source("agar-grove", "school_census", vouched_org()), SCHOOL_ROW)
    assert child_id_of("agar-grove", "S-1") == amelia
    assert zara not in opened and told_apart == []


def school_candidates(values: dict[str, str]) -> list[int]:
    """The children a school's row with ``values`` would be matched against: those its tokens find."""
    [raw] = formats.read("csv", BytesIO(csv_bytes([values])))
    row, _ = validate(raw, today=NOW.date())
    batch = Batch(source("agar-grove", "school_census", vouched_org()), keyring=get_keyring(), now=NOW,
                  run_id="run-1")
    return [c.pk for c in batch._candidates(prepare.lookup_tokens(get_keyring(), row))]


def test_forenames_in_one_field_find_the_child_by_the_first_of_them():
    """A school that writes "Amelia Rose" finds the GP's Amelia through her given name and birthday, even when
    nothing else it sends leads to her (another family name, another home, no NHS number)."""
    feed(source("gp-camden", "gp_registrations", health_org()), GP_ROW)
    amelia = child_id_of("gp-camden", "GP-1")
    moved = SCHOOL_ROW | {"given_name": "Amelia Rose", "family_name": "Okafor", "nhs_number": "",
                          "address_line_1": "3 Upper Street", "postcode": "N1 0PN", "carer_1_name": ""}
    assert school_candidates(moved) == [amelia]


def test_forenames_in_one_field_link_to_the_child_after_a_move_with_the_birthday_mistyped():
    """The school's "Amelia Rose" found the GP's Amelia (middle name Rose) by its first forename, but the blocking
    rules paired records by the sound of the whole given name, "Ameliarose": the two were never compared, and the
    school's record made a second Amelia Hartley. Now the sound is the first forename's, as the blind index's
    given-name tokens are."""
    feed(source("gp-camden", "gp_registrations", health_org()), GP_ROW | {"middle_names": "Rose"})
    school = source("agar-grove", "school_census", vouched_org())
    moved = SCHOOL_ROW | {"given_name": "Amelia Rose", "date_of_birth": "2015-06-08", "nhs_number": "",
                          "address_line_1": "1 Otley Road", "town": "Leeds", "postcode": "LS6 2AB"}
    run = feed(school, moved, now=NOW + timedelta(days=1))
    assert run.records_linked == 1 and run.children_created == 0
    assert child_id_of("agar-grove", "S-1") == child_id_of("gp-camden", "GP-1")


def test_a_record_with_the_names_transposed_finds_the_child_when_nothing_else_leads_to_it():
    """"Hartley Amelia" after a move, with no NHS number and her birthday mistyped: no token of hers was keyed by
    a name the other way round, so the feed never looked at Amelia. Her names the other way round with her birth
    year find her; not a child of one of those names alone."""
    feed(source("gp-camden", "gp_registrations", health_org()), GP_ROW, ZARA | {"given_name": "Hartley",
                                                                                "date_of_birth": "2015-02-11"})
    amelia = child_id_of("gp-camden", "GP-1")
    moved = SCHOOL_ROW | {"given_name": "Hartley", "family_name": "Amelia", "date_of_birth": "2015-06-30",
                          "nhs_number": "", "address_line_1": "1 Otley Road", "town": "Leeds", "postcode": "LS6 2AB",
                          "carer_1_name": ""}
    assert school_candidates(moved) == [amelia]


def test_a_record_with_the_names_swapped_and_every_forename_in_the_given_name_links_to_the_child():
    """A school's system with one field for all the forenames, and the names the wrong way round: "Hartley Rose"
    for Amelia Rose Hartley. Its given name is her family name and her middle name, which no level of the model
    read as swapped, and the clustering held the two apart as given names that cannot be the same."""
    gp = source("gp-camden", "gp_registrations", health_org())
    feed(gp, GP_ROW | {"middle_names": "Rose"})
    school = source("agar-grove", "school_census", vouched_org())
    swapped = AMELIA | {"source_record_id": "S-1", "given_name": "Hartley Rose", "family_name": "Amelia",
                        "upn": "E202200022001", "setting_urn": "100001", "setting_name": "Agar Grove Primary"}
    run = feed(school, swapped)
    assert run.records_linked == 1 and run.children_created == 0
    assert child_id_of("agar-grove", "S-1") == child_id_of("gp-camden", "GP-1")
