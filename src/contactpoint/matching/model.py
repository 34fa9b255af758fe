"""The match model: Splink comparisons fit for children's records, and blocking rules that scale to England.

Comparisons (each level in order of decreasing specificity; m and u are trained by EM and saved with the model):

    nhs_number, upn, uln   exact / different                      (strong evidence either way)
    birth_date             exact / day and month swapped / one digit off or two next to each other swapped /
                           two of year, month and day the same (a month or day mistyped in both its digits; the
                           month and day with the year one off, across a decade: 2019 for 2020) / different
    given_name             exact / a nickname of (Bill ~ William) / equals other's middle name / the other's
                           family name (transposed) / Jaro-Winkler >= 0.92 / same sound / JW >= 0.80 / different
                           (where a source sends every forename in the given name, "Amelia Rose", its first
                           stands for the given name too: among the roots, swapped, and in the two JW levels)
    family_name            exact / shares a part or a former surname / the other's given name, or the first of
                           its forenames (transposed) / JW >= 0.92 / same sound / JW >= 0.80 / different
    address                home and carers together (siblings share both: two comparisons would count one
                           household twice): same home with a carer in common / same home / same postcode with a
                           carer in common / same postcode / same house and street (postcode mistyped or missing) /
                           another address with a carer in common (a move) / postcode one character off /
                           same sector / same district / different
    gender                 same / different

Blocking (only pairs sharing one of these are compared; each keeps blocks small at 11 million children):
NHS number; UPN; date of birth + family-name sound; date of birth + given-name sound; date of birth + postcode;
family and given sounds + two of the date of birth's three parts (one part mistyped); postcode + either name's sound
(a date of birth missing or mistyped); swapped date of birth + both names' sounds. Only the rules on a date of birth
and a name, and not a place, grow with the square of the children: England's movers are found by them.

The trained model is versioned JSON in ``contactpoint/matching/models/``; ``contactpoint match train``
retrains it. Decisions (link / new child / review) and the hard rules on top are in ``decide``.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import SettingsCreator, block_on

from contactpoint.errors import MatchingError

MODEL_VERSION = "child-match-v1"
MODELS = files("contactpoint.matching") / "models"


def _identifier(column: str) -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name=column,
        comparison_levels=[cll.NullLevel(column), cll.ExactMatchLevel(column), cll.ElseLevel()],
        comparison_description=f"{column} exact or different",
    )


_SAME_HOME = "postcode_l = postcode_r and address_key_l = address_key_r"
_NO_HOME = "postcode_{s} is null and address_key_{s} is null and carer_names_{s} is null"


def _with_carer(condition: str, label: str) -> Any:
    """``condition`` and a carer in common (composed, so each engine gets its own SQL for the list test)."""
    return cll.And(cll.CustomLevel(condition), cll.ArrayIntersectLevel("carer_names", 1)).configure(
        label_for_charts=label)


# Two of a date of birth's three parts the same: the year and month, the year and day, or the month and day with
# the years one apart.
DOB_TWO_PARTS = ("substr(dob_l, 1, 7) = substr(dob_r, 1, 7) or (substr(dob_l, 1, 4) = substr(dob_r, 1, 4) and "
                 "substr(dob_l, 9, 2) = substr(dob_r, 9, 2)) or (substr(dob_l, 6, 5) = substr(dob_r, 6, 5) and "
                 "abs(cast(substr(dob_l, 1, 4) as integer) - cast(substr(dob_r, 1, 4) as integer)) = 1)")


def comparisons() -> list[Any]:
    return [
        _identifier("nhs_number"),
        _identifier("upn"),
        _identifier("uln"),
        cl.CustomComparison(
            output_column_name="birth_date",
            comparison_levels=[
                cll.NullLevel("dob"),
                cll.ExactMatchLevel("dob").configure(label_for_charts="exact"),
                cll.CustomLevel("dob_l = dob_swapped_r", "day and month swapped"),
                # People mistype a date as they mistype a number: a digit wrong, or two next to each other swapped
                # (2015-03-21 for 2015-03-12), the commonest slips after the day and month swapped.
                cll.DamerauLevenshteinLevel("dob", 1).configure(label_for_charts="one digit off or two swapped"),
                # One part wrong in both its digits: a month of another season, a day of another ten, a year
                # across a decade (2019 for 2020). Only the year and month used to count, so 2021-06-22 against
                # 2021-12-22, same names and home, weighed as a date wrong altogether (a FEBRL4 pair). The month
                # and day alone count only with the years one apart: Sophie Smiths born on one day six years apart,
                # their mothers of one name, are two children (at a million records, with any year, they were one).
                cll.CustomLevel(DOB_TWO_PARTS, "two of year, month and day"),
                cll.ElseLevel(),
            ],
        ),
        cl.CustomComparison(
            output_column_name="given_name",
            comparison_levels=[
                cll.NullLevel("given"),
                cll.ExactMatchLevel("given", term_frequency_adjustments=True).configure(label_for_charts="exact"),
                cll.ArrayIntersectLevel("given_roots", 1).configure(label_for_charts="nickname"),
                cll.CustomLevel("given_l = middle_r or middle_l = given_r", "middle name"),
                cll.CustomLevel("given_l = family_r or given_first_l = family_r", "transposed"),
                # A typo of the first forename, where a source sends them all in one field ("Jyles Lauren" for
                # Julie Lauren), is a typo of the given name: alone, the whole field was too long to look like one.
                cll.Or(cll.JaroWinklerLevel("given", 0.92), cll.JaroWinklerLevel("given_first", 0.92))
                .configure(label_for_charts="typo"),
                cll.ExactMatchLevel("given_metaphone").configure(label_for_charts="same sound"),
                cll.Or(cll.JaroWinklerLevel("given", 0.80), cll.JaroWinklerLevel("given_first", 0.80))
                .configure(label_for_charts="similar"),
                cll.ElseLevel(),
            ],
        ),
        cl.CustomComparison(
            output_column_name="family_name",
            comparison_levels=[
                cll.NullLevel("family"),
                cll.ExactMatchLevel("family", term_frequency_adjustments=True).configure(label_for_charts="exact"),
                cll.ArrayIntersectLevel("families", 1).configure(label_for_charts="part or former surname"),
                cll.CustomLevel("family_l = given_r or family_l = given_first_r", "transposed"),
                cll.JaroWinklerLevel("family", 0.92).configure(label_for_charts="typo"),
                cll.ExactMatchLevel("family_metaphone").configure(label_for_charts="same sound"),
                cll.JaroWinklerLevel("family", 0.80).configure(label_for_charts="similar"),
                cll.ElseLevel(),
            ],
        ),
        # Home and carers in one comparison: siblings share both, so as two comparisons they would count the same
        # household twice (a sibling pair scored as high as a child's own records with one typo).
        cl.CustomComparison(
            output_column_name="address",
            comparison_levels=[
                cll.CustomLevel(f"({_NO_HOME.format(s='l')}) or ({_NO_HOME.format(s='r')})", "unknown").configure(
                    is_null_level=True),
                _with_carer(_SAME_HOME, "same home, a carer in common"),
                cll.CustomLevel(_SAME_HOME, "same home"),
                _with_carer("postcode_l = postcode_r", "same postcode, a carer in common"),
                cll.ExactMatchLevel("postcode", term_frequency_adjustments=True).configure(
                    label_for_charts="same postcode"),
                # A postcode mistyped or left out, the house and street the same.
                cll.CustomLevel("address_key_l = address_key_r", "same house and street"),
                # A move: another address, the same mother or father.
                cll.ArrayIntersectLevel("carer_names", 1).configure(
                    label_for_charts="another address, a carer in common"),
                cll.LevenshteinLevel("postcode", 1).configure(label_for_charts="postcode one character off"),
                cll.ExactMatchLevel("postcode_sector").configure(label_for_charts="same sector"),
                cll.ExactMatchLevel("postcode_district").configure(label_for_charts="same district"),
                cll.ElseLevel(),
            ],
        ),
        cl.CustomComparison(
            output_column_name="gender",
            comparison_levels=[
                cll.CustomLevel("gender_l is null or gender_r is null or gender_l = 'not specified' "
                                "or gender_r = 'not specified'", "unknown").configure(is_null_level=True),
                cll.ExactMatchLevel("gender"),
                cll.ElseLevel(),
            ],
        ),
    ]


_TRANSPOSED = "l.given_metaphone = r.family_metaphone and l.family_metaphone = r.given_metaphone"


def blocking_rules() -> list[Any]:
    return [
        block_on("nhs_number"),
        block_on("upn"),
        block_on("dob", "family_metaphone"),
        block_on("dob", "given_metaphone"),
        block_on("dob", "postcode"),
        # A date of birth mistyped in one part (day, month or year), both names sounding the same: three rules, each
        # with two parts of the date, where one rule with the year alone paired every two children of a year who
        # share both name sounds. Its pairs grew with the square of the children (x8.9 for x3 the records), and it
        # missed a mistyped year.
        block_on("family_metaphone", "given_metaphone", "substr(dob, 1, 7)"),
        block_on("family_metaphone", "given_metaphone", "substr(dob, 6, 5)"),
        block_on("family_metaphone", "given_metaphone", "birth_year", "substr(dob, 9, 2)"),
        block_on("postcode", "given_metaphone"),
        block_on("postcode", "family_metaphone"),
        # Day and month swapped (and a move): both name sounds as well. With one name's sound, each rule paired a
        # thousand children a swapped pair of one child (1.3 million comparisons at 3 million records for 15,000
        # such pairs, nearly all of which share a postcode and are found by the rules above).
        "l.dob_swapped = r.dob and l.family_metaphone = r.family_metaphone and l.given_metaphone = r.given_metaphone",
        # Given and family names transposed ("Rickett Oliver" for Oliver Rickett) with a move or a mistyped
        # identifier: no rule above pairs them. Each name's sound the other's, with two of the date's three parts,
        # as for the names the right way round. At 100,000 generated records these pair 416 records of one child
        # and 15 of two (a James Thomas and a Thomas James born in one month); the year alone paired 73 of two,
        # and those grow with the square of the children (about 5 million of England's 850 million comparisons).
        *(f"{_TRANSPOSED} and {part}" for part in (
            "substr(l.dob, 1, 7) = substr(r.dob, 1, 7)", "substr(l.dob, 6, 5) = substr(r.dob, 6, 5)",
            "l.birth_year = r.birth_year and substr(l.dob, 9, 2) = substr(r.dob, 9, 2)")),
        # One house and street, born the same year, the postcode mistyped: a nickname ("Lenny" for
        # Leonard, another sound) or a changed family name, with a slip in the date of birth, shares no name
        # sound, date or postcode the rules above ask for. The postcode's first two characters keep "1 High
        # Street" in one town: without them the pairs of two children grew x27 for x10 the records (the same
        # house number and street name in towns across the country), with them x12.
        "l.address_key = r.address_key and l.birth_year = r.birth_year "
        "and substr(l.postcode, 1, 2) = substr(r.postcode, 1, 2)",
    ]


def settings_creator() -> SettingsCreator:
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=comparisons(),
        blocking_rules_to_generate_predictions=blocking_rules(),
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
        additional_columns_to_retain=[],
    )


def model_path(version: str = MODEL_VERSION) -> Path:
    return Path(str(MODELS / f"{version}.json"))


@cache
def _saved(version: str) -> dict[str, Any]:
    return json.loads(model_path(version).read_text())


@cache
def _blocking_sql(dialect: str) -> list[Any]:
    """The code's blocking rules in ``dialect``'s SQL: made once, as every batch of every feed asks for them."""
    return settings_creator().create_settings_dict(dialect)["blocking_rules_to_generate_predictions"]


# Used until a model is saved with thresholds of its own (``contactpoint match train`` chooses them).
DEFAULT_LINK, DEFAULT_REVIEW = 0.8, 0.5


def thresholds(version: str = MODEL_VERSION) -> tuple[float, float]:
    """(link, review): a pair at ``link`` or above joins; from ``review`` up to ``link`` a person may be asked."""
    chosen = _saved(version).get("contactpoint", {})
    return float(chosen.get("link_threshold", DEFAULT_LINK)), float(chosen.get("review_threshold", DEFAULT_REVIEW))


def uses_frequencies(version: str = MODEL_VERSION) -> bool:
    """Whether the model scores with term-frequency adjustments (``matching.frequencies``): chosen when it is
    trained, by whether they decide better on its labelled data (``train.with_or_without_frequencies``)."""
    return bool(_saved(version).get("contactpoint", {}).get("term_frequencies", False))


def trained_settings(version: str = MODEL_VERSION, dialect: str = "duckdb") -> dict[str, Any]:
    """The saved, trained model as Splink settings (m and u for every level), in ``dialect``'s SQL, with the
    blocking rules of ``blocking_rules()``.

    The model is saved as trained (DuckDB SQL). For another engine the comparisons are generated afresh in
    that engine's SQL — list functions and string similarities are spelled differently — and the trained m
    and u probabilities carried over level by level."""
    saved = {k: v for k, v in _saved(version).items() if k != "contactpoint"}
    if saved.get("sql_dialect", "duckdb") == dialect:
        # Blocking is not trained: the rules in code apply, not those the model happened to be saved with.
        return saved | {"blocking_rules_to_generate_predictions": _blocking_sql(dialect)}
    fresh = settings_creator().create_settings_dict(dialect)
    if [len(c["comparison_levels"]) for c in fresh["comparisons"]] != \
            [len(c["comparison_levels"]) for c in saved["comparisons"]]:
        raise MatchingError(f"the saved model {version} no longer fits the comparisons in code: retrain it")
    for fresh_comparison, saved_comparison in zip(fresh["comparisons"], saved["comparisons"], strict=True):
        for level, trained in zip(fresh_comparison["comparison_levels"], saved_comparison["comparison_levels"],
                                  strict=True):
            for key in ("m_probability", "u_probability", "label_for_charts", "is_null_level"):
                if key in trained:
                    level[key] = trained[key]
    fresh["probability_two_random_records_match"] = saved["probability_two_random_records_match"]
    fresh["sql_dialect"] = dialect
    return fresh


def search_levels() -> dict[str, dict[str, tuple[float, float]]]:
    """The trained m and u of every level, by comparison and level label ("exact", "else"...), for search."""
    try:
        settings = trained_settings()
    except (FileNotFoundError, OSError):
        return {}
    out: dict[str, dict[str, tuple[float, float]]] = {}
    for comparison in settings.get("comparisons", []):
        for level in comparison.get("comparison_levels", []):
            if level.get("is_null_level") or not level.get("m_probability") or not level.get("u_probability"):
                continue
            label = level.get("label_for_charts", "")
            label = "exact" if label.startswith("Exact match") else "else" if label == "All other comparisons" \
                else label
            out.setdefault(comparison["output_column_name"], {})[label] = (level["m_probability"],
                                                                           level["u_probability"])
    return out
