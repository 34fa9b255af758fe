"""Addresses: real postcodes, in places that belong to each local authority."""

from __future__ import annotations

import random

import pytest
import uk_postcodes_parsing

from contactpoint.reference import current_local_authorities, local_authority
from contactpoint.synthetic.postcodes import LA_DISTRICTS, REGION_AREAS, AddressMaker, districts, incodes


@pytest.mark.parametrize("la_code", sorted(LA_DISTRICTS))
def test_hand_written_districts_are_real_outward_codes_of_current_las(la_code):
    assert local_authority(la_code) and local_authority(la_code).current
    for outcode, town in LA_DISTRICTS[la_code]:
        assert len(incodes(outcode)) > 50, outcode
        assert town


def test_other_las_live_in_a_postcode_area_of_their_own_region_always_the_same_one():
    others = [la for la in current_local_authorities() if la.code not in LA_DISTRICTS][::10]
    for la in others:
        picked = districts(la.code)
        areas = {area for area, _ in REGION_AREAS[la.region]}
        assert picked
        for outcode, _ in picked:
            assert any(outcode.startswith(a) and outcode[len(a)].isdigit() for a in areas), outcode
        assert all(len(incodes(outcode)) >= 200 for outcode, _ in picked)  # residential, not PO boxes
    assert districts("926") == LA_DISTRICTS["926"]


def test_addresses_have_real_postcodes_and_neighbours_share_a_street():
    maker = AddressMaker("202", ("Arkwright Road", "Fellows Road", "Belsize Avenue"))
    rng = random.Random(1)
    addresses = [maker.address(rng) for _ in range(300)]
    assert all(uk_postcodes_parsing.is_in_ons_postcode_directory(a.postcode) for a in addresses)
    assert {a.postcode.split()[0] for a in addresses} <= {oc for oc, _ in LA_DISTRICTS["202"]}
    street_of = {}
    for a in addresses:
        street = (a.line_2 or a.line_1).split(" ", 1)[1]
        assert street_of.setdefault(a.postcode, street) == street
    assert all(a.town == "London" and a.la_code == "202" for a in addresses)
