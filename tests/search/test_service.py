from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contactpoint.access.reasons import parse_reason
from contactpoint.audit.models import AuditEntry
from contactpoint.audit.trail import read_detail
from contactpoint.children.models import Child
from contactpoint.children.record import Gender
from contactpoint.children.store import NewChild, create_children
from contactpoint.config import SearchSettings
from contactpoint.errors import SearchRefused
from contactpoint.search.criteria import parse_criteria
from contactpoint.search.scoring import Candidate, Scorer
from contactpoint.search.service import search
from contactpoint.vault.keyring import get_keyring
from tests.factories import make_person, make_record

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
TODAY = NOW.date()
GENEROUS = SearchSettings(result_cap=20, searches_per_minute=10_000, searches_per_hour=10_000,
                          searches_per_day=10_000)
REASON = parse_reason("child_protection")


def add(*records, shielded=False) -> list[str]:
    return [c.cpid for c in create_children(get_keyring(), [NewChild(r, responsible_la="202", shielded=shielded)
                                                             for r in records], now=NOW)]


def find(user, limits=GENEROUS, reason=REASON, **kw):
    return search(user, parse_criteria(today=TODAY, **kw), reason, keyring=get_keyring(), now=NOW, limits=limits)


def names(result) -> list[str]:
    return [f"{h.given} {h.family}" for h in result.hits]


@pytest.fixture
def user():
    return make_person().user


@pytest.fixture
def amelia():
    [cpid] = add(make_record(given="Amelia", family="Hartley", dob=date(2015, 6, 3), postcode="NW1 8NP",
                             former_families=("Okafor",)))
    return cpid


def test_family_name_and_date_of_birth_find_the_child(user, amelia):
    assert names(find(user, family="Hartley", birthdate="2015-06-03")) == ["Amelia Hartley"]


def test_a_name_that_sounds_the_same_is_found(user, amelia):
    assert names(find(user, family="Hartly", birthdate="2015-06-03")) == ["Amelia Hartley"]


def test_a_former_surname_finds_the_child(user, amelia):
    assert names(find(user, family="Okafor", birthdate="2015-06-03")) == ["Amelia Hartley"]


def test_a_wildcard_finds_names_that_start_so(user, amelia):
    assert names(find(user, family="Har*", birthdate="2015-06-03")) == ["Amelia Hartley"]
    assert names(find(user, family="Hu*", birthdate="2015-06-03")) == []


def test_basic_search_does_not_swap_day_and_month(user, amelia):
    assert names(find(user, family="Hartley", birthdate="2015-03-06")) == []


def test_fuzzy_search_finds_a_typo_a_swapped_date_and_a_nickname(user):
    add(make_record(given="William", family="Thornbury", dob=date(2014, 2, 9)))
    assert names(find(user, given="Bill", family="Thornbury", birthdate="2014-02-09")) == ["William Thornbury"]
    assert names(find(user, given="William", family="Thornbery", birthdate="2014-02-09")) == ["William Thornbury"]
    assert names(find(user, given="William", family="Thornbury", birthdate="2014-09-02")) == ["William Thornbury"]


def test_fuzzy_search_finds_transposed_given_and_family_names(user, amelia):
    result = find(user, given="Hartley", family="Amelia", birthdate="2015-06-03")
    assert names(result) == ["Amelia Hartley"]
    assert result.hits[0].score.levels["given_name"] == "transposed"


def test_given_name_date_of_birth_gender_and_postcode_find_the_child(user, amelia):
    assert names(find(user, given="Amelia", birthdate="2015-06-03", gender="female", postcode="NW1 8NP")) == \
        ["Amelia Hartley"]
    assert names(find(user, given="Amelia", birthdate="2015-06-03", gender="female", postcode="E1 6AN")) == []


def test_forenames_typed_in_the_given_name_find_the_child_by_the_first_of_them(user):
    """A practitioner types "Amelia Rose" as the forms of their own system ask, for the child whose given name is
    Amelia and middle name Rose; and a child sent with all her forenames in one field is found as Ivy."""
    add(make_record(given="Amelia", middle="Rose", family="Hartley", nhs=None),
        make_record(given="Ivy Rosemary", family="Quist", dob=date(2016, 1, 9), postcode="E1 6AN", nhs=None))
    result = find(user, given="Amelia Rose", family="Hartley", birthdate="2015-06-03")
    assert names(result) == ["Amelia Hartley"] and result.hits[0].score.levels["given_name"] == "exact"
    assert find(user, given="Amelia May", family="Hartley", birthdate="2015-06-03").hits[0].score.levels[
        "given_name"] == "nickname"
    assert names(find(user, given="Amelia Rose", birthdate="2015-06-03", gender="female", postcode="NW1 8NP")) == \
        ["Amelia Hartley"]
    assert names(find(user, given="Ivy", birthdate="2016-01-09", gender="female", postcode="E1 6AN")) == \
        ["Ivy Rosemary Quist"]
    assert names(find(user, given="Ivy", family="Quist", birthdate="2016-01-09")) == ["Ivy Rosemary Quist"]


