"""What a record's match profile says of its home: the key that knows one home with its postcode mistyped or missing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pyarrow as pa

from contactpoint.children.record import Address, Carer, PersonName
from contactpoint.ingest import load as loading
from contactpoint.matching.cluster import Edge, decide, given_names_compatible
from contactpoint.matching.engine import score
from contactpoint.matching.model import settings_creator, thresholds, trained_settings
from contactpoint.matching.profile import arrow_table, profile

UNSURE = sum(thresholds()) / 2  # between the review and link thresholds


@dataclass(frozen=True)
class _Row:  # what profiling reads of a feed's row
    name: PersonName
    address: Address | None
    date_of_birth: date = date(2021, 9, 1)
    former_family_names: tuple[str, ...] = ()
    gender: None = None
    nhs_number: str | None = None
    upn: str | None = None
    uln: None = None
    carers: tuple = ()


def _key(line_1: str, line_2: str = "", postcode: str = "SE3 7TN") -> str | None:
    return profile("x", "health", _Row(PersonName("Ava", "Campbell"), Address(line_1, line_2, "London", postcode)))[
        "address_key"]


def test_a_flat_is_known_by_its_street_not_by_its_number_alone():
    """Every "Flat 36" in England was one home: at 3 million records, a third of the pairs the model was unsure of
    were two children of one name and birthday in two such flats."""
    assert _key("Flat 36", "22 Fellows Road") != _key("Flat 36", "9 Mill Lane")
    assert _key("Flat 36") is None  # no street: nothing to know the home by


def test_a_flat_written_on_one_line_or_on_two_is_one_home():
    assert _key("Flat 36", "22 Fellows Road") == _key("Flat 36, 22 Fellows Road") == _key("FLAT 36, 22 fellows road")
    assert _key("22a Fellows Road", "Hampstead") == _key("22A Fellows Road")
    assert _key("22 Fellows Road") != _key("24 Fellows Road")


def test_a_street_written_in_full_or_abbreviated_is_one_home():
    """Sources abbreviate as their systems do: "Fellows Road" and "Fellows Rd." are one street, and a child whose
    postcode one of them mistyped is still known at home."""
    assert _key("22 Fellows Road") == _key("22 Fellows Rd.") == _key("22 FELLOWS RD")
    assert _key("Flat 36", "22 Fellows Road") == _key("Flat 36, 22 Fellows Rd")
    assert _key("12 St John's Road") == _key("12 Saint Johns Rd")
    assert _key("9 Parkside Avenue") == _key("9 Parkside Ave") and _key("3 Mill Gardens") == _key("3 Mill Gdns")
    # Streets of the same name are still told apart by their kind (Agar Grove and Agar Place meet in Camden).
    assert _key("4 Agar Grove") != _key("4 Agar Place")
    assert _key("4 Parkside") != _key("4 Park Side Road")


def test_a_whole_address_on_one_line_is_the_same_home():
    """Some systems have one line for the whole address: the town and postcode after the street are not the home's
    numbers or street."""
    assert _key("12 Agar Grove, London, NW1 8NP") == _key("12 Agar Grove") == _key("12, Agar Grove")
    assert _key("Flat 36, 22 Fellows Road, Hampstead, London") == _key("Flat 36", "22 Fellows Road, Hampstead")
    assert _key("Flat 36, 22 Fellows Road, London") == _key("Flat 36", "22 Fellows Road")


def test_a_street_with_a_space_lost_or_moved_is_still_one_home():
    """FEBRL4's duplicates lose or move a space in one pair in sixteen ("cartercrescent", "lamb p lace"):
    abbreviating word by word alone would have parted them."""
    assert _key("8 Carter Crescent") == _key("8 cartercrescent") == _key("8 Carter Cres")
    assert _key("17 Lamb Place") == _key("17 lamb p lace") and _key("1 Lamington Street") == _key("1 lamingtons treet")


def test_namesakes_in_flats_of_the_same_number_in_different_streets_are_not_put_to_a_person():
    """Two Ava Campbells born on one day, with different NHS numbers, in flat 36 of two streets in two towns: they
    live apart, and a person shown them could add nothing."""
    a = profile("a", "health", _Row(PersonName("Ava", "Campbell"), Address("Flat 36", "22 Fellows Road", "London",
                                                                        "SE3 7TN"), nhs_number="4870086050"))
    b = profile("b", "health", _Row(PersonName("Ava", "Campbell"), Address("Flat 36", "5 Station Road", "Romford",
                                                                        "RM1 4AZ"), nhs_number="4010232137"))
    out = decide(["a", "b"], {}, {"a": a, "b": b}, [Edge("a", "b", UNSURE)])
    assert out.group_of["a"] != out.group_of["b"] and not out.reviews


def test_a_first_load_decides_as_the_feeds_do():
    """A first load keeps only what the clustering reads of each profile (``ingest.load._Profiles``): leaving a
    column out silently changes its decisions. Brothers born ten years apart at one home, two flats 36 of two
    streets, and namesakes whose mothers share a name are decided alike both ways."""
    home = Address("81 Morris Street", "", "Harrow", "HA1 3LW")
    rows = [
        _Row(PersonName("Joseph", "Baldwin"), home, date(2024, 7, 3), nhs_number="4412592057"),
        _Row(PersonName("Josh", "Baldwin"), home, date(2014, 8, 9), upn="Q205200018033"),
        _Row(PersonName("Ava", "Campbell"), Address("Flat 36", "22 Fellows Road", "London", "SE3 7TN"),
             nhs_number="4870086050"),
        _Row(PersonName("Ava", "Campbell"), Address("Flat 36", "5 Station Road", "Romford", "RM1 4AZ"),
             nhs_number="4010232137"),
    ]
    profiles = [profile(str(n), "health", row) for n, row in enumerate(rows)]
    edges = [Edge(0, 1, UNSURE), Edge(2, 3, UNSURE)]
    by_dict = decide(range(len(rows)), {}, {n: p for n, p in enumerate(profiles)}, edges)
    numbered = arrow_table(profiles)
    numbered = numbered.set_column(0, "unique_id", pa.array(range(len(rows)), type=pa.int64()))
    by_load = decide(range(len(rows)), {}, loading._Profiles(numbered), edges)
    assert by_load.group_of == by_dict.group_of and by_load.reviews == by_dict.reviews == []


def test_forenames_written_in_one_field_are_read_as_a_first_and_a_middle_name():
    """Systems with one field for a child's forenames send "Amelia Rose": to matching she is Amelia (or Millie),
    with Rose her middle name, as the source that sends them apart has her. (The model still compares the given
    name whole: read as its first word, "Simpson Gill", a family name written as the given name, no longer looked
    swapped, and at a million records four more children held two people.)"""
    one_field = profile("a", "education", _Row(PersonName("Amelia Rose", "Hartley"), None))
    apart = profile("b", "health", _Row(PersonName("Millie", "Hartley", middle="Rose"), None))
    assert one_field["middle"] == apart["middle"] == "ROSE"
    assert set(one_field["given_roots"]) & set(apart["given_roots"]) == {"AMELIA"}
    # A typo of her name in another source is one letter away, as it would be from "Amelia" sent apart.
    typo = profile("c", "benefit", _Row(PersonName("Amlia", "Hartley"), None))
    assert given_names_compatible(one_field, typo)
    # A stray space is a typo of one name, not two forenames (FEBRL4 has one in eighty of its given names).
    assert profile("f", "x", _Row(PersonName("Isabe lla", "Hartley"), None))["given"] == "ISABELLA"
    # A double first name written whole elsewhere is still the same name.
    assert given_names_compatible(profile("d", "x", _Row(PersonName("Mary Ann", "Hartley"), None)),
                                  profile("e", "x", _Row(PersonName("Maryann", "Hartley"), None)))
    assert profile("c", "health", _Row(PersonName("Lily-Mae", "Hartley"), None))["middle"] is None


def test_no_fixed_abode_or_an_address_withheld_is_no_home_to_share():
    """Every child "of no fixed abode", or whose address a source withholds, would otherwise live at one home."""
    assert _key("No Fixed Abode") is None and _key("NFA") is None and _key("Address withheld") is None
    assert _key("Address Confidential", "22 Fellows Road") is None
    assert _key("Unknown Cottage") is not None  # a house's name is a home


def test_a_carer_is_the_same_carer_with_or_without_a_title():
    """One source writes "Mrs Sarah Hartley", another "Sarah Hartley": one mother, the evidence of a move."""
    def carers(*names):
        return profile("x", "health", _Row(PersonName("Amelia", "Hartley"), None,
                                           carers=tuple(Carer(n, "mother", None, "") for n in names)))["carer_names"]
    assert carers("Mrs Sarah Hartley") == carers("Sarah Hartley") == carers("MRS. SARAH HARTLEY") == ["SARAHHARTLEY"]
    assert carers("Dr Ade Okafor", "Mr. Tom Okafor") == ["ADEOKAFOR", "TOMOKAFOR"]
    assert carers("Mrsa Jones") == ["MRSAJONES"]  # a name, not a title


def test_names_the_other_way_round_with_a_surname_of_two_words_are_still_one_childs():
    """ "Simpson Gill" as the given name and "Freya" as the family name is Freya Simpson Gill's record with the
    names swapped, though the given field, read as forenames, starts with "Simpson"."""
    swapped = profile("a", "benefit", _Row(PersonName("Simpson Gill", "Freya"), None))
    right = profile("b", "health", _Row(PersonName("Freya", "Simpson Gill"), None))
    assert given_names_compatible(swapped, right) and given_names_compatible(right, swapped)


def test_forenames_in_one_field_sound_as_their_first():
    """The blocking rules pair records by the given name's sound: a school's "Logan Leon" sounded as "Loganleon"
    whole, was never paired with the GP's Logan once one of them had moved, and made a second child."""
    def sound(given: str, middle: str = "") -> str:
        return profile("x", "school_census", _Row(PersonName(given, "Walker", middle), None))["given_metaphone"]

    assert sound("Logan Leon") == sound("Logan", "Leon") == sound("Logan")
    assert sound("Logan Leon") != sound("Leon")


