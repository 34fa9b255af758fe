"""Finding a child: the one search function the web pages, the JSON API and FHIR all call.

    rate limit -> policy (minimum criteria) -> blind-index lookup -> decrypt candidates -> score -> cap -> audit

Only the capped, ranked result leaves this module. A shielded child is considered only when the criteria meet
a rule made of fields that stay visible on a shielded record, and is scored on those fields alone, so a hidden
field can never decide whether it is found (identical responses and counts to a search that found nothing).
Every search, refused or not, is written to the audit trail with its criteria (encrypted) and the IDs returned;
if that write fails, nothing is returned.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NoReturn, TypeVar

from contactpoint.access.authentication import user_actor
from contactpoint.access.models import User
from contactpoint.access.reasons import StatedReason
from contactpoint.audit.actions import AuditAction, Outcome, Severity
from contactpoint.audit.trail import record_event
from contactpoint.children.models import Child, ChildStatus
from contactpoint.children.record import Gender
from contactpoint.children.store import live_by_cpid, load_groups
from contactpoint.config import SearchSettings
from contactpoint.errors import SearchRefused, VaultError
from contactpoint.search import policy, ratelimit
from contactpoint.search.criteria import Criteria
from contactpoint.search.model_weights import trained_levels
from contactpoint.search.scoring import Candidate, Score, Scorer
from contactpoint.vault.cipher import ChildCipher, open_child_key
from contactpoint.vault.keyring import KeyRing
from contactpoint.vault.models import DataKey
from contactpoint.vault.tokens import in_buckets, query_tokens

logger = logging.getLogger(__name__)
T = TypeVar("T")

# Blind-index tokens are truncated (vault.blindindex): at England's density every token is shared by about ten
# children by chance, so a search's buckets hold more children than match it (148 at the median and 524 at the
# 99th percentile for given name + family name + date of birth, measured at that density). Each is opened only
# as far as its date of birth (one key unwrap and one decryption, tens of microseconds), and those born on
# another day are dropped; "too many matches" is counted after that step, on the children who can match.
MAX_OPENED = 5000  # bucket-mates whose date of birth is decrypted, at most: about 0.1 s of work, ten times p99
MAX_CANDIDATES = 400  # children past the date-of-birth step opened in full and scored, at most
TOO_MANY = "There are too many matches. Add more detail, such as the given name, gender or postcode."

_scorer: Scorer | None = None


def scorer() -> Scorer:
    global _scorer
    if _scorer is None:
        _scorer = Scorer(trained_levels())
    return _scorer


@dataclass(frozen=True)
class Hit:
    cpid: str
    given: str
    middle: str
    family: str
    birthdate: date
    gender: Gender
    shielded: bool
    town: str | None  # withheld (None) for a shielded child
    postcode: str | None
    score: Score


@dataclass(frozen=True)
class SearchResult:
    hits: tuple[Hit, ...]
    rule: str


def became(cpid: str) -> int | None:
    """The row of the live child with ``cpid``, or of the one its merged record became (an older ID on a
    referral still finds the child); None if neither is live."""
    child = live_by_cpid(cpid)
    return child.pk if child is not None else None


def _candidates(criteria: Criteria, tokens: dict[int, set[date]]) -> dict[int, set[date] | None]:
    """The children to consider, each with the dates of birth it must have (see ``in_buckets``)."""
    found = in_buckets(tokens) if tokens else {}
    if criteria.contactpoint_id:
        child_id = became(criteria.contactpoint_id)
        if child_id is not None:
            found[child_id] = None
    return found


@dataclass(frozen=True)
class _Born:
    """A candidate past the date-of-birth step: its key opened and its birth group read."""

    child: Child
    cipher: ChildCipher
    birth: dict[str, Any]


def _born(keyring: KeyRing, child: Child, key: tuple[str, bytes], birthdates: set[date] | None) -> _Born | None:
    """The candidate, if born on a date its tokens stand for (or found by an identifier: ``birthdates`` None)."""
    cipher = open_child_key(keyring, child.cpid, key[0], key[1])
    birth = load_groups(keyring, child, ["birth"], cipher)
    if birthdates is not None and birth["date_of_birth"].value not in birthdates:
        return None  # in the tokens' buckets by chance: its other groups stay sealed
    return _Born(child, cipher, birth)


def _rest(born: list[_Born]) -> list[_Born]:
    """The candidates past the date-of-birth step with the sealed groups ``_hit`` opens read, in one query (one
    deleted meanwhile is left out)."""
    if not born:
        return born
    rest = {pk: (names, identifiers, whereabouts) for pk, names, identifiers, whereabouts in Child.objects.filter(
        pk__in=[b.child.pk for b in born]).values_list("pk", "names", "identifiers", "whereabouts")}
    for b in born:
        if b.child.pk in rest:
            b.child.names, b.child.identifiers, b.child.whereabouts = rest[b.child.pk]
    return [b for b in born if b.child.pk in rest]


def _readable(step: Callable[..., T], keyring: KeyRing, of: Child | _Born, *args: Any) -> T | None:
    """``step`` for one candidate, or None if the candidate's record cannot be opened (a damaged ciphertext, a
    key the key ring no longer holds): one unreadable bucket-mate must not fail every search that meets it. The
    operator is told which child (by its row, never a value) so the record can be mended."""
    try:
        return step(keyring, of, *args)
    except VaultError:
        child = of if isinstance(of, Child) else of.child
        logger.error("search: the record of child row %s cannot be opened; left out of the results", child.pk)
        return None


def _hit(keyring: KeyRing, born: _Born, criteria: Criteria, decision: policy.Decision) -> Hit | None:
    child, cipher = born.child, born.cipher
    data = born.birth | load_groups(keyring, child, ["names"] if child.shielded else
                                    ["names", "identifiers", "whereabouts"], cipher)
    name = data["name"].value
    gender: Gender = data["gender"].value  # a record's best view always has one (ChildRecord.gender)
    postcode = town = nhs = upn = None
    if not child.shielded:
        where = data["whereabouts"]
        if where is not None and where.value.address is not None:
            postcode, town = where.value.address.postcode or None, where.value.address.town or None
        nhs = data["nhs_number"].value if data["nhs_number"] else None
        upn = data["upn"].value if data["upn"] else None
    candidate = Candidate(
        given=name.given, family=name.family, middle=name.middle,
        former_families=tuple(f.value.family for f in data["former_names"]),
        birthdate=data["date_of_birth"].value, gender=gender,
        postcode=postcode, nhs_number=nhs, upn=upn)
    if criteria.contactpoint_id and (criteria.contactpoint_id == child.cpid
                                     or became(criteria.contactpoint_id) == child.pk):
        score = Score(30.0, {"contactpoint_id": "exact"})
    else:
        score = scorer().score(criteria, candidate, fuzzy=decision.fuzzy)
        postcode_decides = (criteria.family is None and criteria.postcode is not None
                            and not (criteria.nhs_number or criteria.upn))
        if not scorer().accepts(score, fuzzy=decision.fuzzy, identifier_only=decision.identifier_only,
                                postcode_decides=postcode_decides):
            return None
    return Hit(child.cpid, name.given, name.middle, name.family, candidate.birthdate, gender,
               child.shielded, town, postcode, score)


def _audit(action: AuditAction, user: User, keyring: KeyRing, now: datetime, stated: StatedReason | None,
           criteria: Criteria | None, *, outcome: Outcome, subjects: Sequence[str] = (), severity=Severity.INFO,
           **context) -> None:
    detail: dict[str, Any] = {}
    if criteria is not None:
        detail["criteria"] = criteria.for_audit()
    if stated is not None and stated.text:
        detail["reason_text"] = stated.text
    record_event(action, actor=user_actor(user), keyring=keyring, at=now, outcome=outcome, severity=severity,
                 reason=stated.reason.value if stated else "", subjects=list(subjects), context=context,
                 detail=detail or None)


def _too_many(user: User, keyring: KeyRing, now: datetime, stated: StatedReason, criteria: Criteria,
              decision: policy.Decision) -> NoReturn:
    _audit(AuditAction.SEARCH_REFUSED, user, keyring, now, stated, criteria, outcome=Outcome.REFUSED,
           code="too_many_matches", rule=decision.rule.name)
    raise SearchRefused(TOO_MANY, code="too_many_matches")


def search(user: User, criteria: Criteria, stated: StatedReason, *, keyring: KeyRing, now: datetime,
           limits: SearchSettings) -> SearchResult:
    """Find children matching ``criteria`` for ``user``, or raise ``SearchRefused`` saying what to do."""
    try:
        ratelimit.take(user.pk, now, limits)
    except SearchRefused as refused:
        _audit(AuditAction.SEARCH_RATE_LIMITED, user, keyring, now, stated, criteria, outcome=Outcome.REFUSED,
               severity=Severity.ALERT, code=refused.code)
        raise
    try:
        decision = policy.check(criteria)
    except SearchRefused as refused:
        _audit(AuditAction.SEARCH_REFUSED, user, keyring, now, stated, criteria, outcome=Outcome.REFUSED,
               code=refused.code)
        raise

    wanted = _candidates(criteria, query_tokens(keyring, criteria, fuzzy=decision.fuzzy))
    ids = list(wanted)
    if len(ids) > MAX_OPENED:
        _too_many(user, keyring, now, stated, criteria, decision)
    # Only the birth group first: at England's density a search's buckets hold about seventy children, of whom one
    # or two are born on a date the search's tokens stand for. The groups ``_hit`` opens are read for those alone
    # (``_rest``); every other sealed group stays in the database.
    children = Child.objects.filter(id__in=ids, status=ChildStatus.LIVE).only("id", "cpid", "shielded", "birth")
    if not decision.shielded_eligible:
        children = children.filter(shielded=False)
    keys = {child_id: (kek_id, bytes(wrapped)) for child_id, kek_id, wrapped in
            DataKey.objects.filter(child_id__in=ids).values_list("child_id", "kek_id", "wrapped")}
    born = [b for child in children if child.pk in keys
            for b in [_readable(_born, keyring, child, keys[child.pk], wanted[child.pk])] if b is not None]
    if len(born) > MAX_CANDIDATES:
        _too_many(user, keyring, now, stated, criteria, decision)
    hits = [h for b in _rest(born) for h in [_readable(_hit, keyring, b, criteria, decision)] if h is not None]
    if len(hits) > limits.result_cap:
        _too_many(user, keyring, now, stated, criteria, decision)
    hits.sort(key=lambda h: (-h.score.weight, h.family, h.given, h.cpid))
    _audit(AuditAction.SEARCH, user, keyring, now, stated, criteria, outcome=Outcome.SUCCESS,
           subjects=[h.cpid for h in hits], rule=decision.rule.name, fuzzy=decision.fuzzy, results=len(hits))
    return SearchResult(tuple(hits), decision.rule.name)