def test_an_nhs_number_finds_exactly_that_child(user, amelia):
    assert names(find(user, nhs_number="943 476 5919")) == ["Amelia Hartley"]


def test_a_contactpoint_id_finds_exactly_that_child(user, amelia):
    assert [h.cpid for h in find(user, contactpoint_id=amelia).hits] == [amelia]


def test_results_are_ranked_best_match_first(user, amelia):
    add(make_record(given="Olivia", family="Hartley", dob=date(2015, 6, 3), nhs=None))  # a twin
    assert names(find(user, given="Amelia", family="Hartley", birthdate="2015-06-03"))[0] == "Amelia Hartley"


def test_more_matches_than_the_cap_gives_no_list_and_no_count(user):
    add(*[make_record(given=f"Child{chr(65 + i)}", family="Hartley", dob=date(2015, 6, 3), nhs=None)
          for i in range(21)])
    with pytest.raises(SearchRefused) as refused:
        find(user, family="Hartley", birthdate="2015-06-03")
    assert refused.value.code == "too_many_matches"
    assert not any(ch.isdigit() for ch in refused.value.message)  # no count
    entry = AuditEntry.objects.filter(action="child.search.refused").latest("seq")
    assert entry.context["code"] == "too_many_matches" and entry.subjects == []


def test_every_search_is_audited_with_reason_criteria_and_ids_returned(user, amelia):
    find(user, family="Hartley", birthdate="2015-06-03", reason=parse_reason("other", "Private fostering check"))
    entry = AuditEntry.objects.filter(action="child.search").latest("seq")
    assert entry.reason == "other" and entry.subjects == [amelia] and entry.actor == user.username
    assert read_detail(get_keyring(), entry) == {
        "criteria": {"family": "Hartley", "birthdate": "2015-06-03"}, "reason_text": "Private fostering check"}
    assert "Hartley" not in entry.detail


def test_a_refused_search_is_audited_too(user):
    with pytest.raises(SearchRefused):
        find(user, family="Hartley")
    assert AuditEntry.objects.filter(action="child.search.refused", context__code="insufficient_criteria").exists()


def test_exceeding_the_rate_limit_blocks_and_raises_an_alert(user, amelia):
    tight = SearchSettings(result_cap=20, searches_per_minute=3, searches_per_hour=100, searches_per_day=100)
    for _ in range(3):
        find(user, limits=tight, family="Hartley", birthdate="2015-06-03")
    with pytest.raises(SearchRefused) as refused:
        find(user, limits=tight, family="Hartley", birthdate="2015-06-03")
    assert refused.value.code == "rate_limited"
    assert "paused for you until 10:01 (UK time)" in str(refused.value)  # NOW is 10:00 UTC, in November
    alert = AuditEntry.objects.get(action="child.search.rate_limited")
    assert alert.severity == "alert"


def test_the_refusal_says_when_the_oldest_searches_leave_the_window(user):
    from contactpoint.search import ratelimit

    hourly = SearchSettings(result_cap=20, searches_per_minute=100, searches_per_hour=3, searches_per_day=100)
    for minutes in (0, 5, 20):
        ratelimit.take(user.pk, NOW.replace(minute=minutes), hourly)
    with pytest.raises(SearchRefused, match="until 11:00"):  # when the 10:00 search leaves the hour
        ratelimit.take(user.pk, NOW.replace(minute=50), hourly)
    ratelimit.take(user.pk, NOW.replace(hour=11), hourly)  # and then one more fits


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_searches_by_one_user_get_exactly_the_limit():
    import threading

    from django.db import connections

    from contactpoint.search import ratelimit
    from contactpoint.search.models import SearchUsage

    user = make_person("con.current").user
    limits = SearchSettings(result_cap=20, searches_per_minute=10, searches_per_hour=100, searches_per_day=100)
    barrier, outcomes = threading.Barrier(50), []

    def attempt() -> None:
        try:
            barrier.wait()
            ratelimit.take(user.pk, NOW, limits)
            outcomes.append("taken")
        except SearchRefused:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("taken") == 10 and outcomes.count("refused") == 40
    assert sum(SearchUsage.objects.filter(user=user).values_list("count", flat=True)) == 10


def test_archived_children_are_out_of_every_search(user, amelia):
    from contactpoint.children.store import reindex

    child = Child.objects.get(cpid=amelia)
    child.status = "archived"
    child.save()
    reindex(get_keyring(), child, None)
    assert names(find(user, family="Hartley", birthdate="2015-06-03")) == []
    assert find(user, contactpoint_id=amelia).hits == ()


