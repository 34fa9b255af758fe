from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contactpoint.errors import VaultError
from contactpoint.vault import blindindex as bi
from contactpoint.vault.cipher import ChildCipher, new_child_key, open_child_key

KEY = bytes(range(32))
field_names = st.sampled_from(["names", "birth", "identifiers", "whereabouts", "carers", "gp"])


@given(st.binary(max_size=4096), field_names, st.text(alphabet="0123456789", min_size=12, max_size=12))
def test_any_value_round_trips_through_encryption(plaintext, field, cpid):
    cipher = ChildCipher(cpid, KEY)
    sealed = cipher.seal(field, plaintext)
    if len(plaintext) >= 16:
        assert plaintext not in sealed
    assert cipher.open(field, sealed) == plaintext


@settings(max_examples=200)
@given(st.binary(min_size=1, max_size=256), st.data())
def test_a_flipped_bit_anywhere_in_a_ciphertext_is_refused_with_a_generic_error(plaintext, data):
    cipher = ChildCipher("100000000012", KEY)
    sealed = bytearray(cipher.seal("names", plaintext))
    bit = data.draw(st.integers(0, len(sealed) * 8 - 1))
    sealed[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(VaultError) as refused:
        cipher.open("names", bytes(sealed))
    assert str(refused.value) == "the record could not be decrypted"


def test_a_ciphertext_moved_to_another_child_is_refused():
    sealed = ChildCipher("100000000012", KEY).seal("names", b"Amelia Hartley")
    # Even with the very same data key, the other child's ID is bound in as associated data.
    with pytest.raises(VaultError):
        ChildCipher("200000000024", KEY).open("names", sealed)


def test_a_ciphertext_moved_to_another_field_is_refused():
    cipher = ChildCipher("100000000012", KEY)
    sealed = cipher.seal("names", b"Amelia Hartley")
    with pytest.raises(VaultError):
        cipher.open("carers", sealed)


def test_a_wrapped_data_key_opens_only_for_its_own_child(keyring):
    cipher, kek_id, wrapped = new_child_key(keyring, "100000000012")
    sealed = cipher.seal("birth", b"2015-06-03")
    assert open_child_key(keyring, "100000000012", kek_id, wrapped).open("birth", sealed) == b"2015-06-03"
    with pytest.raises(VaultError):
        open_child_key(keyring, "200000000024", kek_id, wrapped)


def test_each_child_gets_a_different_data_key(keyring):
    a, _, wrapped_a = new_child_key(keyring, "100000000012")
    b, _, wrapped_b = new_child_key(keyring, "100000000012")
    assert wrapped_a != wrapped_b
    with pytest.raises(VaultError):
        b.open("names", a.seal("names", b"x"))


def test_the_same_value_in_two_indexes_gives_different_tokens(keyring):
    value = "9434765919"
    tokens = {index.name: index.token(keyring, value) & ((1 << 32) - 1) for index in bi.CATALOGUE}
    assert len(set(tokens.values())) == len(bi.CATALOGUE)


@pytest.fixture(scope="module")
def module_ring(tmp_path_factory):
    from contactpoint.vault.keyring import FileKeyRing, create_keyring_file

    path = tmp_path_factory.mktemp("ring") / "ring.json"
    create_keyring_file(path)
    return FileKeyRing(path)


@given(value=st.text(min_size=1, max_size=40))
def test_tokens_are_stable_truncated_and_carry_their_index(module_ring, value):
    token = bi.FAMILY_DOB.token(module_ring, value)
    assert token == bi.FAMILY_DOB.token(module_ring, value)
    assert bi.index_of(token) is bi.FAMILY_DOB
    assert token & ((1 << 32) - 1) < 1 << bi.TOKEN_BITS


def test_two_key_rings_give_unrelated_tokens(keyring, tmp_path):
    from contactpoint.vault.keyring import FileKeyRing, create_keyring_file

    other_path = tmp_path / "other.json"
    create_keyring_file(other_path)
    other = FileKeyRing(other_path)
    assert bi.NHS_NUMBER.token(keyring, "9434765919") != bi.NHS_NUMBER.token(other, "9434765919")