def _decided(*rows: _Row) -> tuple[list[int], list[float]]:
    """Each row's group when the rows are scored by the saved model and decided, and the pairs' probabilities."""
    profiles = {str(n): profile(str(n), "health", row) for n, row in enumerate(rows)}
    edges = score(list(profiles.values()), set(profiles), threshold=0.0)
    out = decide(list(profiles), {}, profiles, [e for e in edges if e.probability >= thresholds()[1]])
    groups = {g: n for n, g in enumerate(dict.fromkeys(out.group_of[str(i)] for i in range(len(rows))))}
    return [groups[out.group_of[str(i)]] for i in range(len(rows))], sorted(e.probability for e in edges)


def test_a_date_of_birth_mistyped_as_people_mistype_dates_is_still_one_childs():
    """The same names and postcode, the street mistyped and no identifier on one side, a date of birth slipped as
    people slip: two digits of the year swapped (2012 for 2021), a month wrong in both its digits (12 for 06), a
    year across a decade (2019 for 2020). Each was weighed as a date wrong altogether, and made a second child (a
    FEBRL4 pair). A sister at the same home, born two of the three parts apart, is still another child."""
    home = Address("1 Lambrigg Street", "", "Leeds", "LS6 2AB")
    slipped = Address("1 Lambrigg Sitreet", "", "Leeds", "LS6 2AB")
    ethan = PersonName("Ethan", "Hand")
    for gp, school in ((date(2021, 5, 3), date(2012, 5, 3)), (date(2021, 6, 22), date(2021, 12, 22)),
                       (date(2020, 4, 9), date(2019, 4, 9))):
        groups, _ = _decided(_Row(ethan, home, gp, nhs_number="4870086050"), _Row(ethan, slipped, school))
        assert groups == [0, 0], (gp, school)
    groups, _ = _decided(_Row(ethan, home, date(2021, 6, 22), nhs_number="4870086050"),
                         _Row(PersonName("Maisie", "Hand"), home, date(2021, 12, 22)))
    assert groups == [0, 1]