# --- shielding -------------------------------------------------------------------------------------------

@pytest.fixture
def shielded():
    [cpid] = add(make_record(given="Maisie", family="Quennell", dob=date(2016, 1, 20), postcode="N7 9QJ",
                             nhs="4010232137"), shielded=True)
    return cpid


def _outcome(user, **kw):
    try:
        return ("ok", [(h.given, h.family, h.town, h.postcode) for h in find(user, **kw).hits])
    except SearchRefused as refused:
        return ("refused", refused.code, refused.message)


def test_a_shielded_child_is_found_through_visible_fields_and_shows_no_whereabouts(user, shielded):
    [hit] = find(user, family="Quennell", birthdate="2016-01-20").hits
    assert hit.shielded and hit.town is None and hit.postcode is None


@pytest.mark.parametrize("hidden", [
    {"nhs_number": "4010232137"},
    {"given": "Maisie", "birthdate": "2016-01-20", "gender": "female", "postcode": "N7 9QJ"},
])
def test_a_search_through_hidden_fields_answers_exactly_as_if_the_child_did_not_exist(user, shielded, hidden):
    with_child = _outcome(user, **hidden)
    Child.objects.filter(cpid=shielded).delete()
    assert with_child == _outcome(user, **hidden) == ("ok", [])


def test_a_hidden_field_value_never_changes_a_shielded_childs_result(user, shielded):
    right = _outcome(user, family="Quennell", birthdate="2016-01-20", gender="female", postcode="N7 9QJ")
    wrong = _outcome(user, family="Quennell", birthdate="2016-01-20", gender="female", postcode="E1 6AN")
    assert right == wrong and right[0] == "ok" and len(right[1]) == 1


def test_shielded_children_count_towards_too_many_only_when_found_through_visible_fields(user):
    add(*[make_record(given=f"Kid{chr(65 + i)}", family="Pemberton", dob=date(2013, 5, 5), postcode="N7 9QJ",
                      nhs=None) for i in range(20)])
    add(make_record(given="Hidden", family="Elsewhere", dob=date(2013, 5, 5), postcode="N7 9QJ", nhs=None),
        shielded=True)
    # Family + DOB + gender + postcode: the shielded child's family name differs, so it is no match anyway...
    assert len(find(user, family="Pemberton", birthdate="2013-05-05").hits) == 20
    # ...and a postcode-led search cannot count it: 20 results, not "too many".
    assert len(find(user, given="Kid*", birthdate="2013-05-05", gender="female", postcode="N7 9QJ").hits) <= 20


# --- the cap holds for every allowed combination -------------------------------------------------------------

@pytest.mark.slow
def test_no_combination_of_allowed_criteria_returns_more_than_the_cap(user):
    cap = 5
    limits = SearchSettings(result_cap=cap, searches_per_minute=10_000, searches_per_hour=10_000,
                            searches_per_day=10_000)
    crowd = [make_record(given=g, family=f, dob=date(2012, 4, 4), postcode="N7 9QJ", nhs=None,
                         gender=Gender.FEMALE)
             for g in ("Amy", "Ami", "Amie", "Emma", "Amelia", "Millie", "Amy")
             for f in ("Stone", "Stones", "Stoney", "Stein")]
    add(*crowd)
    add(*crowd[:6], shielded=True)

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.fixed_dictionaries({}, optional={
        "family": st.sampled_from(["Stone", "St*", "Stones", "Stein", "Amy"]),
        "given": st.sampled_from(["Amy", "Am*", "Emma", "Stone", "Mille"]),
        "birthdate": st.sampled_from(["2012-04-04", "2012-04-04"]),
        "gender": st.just("female"),
        "postcode": st.just("N7 9QJ"),
    }))
    def check(kw):
        try:
            result = find(user, limits=limits, **kw)
        except SearchRefused as refused:
            assert refused.code in ("insufficient_criteria", "too_many_matches")
            return
        assert len(result.hits) <= cap

    check()


