"""A first load's rows kept between reading and writing (``ingest.spill``): read back exactly, sealed on disk,
gone from the folder once the load has them open, and never left by a reading that failed."""

from __future__ import annotations

import pickle

import pytest
from cryptography.exceptions import InvalidTag
from hypothesis import given
from hypothesis import strategies as st

from contactpoint.ingest import spill

rows = st.lists(st.tuples(
    st.text(min_size=1, max_size=64), st.text(max_size=64), st.integers(min_value=1, max_value=2**31 - 1),
    st.lists(st.tuples(st.sampled_from(["nhs_number", "date_of_birth", "postcode"]), st.text(max_size=40)),
             max_size=3).map(tuple),
    st.binary(max_size=2000)), max_size=30)


@given(rows)
def test_every_row_comes_back_as_it_went_in_whatever_order_it_is_asked_for(tmp_path_factory, written):
    writer = spill.SpillWriter(tmp_path_factory.mktemp("spill"))
    for row in written:
        writer.add(*row)
    kept = pickle.loads(pickle.dumps(writer.finish()))  # as it comes back from the reading process
    try:
        assert len(kept) == len(written)
        for position in reversed(range(len(written))):
            assert kept.get(position) == spill.Stored(*written[position])
    finally:
        kept.close()


def test_the_file_holds_nothing_in_clear_and_leaves_the_folder_when_opened(tmp_path):
    writer = spill.SpillWriter(tmp_path / "load")
    writer.add("key-1", "hash-1", 7, (("nhs_number", "not a valid NHS number"),),
               b'{"family":"Canaryfield","dob":"2015-03-02","nhs":"9434765919"}')
    kept = writer.finish()
    on_disk = kept.path.read_bytes()
    for clear in (b"Canaryfield", b"2015-03-02", b"9434765919", b"key-1", b"not a valid"):
        assert clear not in on_disk
    kept.open()
    assert list((tmp_path / "load").iterdir()) == []  # unlinked: it goes with the process, killed or not
    assert kept.get(0).payload.startswith(b'{"family":"Canaryfield"')
    kept.close()


def test_a_row_changed_on_disk_is_refused_not_read(tmp_path):
    writer = spill.SpillWriter(tmp_path)
    writer.add("key-1", "hash-1", 1, (), b"payload one")
    writer.add("key-2", "hash-2", 2, (), b"payload two")
    kept = writer.finish()
    data = bytearray(kept.path.read_bytes())
    data[-3] ^= 1
    kept.path.write_bytes(bytes(data))
    with pytest.raises(InvalidTag):
        kept.get(1)
    assert kept.get(0).payload == b"payload one"
    kept.close()


def test_a_reading_that_fails_leaves_no_file(tmp_path):
    with pytest.raises(RuntimeError), spill.writing(tmp_path) as writer:
        writer.add("key-1", "hash-1", 1, (), b"payload")
        raise RuntimeError("the file stopped being UTF-8")
    assert list(tmp_path.iterdir()) == []
