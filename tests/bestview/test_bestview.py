"""The best view: which value a practitioner sees when sources disagree, and where it came from."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from contactpoint.bestview.build import Held, Manual, build
from contactpoint.bestview.rules import Claim, vote, weight
from contactpoint.children.record import Address, Gender, Involvement, PersonName, WhereaboutsState
from contactpoint.feeds.rows import FeedRow

RECEIVED = date(2026, 11, 1)


def held(source_kind: str, *, family="Okafor", given="Amara", dob=date(2015, 3, 4), gender=Gender.FEMALE,
         nhs=None, postcode="NW5 1TL", updated=date(2026, 10, 1), former=(), srid=None, involvement=None) -> Held:
    row = FeedRow(line=2, source_record_id=srid or f"{source_kind}-1", name=PersonName(given, family),
                  former_family_names=tuple(former), gender=gender, date_of_birth=dob, nhs_number=nhs,
                  address=Address("1 High Street", "", "London", postcode) if postcode else None,
                  whereabouts=WhereaboutsState.CURRENT if postcode else None, updated_at=updated,
                  involvement=involvement)
    return Held(source=source_kind.replace("_", "-"), source_kind=source_kind, feed_run=f"run-{source_kind}",
                received=RECEIVED, record_key=f"key-{source_kind}-{srid or 1}", row=row)


def test_the_more_trusted_source_wins_a_disagreement_and_the_other_gets_a_discrepancy():
    gp = held("gp_registrations", dob=date(2015, 3, 4))
    school = held("school_census", dob=date(2015, 4, 3))  # day and month swapped at the school
    view = build([school, gp])
    assert view.record.date_of_birth.value == date(2015, 3, 4)
    assert view.record.date_of_birth.provenance.source == "gp-registrations"
    assert view.discrepancies == {(school.record_key, "date_of_birth")}


def test_two_sources_agreeing_outvote_one_more_trusted_source():
    gp = held("gp_registrations", family="Okafor")
    school = held("school_census", family="Okafor-Ade")
    social = held("la_social_care", family="Okafor-Ade")
    view = build([gp, school, social])
    # 2 + 3 against 5: a tie in weight goes to the most trusted single source.
    assert weight("name", "school_census") + weight("name", "la_social_care") == weight("name", "gp_registrations")
    assert view.record.name.value.family == "Okafor"
    benefit = held("child_benefit", family="Okafor-Ade")
    assert build([gp, school, benefit]).record.name.value.family == "Okafor-Ade"  # 2 + 4 > 5


def test_whereabouts_follow_the_most_recent_report_and_old_surnames_become_former_names():
    gp = held("gp_registrations", postcode="NW5 1TL", updated=date(2026, 1, 5), family="Smith")
    benefit = held("child_benefit", postcode="N19 3AB", updated=date(2026, 9, 30), family="Jones",
                   former=("Smith",))
    view = build([gp, benefit])
    assert view.record.whereabouts.value.address.postcode == "N19 3AB"
    assert view.record.whereabouts.provenance.source == "child-benefit"
    chosen = view.record.name.value.family
    assert {f.value.family for f in view.record.former_names} == {"Smith", "Jones"} - {chosen}
    # The GP's old postcode is kept for matching alone; a source at the best view's postcode adds none.
    assert view.record.other_postcodes == ("NW5 1TL",)
    school = held("school_census", postcode="N19 3AB", updated=date(2026, 3, 1))
    assert build([benefit, school]).record.other_postcodes == ()
    assert build([gp, benefit, held("la_social_care", postcode=None)]).record.other_postcodes == ("NW5 1TL",)


def test_every_value_carries_its_provenance_and_every_source_is_listed():
    view = build([held("gp_registrations", nhs="9434765919"), held("school_census")])
    record = view.record
    for item in (record.name, record.date_of_birth, record.gender, record.nhs_number, record.whereabouts):
        assert item.provenance.source in {"gp-registrations", "school-census"}
        assert item.provenance.received == RECEIVED
    assert {s.source for s in record.source_ids} == {"gp-registrations", "school-census"}


def test_involvements_from_sources_and_practitioners_are_all_shown():
    from_source = Involvement(key="", service="Children's social care", practitioner_name="Jo Bloggs",
                              practitioner_phone="020 7974 1234", start_date=date(2026, 2, 1))
    view = build([held("la_social_care", involvement=from_source)],
                 [Manual(Involvement(key="manual-1", service="Health visiting", practitioner_name="Hana Begum",
                                     practitioner_phone="020 3317 0000", start_date=date(2026, 5, 1)),
                         "HLT-202001", date(2026, 5, 2))])
    services = {i.value.service for i in view.record.involvements}
    assert services == {"Children's social care", "Health visiting"}
    manual = next(i for i in view.record.involvements if i.value.service == "Health visiting")
    assert manual.provenance.source == "practitioner:HLT-202001"


def test_an_unknown_gender_never_outvotes_a_known_one():
    view = build([held("gp_registrations", gender=Gender.NOT_SPECIFIED), held("school_census", gender=Gender.MALE)])
    assert view.record.gender.value == Gender.MALE
    assert not any(field == "gender" for _, field in view.discrepancies)


KINDS = st.sampled_from(["gp_registrations", "child_benefit", "school_census", "la_social_care", "health", "other"])


@given(st.lists(st.tuples(st.sampled_from("ABC"), KINDS, st.dates(date(2020, 1, 1), date(2026, 11, 1))),
                min_size=1, max_size=8))
def test_the_vote_picks_a_value_with_the_most_weight_whatever_the_order_of_the_sources(claims):
    made = [Claim(value, kind, when, None) for value, kind, when in claims]
    winner = vote("name", made)
    totals: dict[str, int] = {}
    for c in made:
        totals[c.value] = totals.get(c.value, 0) + weight("name", c.source_kind)
    assert totals[winner.value] == max(totals.values())
    # Order never changes the outcome, unless two values tie on everything (weight, trust and date).
    again = vote("name", list(reversed(made)))
    if again.value != winner.value:
        assert (totals[again.value], weight("name", again.source_kind), again.recency) == \
            (totals[winner.value], weight("name", winner.source_kind), winner.recency)


def test_a_nickname_a_variant_or_part_of_a_double_barrelled_name_is_no_discrepancy():
    gp = held("gp_registrations", given="Evelyn", family="Okafor-Ade")
    for given_name, family in (("Evie", "Okafor-Ade"), ("Evelyn", "Okafor"), ("Evie", "Ade"), ("evelyn", "OKAFOR-ADE")):
        school = held("school_census", given=given_name, family=family)
        assert build([gp, school]).discrepancies == set(), (given_name, family)


def test_forenames_written_in_one_field_are_no_discrepancy():
    """A school system with one field for forenames sends "Evelyn Grace" where the GP sends Evelyn: nothing for
    the school to correct. A first name that differs still is a discrepancy."""
    gp = held("gp_registrations", given="Evelyn", family="Okafor")
    for given_name in ("Evelyn Grace", "Evie Grace", "EVELYN  GRACE ADAEZE"):
        school = held("school_census", given=given_name)
        assert build([gp, school]).discrepancies == set(), given_name
    school = held("school_census", given="Grace Evelyn")
    assert build([gp, school]).discrepancies == {(school.record_key, "name")}


def test_forenames_written_in_one_field_vote_with_the_name_they_hold():
    """Social care's "Amara" and the school's "Amara Grace" are one name against child benefit's mistyped "Amora":
    counted apart, the typo won the vote, and social care and the school were asked to correct her name."""
    benefit = held("child_benefit", given="Amora")
    care = held("la_social_care", given="Amara")
    school = held("school_census", given="Amara Grace")
    view = build([benefit, care, school])
    assert view.record.name.value.given == "Amara"
    assert view.discrepancies == {(benefit.record_key, "name")}


def test_a_different_given_name_or_family_name_is_still_a_discrepancy():
    gp = held("gp_registrations", given="Evelyn", family="Okafor")
    for given_name, family in (("Grace", "Okafor"), ("Evelyn", "Mensah")):
        school = held("school_census", given=given_name, family=family)
        assert build([gp, school]).discrepancies == {(school.record_key, "name")}