def test_a_child_born_on_another_day_that_shares_a_token_bucket_is_dropped_unopened(user, amelia, monkeypatch):
    """Tokens are truncated, so as the index grows unrelated children share buckets with the wanted one. Such a
    child, born on another day, is dropped after its date of birth alone is decrypted (its names, identifiers
    and address stay sealed) and never appears in the results."""
    from django.db import connection

    from contactpoint.search import service
    from contactpoint.search.policy import check
    from contactpoint.vault.tokens import query_tokens

    [namesake] = add(make_record(given="Amelia", family="Hartley", dob=date(2015, 7, 3), postcode="NW1 8NP"))
    criteria = parse_criteria(today=TODAY, family="Hartley", given="Amelia", birthdate="2015-06-03")
    collider = Child.objects.get(cpid=namesake)
    with connection.cursor() as cursor:  # the namesake lands in every bucket the search looks in
        for token in query_tokens(get_keyring(), criteria, fuzzy=check(criteria).fuzzy):
            cursor.execute("INSERT INTO vault_index (token, child_id) VALUES (%s, %s)", [token, collider.pk])
    opened: list[tuple[str, tuple[str, ...]]] = []
    real = service.load_groups

    def spy(keyring, child, groups, cipher=None):
        opened.append((child.cpid, tuple(groups)))
        return real(keyring, child, groups, cipher)

    monkeypatch.setattr(service, "load_groups", spy)
    result = find(user, family="Hartley", given="Amelia", birthdate="2015-06-03")
    assert [h.cpid for h in result.hits] == [amelia]
    assert [groups for cpid, groups in opened if cpid == namesake] == [("birth",)]
    # Searched by its own date of birth, the namesake is found as before.
    assert [h.cpid for h in find(user, family="Hartley", given="Amelia", birthdate="2015-07-03").hits] == [namesake]


def test_a_child_who_is_there_is_found_however_many_share_the_search_buckets_by_chance(user, monkeypatch):
    # At England's density every 20-bit token is shared by about ten children by chance; here tokens of no bits
    # at all put 450 children in the one bucket of each index, with the one searched for.
    from contactpoint.search import service
    from contactpoint.vault import blindindex

    monkeypatch.setattr(blindindex, "_MASK", 0)
    add(*(make_record(given=f"Child{i:03d}", family="Okafor", dob=date(2012, 1, 1) + timedelta(days=i),
                      postcode="NW1 8NP") for i in range(450)))
    [wanted] = add(make_record(given="Amelia", family="Hartley", dob=date(2015, 6, 3), postcode="NW5 1TL"))
    criteria = parse_criteria(today=TODAY, given="Amelia", family="Hartley", birthdate="2015-06-03")
    tokens = service.query_tokens(get_keyring(), criteria, fuzzy=False)
    assert len(service._candidates(criteria, tokens)) > service.MAX_CANDIDATES  # before: "too many matches"

    result = find(user, given="Amelia", family="Hartley", birthdate="2015-06-03")

    assert [h.cpid for h in result.hits] == [wanted]


@pytest.mark.parametrize("group", ["birth", "names"])
def test_a_bucket_mate_whose_record_cannot_be_opened_does_not_fail_the_search(user, amelia, group, caplog):
    # Another Amelia Hartley born the same day, whose record is damaged (a ciphertext that no longer opens).
    [damaged] = add(make_record(given="Amelia", family="Hartley", dob=date(2015, 6, 3), nhs=None, postcode="LS6 2AB"))
    Child.objects.filter(cpid=damaged).update(**{group: b"\x00" * 64})
    result = find(user, family="Hartley", birthdate="2015-06-03")
    assert [h.cpid for h in result.hits] == [amelia]
    row = Child.objects.get(cpid=damaged).pk
    assert f"child row {row} cannot be opened" in caplog.text and "Hartley" not in caplog.text


def test_an_older_contactpoint_id_of_a_merged_record_finds_the_child_it_became(user, amelia):
    """Issue 19: the ID on an old referral form still finds the child, under the ID to use now."""
    from contactpoint.children.models import Child

    [older] = add(make_record(given="Amelia", family="Hartley"))
    Child.objects.filter(cpid=older).update(status="merged", merged_into=Child.objects.get(cpid=amelia))
    assert [h.cpid for h in find(user, contactpoint_id=older).hits] == [amelia]
    Child.objects.filter(cpid=amelia).update(status="archived")
    assert find(user, contactpoint_id=older).hits == ()



def test_a_date_of_birth_typed_with_two_digits_swapped_or_one_part_wrong_is_weighed_as_the_match_model_does():
    """Search ranks a child found another way (by NHS number, say) with the match model's levels: 30 for 03 is two
    digits swapped, not a date wrong altogether; a month wrong in both its digits leaves two of the three parts."""
    amelia = Candidate("Amelia", "Hartley", (), date(2015, 6, 3), None)
    scorer = Scorer()
    for typed, level in (("2015-06-30", "one digit off or two swapped"), ("2015-11-03", "two of year, month and day"),
                         ("2016-06-03", "one digit off or two swapped"), ("2014-11-03", "else"),
                         ("2021-06-03", "else")):  # the month and day alone, six years apart: no slip
        score = scorer.score(parse_criteria(family="Hartley", birthdate=typed, today=TODAY), amelia, fuzzy=True)
        assert score.levels["birth_date"] == level, typed
