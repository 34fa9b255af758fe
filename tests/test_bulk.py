"""The bulk paths the feed pipeline writes through behave the same on SQLite and PostgreSQL (both test passes)."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from contactpoint import bulk
from contactpoint.access.models import Organisation
from contactpoint.children.models import Child
from contactpoint.children.store import NewChild, cipher_for, create_children, save_records, tokens_for
from contactpoint.vault.models import IndexEntry
from tests.factories import make_record

pytestmark = pytest.mark.django_db

MANY = 2 * bulk.SQLITE_CHUNK + 7  # more than one chunk where the database needs chunks


@pytest.fixture
def two(keyring, now) -> list[int]:
    made = create_children(keyring, [NewChild(make_record(), "202"), NewChild(make_record(), "203")], now=now)
    return [m.id for m in made]


def tokens_of(child_id: int) -> set[int]:
    return set(IndexEntry.objects.filter(child_id=child_id).values_list("token", flat=True))


def test_rows_copied_in_are_found_by_a_list_longer_than_any_chunk(two):
    first, second = two
    rows = [(token, first if token % 2 else second) for token in range(1, MANY + 1)]
    bulk.insert("vault_index", ("token", "child_id"), iter(rows))
    found = bulk.select_any("SELECT token, child_id FROM vault_index WHERE child_id = %s AND token {any}",
                            list(range(1, MANY + 1)), [first])
    assert sorted(found) == sorted(r for r in rows if r[1] == first)
    assert {t for q in bulk.any_of("token", list(range(1, MANY + 1)))
            for t in IndexEntry.objects.filter(q).values_list("token", flat=True)} == set(range(1, MANY + 1))


def test_an_empty_list_finds_nothing(two):
    assert bulk.select_any("SELECT token FROM vault_index WHERE token {any}", []) == []
    assert list(bulk.any_of("token", [])) == []


def test_a_duplicate_copied_in_is_djangos_integrity_error_and_leaves_nothing(two):
    first, _ = two
    before = tokens_of(first)
    with pytest.raises(IntegrityError), transaction.atomic():
        bulk.insert("vault_index", ("token", "child_id"), [(1, first), (2, first), (1, first)])
    assert tokens_of(first) == before


def test_update_sets_each_rows_own_values_and_the_shared_ones(two):
    first, second = two
    bulk.update("children_child", "id", ["responsible_la"], [(first, "210"), (second, "211")],
                extra="version = version + 1")
    assert dict(Child.objects.filter(id__in=two).values_list("id", "responsible_la")) == {first: "210",
                                                                                         second: "211"}
    assert set(Child.objects.filter(id__in=two).values_list("version", flat=True)) == {2}


def test_delete_removes_exactly_the_pairs_given(two):
    first, second = two
    bulk.insert("vault_index", ("token", "child_id"), [(5, first), (5, second), (6, first)])
    bulk.delete("vault_index", ("token", "child_id"), [(5, first), (6, second)])
    assert {5, 6} & tokens_of(first) == {6}
    assert 5 in tokens_of(second)


def test_saving_records_keeps_the_index_exactly_the_records_tokens(keyring, now, two):
    """Only changed tokens are written: the index must still end up exactly as a fresh write would leave it."""
    children = list(Child.objects.filter(id__in=two).order_by("id"))
    moved = make_record(postcode="NW1 0NE", family="Hartley-Jones")
    unchanged = make_record()
    bulk.insert("vault_index", ("token", "child_id"), [(99, children[1].pk)])  # a stale token
    save_records(keyring, [(children[0], moved, cipher_for(keyring, children[0])),
                           (children[1], unchanged, cipher_for(keyring, children[1]))], now=now)
    assert tokens_of(children[0].pk) == tokens_for(keyring, moved, shielded=False)
    assert tokens_of(children[1].pk) == tokens_for(keyring, unchanged, shielded=False)


def test_reserved_ids_are_never_given_again_by_the_database():
    """A first load names its source records by IDs taken beforehand (``reserve_ids``) and writes them in the
    same transaction: no row made afterwards may be given one of them, even where the highest row was deleted."""

    def made(code: str) -> int:
        return Organisation.objects.create(code=code, name=code, kind="school").pk

    made("BULK-1")
    last = made("BULK-2")
    Organisation.objects.filter(pk=last).delete()
    with transaction.atomic():
        reserved = bulk.reserve_ids("access_organisation", 5)
        assert len(set(reserved)) == 5 and min(reserved) > last
        bulk.insert("access_organisation", ("id", "code", "name", "kind", "la_code", "accredited", "suspended_reason"),
                    [(n, f"BULK-R{n}", "reserved", "school", "", True, "") for n in reserved])
    assert made("BULK-4") > max(reserved)
    assert bulk.reserve_ids("access_organisation", 0) == []