def test_namesakes_born_on_one_day_years_apart_whose_mothers_share_a_name_are_two_children():
    """Sophie Smith born 28 November 2016 and another born 28 November 2022, in two towns, each mother a Sarah
    Smith: the month and day alone are no slip of the date (at a million records they were joined when they
    counted with any year). With the years one apart (2019 for 2020), they are."""
    mother = (Carer("Sarah Smith", "mother", None, ""),)
    sophie = PersonName("Sophie", "Smith")
    groups, _ = _decided(_Row(sophie, Address("56 Rogers Drive", "", "London", "SW9 9QA"), date(2016, 11, 28),
                              carers=mother),
                         _Row(sophie, Address("51 Wong Place", "", "London", "WC1X 0BF"), date(2022, 11, 28),
                              carers=mother))
    assert groups == [0, 1]


def test_the_saved_model_compares_as_the_code_says():
    """The model is saved with the SQL of its comparisons: a level changed in code and not in the saved model (or
    the other way round) would score one way on DuckDB and another on Spark, which builds them from the code."""
    fresh = settings_creator().create_settings_dict("duckdb")["comparisons"]
    saved = trained_settings()["comparisons"]
    assert [[(lv["sql_condition"], lv.get("label_for_charts")) for lv in c["comparison_levels"]] for c in fresh] == \
        [[(lv["sql_condition"], lv.get("label_for_charts")) for lv in c["comparison_levels"]] for c in saved]
