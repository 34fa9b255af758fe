from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contactpoint.access.reasons import Reason, parse_reason
from contactpoint.errors import SearchRefused, ValidationError
from contactpoint.search import policy
from contactpoint.search.criteria import parse_criteria

TODAY = date(2026, 11, 24)


def criteria(**kw):
    return parse_criteria(today=TODAY, **kw)


def refusal(**kw) -> str:
    with pytest.raises(SearchRefused) as refused:
        policy.check(criteria(**kw))
    assert refused.value.code == "insufficient_criteria"
    return refused.value.message


def test_a_family_name_alone_is_refused_with_what_to_add():
    assert refusal(family="Hartley").startswith("Add the date of birth")


def test_given_and_family_without_a_date_of_birth_ask_for_the_date_of_birth():
    assert refusal(given="Amelia", family="Hartley").startswith("Add the date of birth")


def test_a_date_of_birth_alone_asks_for_the_family_name():
    assert refusal(birthdate="2015-06-03").startswith("Add the family name")


def test_given_name_and_date_of_birth_ask_for_family_name_or_gender_and_postcode():
    message = refusal(given="Amelia", birthdate="2015-06-03")
    assert message.startswith("Add the family name or the gender and postcode")


def test_a_postcode_alone_is_refused():
    assert "date of birth" in refusal(postcode="NW1 8NP")


def test_nothing_at_all_is_refused():
    assert refusal().startswith("Add the family name and date of birth")


@pytest.mark.parametrize("kw,rule", [
    ({"contactpoint_id": "4827 1936 052" + "7"}, None),
    ({"nhs_number": "943 476 5919"}, "nhs_number"),
    ({"upn": "A202123425001"}, None),
    ({"family": "Hartley", "birthdate": "2015-06-03"}, "family+birthdate"),
    ({"given": "Amelia", "family": "Hartley", "birthdate": "2015-06-03"}, "given+family+birthdate"),
    ({"family": "Hartley", "birthdate": "2015-06-03", "gender": "female", "postcode": "NW1 8NP"},
     "family+birthdate+gender+postcode"),
    ({"given": "Amelia", "birthdate": "2015-06-03", "gender": "female", "postcode": "NW1 8NP"},
     "given+birthdate+gender+postcode"),
])
def test_each_minimum_combination_is_accepted(kw, rule):
    from stdnum.iso7064 import mod_37_36

    if "contactpoint_id" in kw:
        kw["contactpoint_id"] = "48271936052" + mod_37_36.calc_check_digit("48271936052")
    if "upn" in kw:
        from contactpoint.children.identifiers import upn_check_letter

        kw["upn"] = upn_check_letter("202123425001") + "202123425001"
    decision = policy.check(criteria(**kw))
    if rule:
        assert decision.rule.name == rule


def test_a_wildcard_needs_two_leading_letters():
    with pytest.raises(SearchRefused, match="at least 2 letters of the family name before the"):
        policy.check(criteria(family="H*", birthdate="2015-06-03"))
    assert policy.check(criteria(family="Ha*", birthdate="2015-06-03")).rule.name == "family+birthdate"


def test_a_wildcard_in_the_middle_or_in_an_identifier_is_invalid():
    with pytest.raises(ValidationError, match="only go at the end"):
        criteria(family="Ha*ley", birthdate="2015-06-03")
    with pytest.raises(ValidationError, match="only be used in names"):
        criteria(nhs_number="943*")


def test_a_date_of_birth_in_the_future_is_invalid():
    with pytest.raises(ValidationError, match="in the past"):
        criteria(family="Hartley", birthdate="2027-01-01")


def test_only_visible_field_rules_can_find_a_shielded_child():
    assert policy.check(criteria(family="Hartley", birthdate="2015-06-03")).shielded_eligible
    assert not policy.check(criteria(nhs_number="9434765919")).shielded_eligible
    assert not policy.check(criteria(given="Amelia", birthdate="2015-06-03", gender="female",
                                     postcode="NW1 8NP")).shielded_eligible


fields = st.fixed_dictionaries({}, optional={
    "family": st.sampled_from(["Hartley", "Ha*", "H*", "Smith-Jones"]),
    "given": st.sampled_from(["Amelia", "Am*", "Bill"]),
    "birthdate": st.just("2015-06-03"),
    "gender": st.sampled_from(["male", "female"]),
    "postcode": st.just("NW1 8NP"),
    "nhs_number": st.just("9434765919"),
})


@given(fields)
def test_the_policy_either_names_a_rule_the_criteria_meet_or_says_what_to_add(kw):
    c = criteria(**kw)
    try:
        decision = policy.check(c)
    except SearchRefused as refused:
        assert refused.message.startswith(("Add the", "Enter at least 2 letters"))
        return
    for rule in decision.rules:
        assert rule.needs <= c.given_fields()


@pytest.mark.parametrize("code", [r.value for r in Reason if r != Reason.OTHER])
def test_every_listed_reason_is_accepted(code):
    assert parse_reason(code).reason == Reason(code)


def test_no_reason_or_an_unknown_one_is_refused():
    with pytest.raises(ValidationError, match="choose why"):
        parse_reason("")
    with pytest.raises(ValidationError, match="must be one of"):
        parse_reason("curiosity")


def test_other_needs_a_real_explanation():
    with pytest.raises(ValidationError, match="at least 10"):
        parse_reason("other", "because")
    with pytest.raises(ValidationError, match="200 characters"):
        parse_reason("other", "x" * 201)
    assert parse_reason("other", "Private fostering notification check").text.startswith("Private")
