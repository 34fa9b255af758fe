from __future__ import annotations

from datetime import date

import pytest

from contactpoint.children.models import Child
from contactpoint.children.record import FIELD_GROUPS, Involvement, decode_groups, encode_groups
from contactpoint.children.store import NewChild, create_children, load_groups, load_record, save_record, shred
from contactpoint.errors import VaultError
from contactpoint.vault.blindindex import SEARCHABLE, keyed_by_postcode, keyed_by_year
from contactpoint.vault.models import DataKey, IndexEntry
from tests.factories import make_record

pytestmark = pytest.mark.django_db


def _one(keyring, now, record=None, shielded=False) -> Child:
    [created] = create_children(keyring, [NewChild(record or make_record(), responsible_la="202",
                                                    shielded=shielded)], now=now)
    return Child.objects.get(cpid=created.cpid)


def test_a_child_written_through_the_vault_reads_back_identically(keyring, now):
    record = make_record(involvements=(Involvement(key="i1", service="Health visiting", practitioner_name="J Bloggs",
                                                   start_date=date(2025, 1, 1), lead_professional=True),))
    stored = child = _one(keyring, now, record)
    assert load_record(keyring, stored) == record.with_changes(cpid=child.cpid)
    assert stored.review_month == date(2033, 6, 1)  # the month of the 18th birthday, not the day


def test_only_the_groups_asked_for_are_decrypted(keyring, now):
    child = _one(keyring, now)
    partial = load_groups(keyring, child, ["names", "birth"])
    assert set(partial) == {"cpid", "name", "former_names", "gender", "date_of_birth", "date_of_death"}


def test_every_field_group_is_stored_as_ciphertext(keyring, now):
    child = _one(keyring, now)
    stored = Child.objects.get(pk=child.pk)
    for group in FIELD_GROUPS:
        assert b"Hartley" not in bytes(getattr(stored, group))


def test_a_child_is_indexed_by_visible_and_hidden_fields_unless_shielded(keyring, now):
    plain, shielded = _one(keyring, now), _one(keyring, now, shielded=True)

    def searchable(child):
        return {t for t in IndexEntry.objects.filter(child=child).values_list("token", flat=True)
                if t >> 32 in SEARCHABLE}

    # The same names and birthday; a shielded child's identifiers and postcode are indexed for matching only.
    assert searchable(shielded) < searchable(plain)
    match_only = {t for t in IndexEntry.objects.filter(child=shielded).values_list("token", flat=True)} - \
        searchable(shielded)
    # names + birth year and names + postcode are match-only for every child, shielded or not
    everyones = {t for t in match_only if keyed_by_year(t) or keyed_by_postcode(t)}
    hidden = match_only - everyones
    assert len(hidden) == 2  # NHS number and date of birth + postcode
    assert everyones <= set(IndexEntry.objects.filter(child=plain).values_list("token", flat=True))


def test_saving_a_changed_record_reindexes_it(keyring, now):
    child = _one(keyring, now)
    before = set(IndexEntry.objects.filter(child=child).values_list("token", flat=True))
    record = load_record(keyring, child)
    save_record(keyring, child, record.with_changes(nhs_number=None), now=now)
    after = set(IndexEntry.objects.filter(child=child).values_list("token", flat=True))
    assert len(after) == len(before) - 1
    assert Child.objects.get(pk=child.pk).version == 2


def test_shredding_destroys_the_key_the_tokens_and_the_row(keyring, now):
    child = _one(keyring, now)
    shred(child)
    assert not DataKey.objects.filter(child_id=child.pk).exists()
    assert not IndexEntry.objects.filter(child_id=child.pk).exists()
    assert not Child.objects.filter(pk=child.pk).exists()
    with pytest.raises(VaultError):
        load_record(keyring, child)  # the in-memory row still has its ciphertext, but no key opens it


def test_the_postcodes_other_sources_hold_are_stored_sealed_and_indexed_for_matching_alone(keyring, now):
    """A best view's other postcodes (an old address a source still holds) go into the whereabouts group, sealed,
    and into match-only indexes: matching finds the child there; search, which reads only the searchable indexes,
    does not, shielded or not."""
    plain = _one(keyring, now)
    moved = _one(keyring, now, make_record().with_changes(other_postcodes=("LS6 2AB", "NW1 8NQ")))
    shielded = _one(keyring, now, make_record().with_changes(other_postcodes=("LS6 2AB",)), shielded=True)
    assert load_record(keyring, moved).other_postcodes == ("LS6 2AB", "NW1 8NQ")
    assert b"LS6 2AB" not in bytes(Child.objects.get(pk=moved.pk).whereabouts)

    def tokens(child):
        return set(IndexEntry.objects.filter(child=child).values_list("token", flat=True))

    added = tokens(moved) - tokens(plain)
    assert added and not any(t >> 32 in SEARCHABLE for t in added)
    assert {t for t in tokens(moved) if t >> 32 in SEARCHABLE} == {t for t in tokens(plain) if t >> 32 in SEARCHABLE}
    assert not any(t >> 32 in SEARCHABLE for t in tokens(shielded) - tokens(_one(keyring, now, shielded=True)))
    # Read back where the whereabouts are withheld (a shielded child), there is nothing of them.
    assert "other_postcodes" not in load_groups(keyring, shielded, ["names", "birth"])


def test_a_whereabouts_group_sealed_before_other_postcodes_were_kept_reads_as_none(keyring, now):
    record = make_record()
    stored = encode_groups(record)
    assert decode_groups(record.cpid, stored)["other_postcodes"] == ()  # the same bytes as before: no object
    assert stored["whereabouts"] == encode_groups(record.with_changes(other_postcodes=()))["whereabouts"]
