"""From scored pairs to decisions: link to an existing child, a new child, or the review queue.

Splink scores pairs of records independently; children's records break that independence (twins share a date
of birth, a family name, a home and carers). So pairs are joined greedily, most probable first, into groups,
and a join is refused when it would put together records that cannot be one child:

- two different NHS numbers, UPNs or ULNs (identifiers are unique to a child);
- given names that cannot be the same name (not equal, not a nickname, not a middle name used as the first,
  not both names transposed, not a typo or a name that sounds the same), unless an identifier is shared.

A refused join between records the model thought likely goes to the review queue instead, unless the records
plainly belong to two children: given names that fit nowhere (twins and siblings), dates of birth that fit
nowhere (siblings born in different years, beyond a slip of one digit), or different identifiers between
children known to live apart (no postcode or address in common, nor a carer's name with a birthday: at England's
density, children of the same names born on the same day, which grow with the square of the children). A pair
the model is unsure of is queued too, unless the same holds. Two children already in the index are never joined
here: a new record that links to both is reported (``LINKS_TWO``), and the batch merges the two itself only if no
person has acted on either (``ingest.batch``), or else queues the pair for review.

Thresholds (match probability), chosen when the model is trained (``model.thresholds``): ``link`` and above
joins; from ``review`` up to ``link`` a pair is queued for review.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Generic, TypeVar

from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler

from contactpoint.matching.model import thresholds
from contactpoint.names import name_roots, nicknames_of, normalise_name

Profile = Mapping[str, Any]
# A record's ID: its record key in a feed's batch, its number in a first load (``ingest.load``: 40 million keys as
# strings would take gigabytes).
R = TypeVar("R", str, int)

LINKS_TWO = "a new record links two children already in the index"
IDENTIFIER_ALONE = "the same NHS number, UPN or ULN, but given names and dates of birth of two children"


@dataclass(frozen=True)
class Edge(Generic[R]):
    left: R
    right: R
    probability: float
    evidence: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Review(Generic[R]):
    record_a: R  # the closest pair of records behind the doubt
    record_b: R
    probability: float
    evidence: Mapping[str, str]
    why: str


@dataclass
class Outcome(Generic[R]):
    """Where each new record goes: ``child_of[uid]`` is an existing child's ID, or None with ``group_of[uid]``
    naming the group of new records that becomes one new child."""

    child_of: dict[R, int | None]
    group_of: dict[R, R]
    reviews: list[Review[R]]


def _typo_close(a: str, b: str) -> bool:
    """One slip of the keyboard apart (two for long names), or very alike."""
    limit = 2 if min(len(a), len(b)) >= 6 else 1
    return DamerauLevenshtein.distance(a, b) <= limit or JaroWinkler.similarity(a, b) >= 0.85


def _transposed(a: Profile, b: Profile) -> bool:
    """``a`` holds ``b``'s names the other way round: its given name is ``b``'s family name and its family name
    ``b``'s given name, or a name it may be short for ("Brown Ollie" for Olivia Brown); its given name may hold
    more forenames after it ("Okafor Rose" for Amelia Rose Okafor, from a system with one field for them all).
    Half a swap is not one:
    twin Lea Smith's record transposed reads "Smith Lea", which is not her brother Leo Smith's names swapped (and
    a swap with a typo as well is two slips, left to the model)."""
    ga, fa, gb, fb = a.get("given"), a.get("family"), b.get("given"), b.get("family")
    if not (ga and fa and gb and fb) or fb not in (ga, a.get("given_first")):
        return False
    return fa == gb or bool(name_roots(fa) & set(b.get("given_roots") or ()))


@cache
def _names_it_may_be(given: str) -> frozenset[str]:
    """The full names a given name may be short for, and their short forms: Harrison -> Harry, Tina -> Christina."""
    out = set(name_roots(given))
    for full in list(out):
        out.update(normalise_name(n) for n in nicknames_of(full.title()))
    return frozenset(out)


def _slip_of_a_short_name(a: str, b: str, roots: Iterable[str] = ()) -> bool:
    """``b`` is one slip of a name ``a`` may be, or be short for ("Hazrry" for Harrison's Harry), or of another of
    ``a``'s roots (its first forename, when ``a`` holds several: "Izvy" for "Ivy Rosemary"). One slip, not "very
    alike" (``_typo_close``): the names ``a`` may be are many (Ella may be Eleanor, and so Elaine), and anything
    alike to any of them let twins and siblings through: Benjamin fitted James (by Jamie), Ella fitted Leanne (by
    Elaine) and Carl fitted Arlo (by Carlton), each pair of twins made one child at 100,000 records."""
    return any(DamerauLevenshtein.distance(name, b) <= 1
               for name in _names_it_may_be(a) | frozenset(roots) if name != a)


def _transposed_with_a_slip(a: Profile, b: Profile) -> bool:
    """Names the other way round with a typo in one of them ("Knight Samuegl" for Samuel Knight): only between
    records of one recorded gender, and only in a name of five letters or more, where one slip leaves the name
    recognisable (twin Lea's "Smith Lea" is not her brother Leo Smith, recorded gender or not)."""
    ga, fa, gb, fb = a.get("given"), a.get("family"), b.get("given"), b.get("family")
    if not (ga and fa and gb and fb):
        return False
    return ((ga == fb and min(len(fa), len(gb)) >= 5 and _typo_close(fa, gb))
            or (fa == gb and min(len(ga), len(fb)) >= 5 and _typo_close(ga, fb)))


def given_names_compatible(a: Profile, b: Profile) -> bool:
    """Could these be the same child's given names? Equal, a nickname, a middle name used as the first, the
    family name (transposed), the same sound, or a typo; and for children of different recorded genders only
    the first few (twins Leo and Lea are two children). Names do not fit, even equal, when both records have
    middle names that differ (``_middles_differ``). A record without a given name fits any, unless its
    middle name rules it out (``_middle_fits``)."""
    ga, gb = a.get("given"), b.get("given")
    if not ga or not gb:
        return _middle_fits(a, b) and _middle_fits(b, a)
    ma, mb = a.get("middle"), b.get("middle")
    if ga == mb or gb == ma:
        return True
    if ma and mb and _middles_differ(ma, mb):
        return False
    if ga == gb:
        return True
    if set(a.get("given_roots") or ()) & set(b.get("given_roots") or ()):
        return True
    if _transposed(a, b) or _transposed(b, a):
        return True
    genders = {a.get("gender"), b.get("gender")} - {None, "not specified"}
    if len(genders) > 1:
        return False
    if a.get("given_metaphone") and a.get("given_metaphone") == b.get("given_metaphone"):
        return True
    roots_a, roots_b = a.get("given_roots") or (), b.get("given_roots") or ()
    if _transposed_with_a_slip(a, b) or _slips_apart(ga, gb, roots_a, roots_b):
        return True
    # A source with one field for all the forenames: its first is the given name the other records were written
    # with. "Jyles Lauren" is Julie Lauren's school record (Jules mistyped), as "Jyles" with the middle name apart
    # would have been; whole, it is too long to look like a slip of anything. (The same sound is asked above: the
    # profile's ``given_metaphone`` is the first forename's.)
    xa, xb = a.get("given_first") or ga, b.get("given_first") or gb
    return (xa, xb) != (ga, gb) and _slips_apart(xa, xb, roots_a, roots_b)


def _middles_differ(ma: str, mb: str) -> bool:
    """Two records' middle names (both given) are not one name nor a slip apart: the given names, however alike
    or even the same, are then two children's. Sofia Lola's child benefit record, its date of birth no real date,
    joined her sister Sophie Freya (Sofia and Sophie sound the same); at a million records six of the 32 children
    holding two people were such, most namesakes born the same day in two homes (Sophia Eva and Sophia Emma
    Jackson), one brothers at one home (Harry Billy and Harry Carl Edwards). The model does not compare middle
    names. (An identifier in common still joins: ``group_conflict`` does not compare names then.)"""
    return ma != mb and not _typo_close(ma, mb)


def _middle_fits(a: Profile, b: Profile) -> bool:
    """A record with no given name but a middle name fits a record with middle names only if its middle name is
    one of that record's forenames (or a slip of one). Without this, a child benefit record with no given name
    and the middle name Willow joined her twin Ivy Natalie's records, being otherwise the same (6 of the 46
    children holding two people at a million generated records held such a record). A record with no middle
    names rules nothing out: schools seldom send them."""
    middle = a.get("middle")
    if a.get("given") or not middle or not b.get("middle"):
        return True
    theirs = {n for n in (b.get("given"), b.get("given_first"), b.get("middle")) if n}
    return any(middle == n or _typo_close(middle, n) for n in theirs)


def _slips_apart(a: str, b: str, roots_a: Iterable[str], roots_b: Iterable[str]) -> bool:
    """A typo of each other, or of a name either may be or be short for."""
    return _typo_close(a, b) or _slip_of_a_short_name(a, b, roots_a) or _slip_of_a_short_name(b, a, roots_b)


def identifier_conflict(a: Profile, b: Profile) -> str | None:
    for column, words in (("nhs_number", "different NHS numbers"), ("upn", "different UPNs"),
                          ("uln", "different ULNs")):
        if a.get(column) and b.get(column) and a[column] != b[column]:
            return words
    return None


def _same_identifier(a: Profile, b: Profile) -> bool:
    return any(a.get(column) and a.get(column) == b.get(column) for column in ("nhs_number", "upn", "uln"))


def conflict(a: Profile, b: Profile) -> str | None:
    """Why ``a`` and ``b`` cannot be one child, or None."""
    why = identifier_conflict(a, b)
    if why:
        return why
    if not given_names_compatible(a, b):
        return "given names that cannot be the same"
    return None


def _different_identifiers(left: list[Profile], right: list[Profile]) -> str | None:
    """The first identifier that differs between a record of one group and a record of the other."""
    return next((why for x in left for y in right if (why := identifier_conflict(x, y))), None)


def group_conflict(left: list[Profile], right: list[Profile]) -> str | None:
    """Why two groups of records cannot be one child: an identifier differs between any two records, or fewer
    than half of either group's records have a given name that fits a record of the other group (a school's
    "Mellie" fits the GP's "Melanie" even if not child benefit's mistyped "Mlanie"; twin Anaya fits none of her
    sister Alice's records). Half, not all: one record's badly mistyped name ("On" for Ronald), taken into its
    group on its NHS number, must not keep the child's other records out for good. Only records with a given
    name are counted; one without must have a middle name that fits. Given names are not compared at all when
    the groups have an identifier in common."""
    why = _different_identifiers(left, right)
    if why:
        return why
    if any(_same_identifier(x, y) for x in left for y in right):
        return None  # an NHS number, UPN or ULN in common is one child's, whatever a mistyped given name says
    # Only records with a given name are weighed. A record without one used to fit every name, and so vouch for
    # any: George's child benefit record (no date of birth) joined his brother Stanley's child, whose child benefit
    # record had no given name, as one fitting record of two.
    named_left, named_right = [x for x in left if x.get("given")], [y for y in right if y.get("given")]
    if named_left and named_right:
        for ours, theirs in ((named_left, named_right), (named_right, named_left)):
            fitting = sum(1 for x in ours if any(given_names_compatible(x, y) for y in theirs))
            if 2 * fitting < len(ours):
                return "given names that cannot be the same"
    # A record without a given name but with a middle name must be one of the forenames of each record of the
    # other group that has middle names (``_middle_fits``): twin Harry's nameless record is not his brother Adam
    # Muhammad's, though Adam's child benefit record, like most, has no middle name.
    if len(named_left) == len(left) and len(named_right) == len(right):
        return None  # every record named (nearly every join): nothing more to ask
    for ours, theirs in ((left, right), (right, left)):
        if any(not all(_middle_fits(x, y) for y in theirs) for x in ours if not x.get("given") and x.get("middle")):
            return "given names that cannot be the same"
    return None


def births_compatible(a: str, b: str) -> bool:
    """Could these (ISO dates) be the same child's date of birth? Born in the same year (equal, day and month
    swapped or mistyped), or one digit of the year mistyped, or two next to each other transposed. Groups born
    apart so took 300 items out of the review queue at a million records (none one child) and 852 at 3 million
    (6 one child)."""
    return a[:4] == b[:4] or DamerauLevenshtein.distance(a, b) <= 1


def _births(group: list[Profile]) -> set[str]:
    """The group's dates of birth (a record without one rules nothing out)."""
    return {p["dob"] for p in group if p.get("dob")}


def _born_apart(left: list[Profile], right: list[Profile]) -> bool:
    """No date of birth of one group fits any of the other: born in different years, and not by a slip of one
    digit."""
    ours, theirs = _births(left), _births(right)
    return bool(ours and theirs) and not any(births_compatible(a, b) for a in ours for b in theirs)


def plainly_two_children(left: list[Profile], right: list[Profile]) -> bool:
    """No given name of one group fits any of the other (twins or siblings), or no date of birth does (siblings
    at one home, Joseph and his brother Josh born ten years later): whether the model was unsure or their
    identifiers differ, not one child. Nothing a person could add: not queued for review. (With the model sure
    and no identifier to tell them apart, the pair is still queued: a badly mistyped name looks the same; and a
    pair the model is sure of despite a date of birth wrong altogether, its names and home the same, is joined.)
    A record without a given name fits nothing and rules nothing out: it is left out here, where it used to fit
    every name (a girl at her sister's address was queued because her sister's group held a child benefit record
    with no given name). A group with no given name at all is not plainly anyone."""
    return _born_apart(left, right) or _named_apart(left, right)


def _named_apart(left: list[Profile], right: list[Profile]) -> bool:
    """No given name of one group fits any of the other (a record without one is left out)."""
    ours, theirs = [x for x in left if x.get("given")], [y for y in right if y.get("given")]
    return bool(ours and theirs) and not any(given_names_compatible(x, y) for x in ours for y in theirs)


def identifier_alone(left: list[Profile], right: list[Profile]) -> bool:
    """The groups have an NHS number, UPN or ULN in common and nothing else of one child: no given name of one
    fits any of the other, and no date of birth does. An identifier in common is one child's whatever one
    mistyped name or one wrong date says (``group_conflict``), but not against both: that is a sibling's number
    keyed on a child's record (Amelia and her sister Isla, born three years apart), and the NHS itself counts a
    number as verified only with the date of birth and name that go with it. A person is asked."""
    return (any(_same_identifier(x, y) for x in left for y in right) and _born_apart(left, right)
            and _named_apart(left, right))


def _only_the_family_in_common(left: list[Profile], right: list[Profile]) -> bool:
    """Nothing of one child could tell the groups apart from a brother or sister: no identifier in common, no
    given name on one side or no date of birth on the other, and no middle name of one among the other's
    forenames. What is left, the family name, the home and the carers, is the family's. The model, shown that
    alone, is sure (at 100,000 records twice as messy as the generator's default, the GP's record of Imogen's
    sister, with neither a given name nor a date of birth, joined Imogen; Theodore's record, with no date of birth,
    joined his brother Jacob, none of whose records had a given name). Not joined: the record is held if it is too
    thin to make a child, and waits for more."""
    # The cheap tests first: most groups a join weighs have a date of birth and a given name on both sides.
    if any(x.get("dob") for x in left) and any(y.get("dob") for y in right):
        return False
    if any(x.get("given") for x in left) and any(y.get("given") for y in right):
        return False
    if any(_same_identifier(x, y) for x in left for y in right):
        return False

    def forenames(group: list[Profile]) -> set[str]:
        return {n for p in group for n in (p.get("given"), p.get("given_first"), p.get("middle")) if n}

    middles = ({p["middle"] for p in left if p.get("middle")} & forenames(right)
               or {p["middle"] for p in right if p.get("middle")} & forenames(left))
    return not middles


def live_apart(left: list[Profile], right: list[Profile]) -> bool:
    """Two groups of records known to belong to children in different homes: each has a postcode, and they share
    no postcode or address, nor a carer's name with a birthday. With different NHS numbers, the same names and
    birthday are two children, and a person shown the pair has nothing to go on that the records do not already
    say (at 3 million records, three quarters of such pairs in the review queue were two children). Without a
    postcode on one side nothing is known, and the pair is still queued.

    A carer's name in common ties two homes (a move, the same mother) only for a child born on the same day (or
    whose birthday one side does not know): a mother's name is as common as a child's, and at 3 million records
    249 of the 250 pairs tied by one alone, born on different days, were two children (a Jack Mason, son of a
    Grace Mason, in each of two towns)."""
    def home(group: list[Profile]) -> tuple[set[str], set[str], set[str], set[str]]:
        return ({p["postcode"] for p in group if p.get("postcode")},
                {p["address_key"] for p in group if p.get("address_key")},
                {c for p in group for c in p.get("carer_names") or ()},
                _births(group))

    (postcodes, addresses, carers, born), (their_postcodes, their_addresses, their_carers, they_were_born) = \
        home(left), home(right)
    return (bool(postcodes and their_postcodes) and not postcodes & their_postcodes
            and not addresses & their_addresses
            and not (carers & their_carers and (born & they_were_born or not (born and they_were_born))))


class _Groups(Generic[R]):
    """Union-find over record IDs, each group remembering its records and the existing child it belongs to.

    A record alone in its group, and with no child yet, is in none of the dicts: a first load's millions of
    records would otherwise each hold three entries and a list from the start, and the bigger the dicts the
    slower every look-up (the clustering of 3 million records took 3.7 times as long as of 1 million)."""

    def __init__(self) -> None:
        self.parent: dict[R, R] = {}  # records that are not their group's root
        self._members: dict[R, list[R]] = {}  # roots of groups of two or more
        self.child: dict[R, int] = {}  # roots of groups that are an existing child

    def add(self, uid: R, child: int) -> None:
        """A record of an existing child (a new record needs no adding: alone, it is in none of the dicts)."""
        if uid not in self.child and uid not in self.parent:
            self.child[uid] = child

    def members(self, root: R) -> list[R]:
        return self._members.get(root) or [root]

    def find(self, uid: R) -> R:
        parent = self.parent
        root = uid
        while root in parent:
            root = parent[root]
        while uid != root:
            parent[uid], uid = root, parent[uid]
        return root

    def union(self, a: R, b: R) -> R:
        if len(self.members(a)) < len(self.members(b)):
            a, b = b, a
        self.parent[b] = a
        joined = self._members.get(a)
        if joined is None:
            joined = self._members[a] = [a]
        joined += self._members.pop(b, [b])
        if a not in self.child and b in self.child:
            self.child[a] = self.child[b]
        self.child.pop(b, None)
        return a


def decide(new: Iterable[R], existing: Mapping[R, int], profiles: Mapping[R, Profile],
           edges: Iterable[Edge[R]], *, link: float | None = None, review: float | None = None) -> Outcome[R]:
    """Place each new record. ``existing`` maps the records of candidate children (already in the index) to
    their child's ID; ``edges`` are the scored pairs with at least one new record. The thresholds default to
    the trained model's."""
    trained_link, trained_review = thresholds()
    link = trained_link if link is None else link
    review = trained_review if review is None else review
    groups: _Groups[R] = _Groups()
    for uid, child in existing.items():
        groups.add(uid, child)
    by_child: dict[int, R] = {}
    for uid, child in existing.items():
        if child in by_child:
            a, b = groups.find(by_child[child]), groups.find(uid)
            if a != b:
                groups.union(a, b)
        else:
            by_child[child] = uid
    new = list(new)

    reviews: dict[tuple[R, R], Review[R]] = {}

    def queue(a_root: R, b_root: R, edge: Edge[R], why: str) -> None:
        key = (min(a_root, b_root), max(a_root, b_root))
        if key not in reviews or reviews[key].probability < edge.probability:
            reviews[key] = Review(edge.left, edge.right, edge.probability, dict(edge.evidence), why)

    for edge in sorted(edges, key=lambda e: -e.probability):
        if edge.probability < review:
            break
        a, b = groups.find(edge.left), groups.find(edge.right)
        if a == b:
            continue
        left, right = [profiles[x] for x in groups.members(a)], [profiles[y] for y in groups.members(b)]
        if edge.probability < link:
            # Two children in different homes with different NHS numbers are as plainly two when the model doubts
            # the pair as when it is sure of it: often a school's record (no NHS number) against a GP's, each
            # joined to another NHS number (at 3 million records, 346 items; one was one child).
            if not (plainly_two_children(left, right)
                    or (_different_identifiers(left, right) and live_apart(left, right))):
                queue(a, b, edge, "the model is unsure")
            continue
        why = group_conflict(left, right)
        if why:
            if why.startswith("different") and (plainly_two_children(left, right) or live_apart(left, right)):
                continue
            queue(a, b, edge, why)
            continue
        if identifier_alone(left, right):
            queue(a, b, edge, IDENTIFIER_ALONE)
            continue
        if not (profiles[edge.left].get("dob") and profiles[edge.right].get("dob")) and _born_apart(left, right):
            # The model never weighed the dates of birth that tell the groups apart: one of this pair's records has
            # none. Another pair of their records that has both decides (Katherine's child benefit record, born
            # 2022, joined her sister Freya, born 2017, through the GP's record of Freya, which had no date).
            continue
        if _only_the_family_in_common(left, right):
            continue
        if groups.child.get(a) is not None and groups.child.get(b) is not None:
            queue(a, b, edge, LINKS_TWO)
            continue
        groups.union(a, b)

    # Reviews between what ended up in one group are moot.
    final = [r for (a, b), r in reviews.items() if groups.find(a) != groups.find(b)]
    child_of: dict[R, int | None] = {}
    group_of: dict[R, R] = {}
    for uid in new:
        root = groups.find(uid)
        child_of[uid] = groups.child.get(root)
        group_of[uid] = root
    return Outcome(child_of, group_of, final)
