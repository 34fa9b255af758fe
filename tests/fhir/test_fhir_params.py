"""FHIR search parameters become the search's own criteria, or a refusal naming the parameter; never anything
else, whatever a client sends."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contactpoint.errors import ValidationError
from contactpoint.fhir import systems
from contactpoint.fhir.params import DATE_PREFIXES, criteria_arguments
from contactpoint.search.criteria import parse_criteria

TODAY = date(2026, 11, 24)


def args(**given_params):
    base = {"family": None, "given": None, "birthdate": None, "gender": None, "postalcode": None,
            "identifier": None}
    return criteria_arguments(**(base | given_params))


@given(family=st.none() | st.text(max_size=30), given_name=st.none() | st.text(max_size=30),
       birthdate=st.none() | st.text(max_size=14), gender=st.none() | st.text(max_size=10),
       postalcode=st.none() | st.text(max_size=10), identifier=st.none() | st.text(max_size=60))
def test_any_parameters_give_criteria_or_a_refusal_naming_a_field(family, given_name, birthdate, gender, postalcode,
                                                                 identifier):
    try:
        parse_criteria(**args(family=family, given=given_name, birthdate=birthdate, gender=gender,
                              postalcode=postalcode, identifier=identifier), today=TODAY)
    except ValidationError as refused:
        assert refused.field in {"family", "given", "birthdate", "gender", "postcode", "identifier", "nhs_number",
                                 "upn", "contactpoint_id"}


@given(day=st.dates(min_value=date(2000, 1, 1), max_value=TODAY), prefix=st.sampled_from(DATE_PREFIXES))
def test_only_an_exact_day_of_birth_is_searched(day, prefix):
    if prefix == "eq":
        assert args(birthdate=f"eq{day.isoformat()}")["birthdate"] == day.isoformat()
    else:
        with pytest.raises(ValidationError) as refused:
            args(birthdate=f"{prefix}{day.isoformat()}")
        assert refused.value.field == "birthdate"
    assert args(birthdate=day.isoformat())["birthdate"] == day.isoformat()


@pytest.mark.parametrize("identifier,field,value", [
    (f"{systems.NHS_NUMBER}|9434765919", "nhs_number", "9434765919"),
    ("9434765919", "nhs_number", "9434765919"),
    (f"{systems.UPN}|T202123415001", "upn", "T202123415001"),
    (f"{systems.CONTACTPOINT_ID}|681753509422", "contactpoint_id", "681753509422"),
])
def test_identifier_systems(identifier, field, value):
    assert args(identifier=identifier)[field] == value


@pytest.mark.parametrize("fhir_gender,ours", [("male", "male"), ("female", "female"), ("other", "not specified"),
                                              ("unknown", "not specified"), ("FEMALE", "female")])
def test_fhir_genders(fhir_gender, ours):
    assert args(gender=fhir_gender)["gender"] == ours
