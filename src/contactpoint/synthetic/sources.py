"""The four source systems and the rows each holds for a household's children.

- ``gp-registrations`` (national): nearly every child, with NHS number, GP practice and registration date.
- ``child-benefit`` (national): most families; the claimant as carer 1; no NHS number.
- ``school-census-<LA>``: pupils of Reception to Year 13 at the LA's schools, with UPN, ULN (14+), carers.
- ``la-social-care-<LA>``: the few children known to a children's service, with its practitioner.

Each source numbers its records its own way (``source_record_id``), and each sees the child through
``Viewer``, so each carries its own share of the mess. A few children are in a source twice under two record
IDs (``MessRates.duplicate_in_source``): those second copies are made after the chunk's last household
(``Sources.duplicates``), so they come later in the file and take later record numbers, as a re-registration
would.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import NamedTuple

from contactpoint.dates import age_on, school_age
from contactpoint.synthetic.dates import day_between, phase_start_year, school_start
from contactpoint.synthetic.ids import Permutation
from contactpoint.synthetic.mess import MessRates
from contactpoint.synthetic.places import School
from contactpoint.synthetic.population import Carer, Child, Household, office_phone
from contactpoint.synthetic.postcodes import Address
from contactpoint.synthetic.rand import between, pick
from contactpoint.synthetic.views import Row, Viewer
from contactpoint.synthetic.world import World

GP = "gp-registrations"
CHILD_BENEFIT = "child-benefit"


def school_census(la_code: str) -> str:
    return f"school-census-{la_code}"


def social_care(la_code: str) -> str:
    return f"la-social-care-{la_code}"


@dataclass(frozen=True)
class Coverage:
    """Who appears in which source (not mess: these children are simply not known to it)."""

    gp: float = 0.97
    child_benefit: float = 0.90  # of families with a parent or relative as carer (foster carers cannot claim)
    school_census: float = 0.95  # of children in Reception to Year 11 (others: independent or home education)
    school_census_post16: float = 0.60  # of Years 12-13 (others: colleges, apprenticeships)
    social_care_household: float = 0.075  # families known to a children's service
    social_care_child: float = 0.80  # of the children in such a family
    previous_la_census_days: int = 120  # a family that moved LA this recently is still on the old LA's census
    previous_la_social_care: float = 0.10  # of children who moved LA: an involvement the old LA has closed


# (service, weight, minimum age, share of involvements that are a sensitive service, share with a CAF)
SERVICES: tuple[tuple[str, float, int, float, float], ...] = (
    ("Children's social care", 0.38, 0, 0.0, 0.30),
    ("Early help", 0.34, 0, 0.0, 0.60),
    ("Youth offending service", 0.08, 10, 0.0, 0.20),
    ("CAMHS", 0.12, 4, 0.40, 0.20),
    ("Family support", 0.05, 0, 0.0, 0.40),
    ("Young people's substance misuse service", 0.02, 11, 1.0, 0.10),
    ("Young people's sexual health service", 0.01, 13, 1.0, 0.0),
)
WHEREABOUTS_NOT_CURRENT = (("last_known", 0.6), ("no_known_address", 0.2), ("left_england", 0.2))
_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"
# A second copy's GP record number and claim reference come from numbers no first copy uses: children and
# households are numbered below 25 million (bad rows' just above), and the permutations are far larger.
_SECOND_COPY = 500_000_000
_SECOND_CLAIM = 50_000_000


class _Duplicate(NamedTuple):
    """A child to be sent a second time by one source, made after the chunk's last household."""

    source: str
    child: Child
    household: Household
    number: int = 1  # the child's number on the family's claim (child benefit)
    claimant: Carer | None = None


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


class Sources:
    """The source systems' rows for the households of one chunk of a run (see ``world``)."""

    def __init__(self, world: World, chunk: int, coverage: Coverage, rates: MessRates | None = None) -> None:
        """``rates``: the mess, if not the run's own (bad rows use rates without the bad values)."""
        self.rng = random.Random(f"{world.seed}:rows:{chunk}")
        self.rates = rates or world.rates
        self.today, self.coverage, self.pools = world.today, coverage, world.pools
        self.view = Viewer(self.rng, self.rates, world.today)
        self._duplicates: list[_Duplicate] = []
        # Record numbers are permutations of child, household and case numbers, the same in every process.
        ids = random.Random(f"{world.seed}:source-ids")
        self._gp_ids = Permutation(10**9, ids)
        self._claim_ids = Permutation(10**8, ids)
        self._case_ids = {la: Permutation(10**7, ids) for la in world.las}
        self._cases = dict.fromkeys(world.las, 0)
        # Chunk c numbers its cases c, c + k, c + 2k... (k = chunks + 1, counting the bad rows' chunk).
        self._chunk, self._case_stride = chunk, world.chunks + 1
        self._admissions: dict[str, int] = {}

    def rows(self, household: Household) -> Iterator[tuple[str, Row, Child]]:
        """(source, row, child) for every row any source holds about the household's children (except the
        second copies of duplicated children: see ``duplicates``)."""
        rng, cover, rates = self.rng, self.coverage, self.rates
        claimant = self.claimant(household) if rng.random() < cover.child_benefit else None
        known_to_services = rng.random() < cover.social_care_household
        for number, child in enumerate(household.children, start=1):
            if rng.random() < cover.gp:
                yield GP, self.gp_row(child, household), child
                if rng.random() < rates.duplicate_in_source:
                    self._duplicates.append(_Duplicate(GP, child, household))
            if claimant:
                yield CHILD_BENEFIT, self.child_benefit_row(child, household, number, claimant), child
                if rng.random() < rates.duplicate_in_source:
                    self._duplicates.append(_Duplicate(CHILD_BENEFIT, child, household, number, claimant))
            if child.school and rng.random() < self._school_coverage(child):
                census = school_census(household.la_code)
                yield census, self.school_row(child, household), child
                if rng.random() < rates.duplicate_in_source:
                    self._duplicates.append(_Duplicate(census, child, household))
                stale = self.previous_la_school_row(child, household)
                if stale:
                    yield school_census(stale[0]), stale[1], child
            if known_to_services and rng.random() < cover.social_care_child:
                care = social_care(household.la_code)
                yield care, self.social_care_row(child, household), child
                if rng.random() < rates.duplicate_in_social_care:
                    self._duplicates.append(_Duplicate(care, child, household))
            if household.moved_between_las and household.moved_on > child.dob \
                    and rng.random() < cover.previous_la_social_care:
                la = household.previous_address.la_code
                yield social_care(la), self.social_care_row(child, household, closed_by=la), child

    def duplicates(self) -> Iterator[tuple[str, Row, Child]]:
        """The second copies of the children ``rows`` chose to send twice, in the order chosen: each a row of
        its own, under a record ID of its own, seen afresh (so with its own share of the mess)."""
        for source, child, household, number, claimant in self._duplicates:
            if source == GP:
                row = self.gp_row(child, household, second_copy=True)
            elif source == CHILD_BENEFIT:
                assert claimant is not None
                row = self.child_benefit_row(child, household, number, claimant, second_copy=True)
            elif source.startswith("school-census-"):
                row = self.school_row(child, household)  # a new admission number
            else:
                row = self.social_care_row(child, household)  # a new case number
            yield source, row, child
        self._duplicates.clear()

    def _school_coverage(self, child: Child) -> float:
        return self.coverage.school_census if school_age(child.dob, self.today) <= 15 \
            else self.coverage.school_census_post16

    def _updated(self, since: date | None) -> date:
        """When the source last touched the record: within the last year, not before ``since``."""
        return day_between(self.rng, max(since or self.today, self.today - timedelta(days=365)), self.today)

    # -- gp-registrations ------------------------------------------------------------------------------------

    def gp_row(self, child: Child, household: Household, second_copy: bool = False) -> Row:
        view, rng = self.view, self.rng
        address = view.address(household, child)
        stale = address is household.previous_address
        practice = household.practice
        if stale and household.previous_practice:  # not re-registered since moving either
            practice = household.previous_practice
        if not stale and household.moved_on and household.moved_on > child.dob \
                and practice is not household.previous_practice:
            registered = household.moved_on + timedelta(days=between(rng, 3, 60))  # re-registered on moving
        else:
            registered = child.dob + timedelta(days=between(rng, 10, 70))  # registered as a newborn
        registered = min(registered, self.today)
        row = view.person(child, self.rates.nickname_other, middle_rate=1.0,
                          born_by=min(registered, child.date_of_death or registered))
        row |= view.address_fields(address)
        record = child.index + (_SECOND_COPY if second_copy else 0)
        row |= {"source_record_id": f"GP-{self._gp_ids(record):09d}",
                "date_of_death": child.date_of_death,
                "nhs_number": view.nhs_number(child, self.rates.missing_nhs_number_gp,
                                              self.rates.invalid_nhs_number_gp),
                "gp_practice_code": practice.code, "gp_practice_name": practice.name,
                "gp_start_date": registered, "updated_at": self._updated(child.date_of_death or registered)}
        return row

    # -- child-benefit ---------------------------------------------------------------------------------------

    @staticmethod
    def claimant(household: Household) -> Carer | None:
        """The carer who claims: one with parental responsibility if any. Foster carers cannot claim."""
        if household.kind == "foster":
            return None
        return next((c for c in household.carers if c.parental_responsibility), household.carers[0])

    def child_benefit_row(self, child: Child, household: Household, number: int, claimant: Carer,
                          second_copy: bool = False) -> Row:
        """``second_copy``: the child on a second claim, under another claim reference."""
        view = self.view
        claim = self._claim_ids(household.index + (_SECOND_CLAIM if second_copy else 0))
        reference = f"CHB{claim:08d}{_LETTERS[claim % 23]}{_LETTERS[claim // 23 % 23]}"
        updated = self._updated(child.dob)
        row = view.person(child, self.rates.nickname_other, middle_rate=0.9, born_by=updated)
        row |= view.address_fields(view.address(household, child), one_line=True)
        row |= view.carers([claimant], limit=1)
        row |= {"source_record_id": f"{reference}/{number:02d}", "updated_at": updated}
        return row

    # -- school-census-<LA> ----------------------------------------------------------------------------------

    def _admission(self, school: School) -> str:
        """A pupil ID as the school's MIS issues it: the school's URN and its next admission number."""
        number = self._admissions.get(school.urn, 1)
        self._admissions[school.urn] = number + 1
        return f"{school.urn}-{number:06d}"

    def school_row(self, child: Child, household: Household, *, school: School | None = None,
                   start: date | None = None, address: Address | None = None) -> Row:
        view, rates = self.view, self.rates
        school = school or child.school
        start = start or child.setting_start
        address = address or view.address(household, child)
        row = view.person(child, rates.nickname_school, middle_rate=0.6, born_by=start)
        row |= view.address_fields(address)
        row |= view.carers(household.carers)
        row |= {"source_record_id": self._admission(school),
                "upn": view.maybe(child.upn, rates.missing_upn_school),
                "uln": view.maybe(child.uln, rates.missing_uln_14_plus) if age_on(child.dob, self.today) >= 14
                else "", "setting_urn": school.urn, "setting_name": school.name,
                "setting_start_date": start, "updated_at": self._updated(start)}
        return row

    def previous_la_school_row(self, child: Child, household: Household) -> tuple[str, Row] | None:
        """A family that moved LA days ago is still on the old LA's last census, at the old school."""
        moved = household.moved_on
        if not household.moved_between_las \
                or (self.today - moved).days > self.coverage.previous_la_census_days:
            return None
        phase_start = phase_start_year(child.dob, self.today)
        old_school = household.previous_primary if school_age(child.dob, self.today) <= 10 \
            else household.previous_secondary
        started = school_start(self.rng, phase_start, self.today)
        if started >= moved or old_school is None:
            return None
        row = self.school_row(child, household, school=old_school, start=started,
                              address=household.previous_address)
        row["updated_at"] = day_between(self.rng, started, moved)
        return old_school.la_code, row

    # -- la-social-care-<LA> ---------------------------------------------------------------------------------

    def _case_id(self, la: str) -> str:
        number = self._case_ids[la](self._cases[la] * self._case_stride + self._chunk)
        self._cases[la] += 1
        return f"SC{la}-{number:07d}"

    def _service(self, child: Child) -> tuple[str, float, int, float, float]:
        age = age_on(child.dob, self.today)
        eligible = [s for s in SERVICES if age >= s[2]]
        r = self.rng.random() * sum(s[1] for s in eligible)
        for service in eligible:
            r -= service[1]
            if r < 0:
                return service
        return eligible[-1]

    def social_care_row(self, child: Child, household: Household, closed_by: str | None = None) -> Row:
        """The child's involvement with one service; ``closed_by`` is the LA the family left, whose record
        shows the old address and an involvement that ended around the move."""
        view, rng, rates = self.view, self.rng, self.rates
        la = closed_by or household.la_code
        name, _, _, sensitive, caf = self._service(child)
        if closed_by:
            address, whereabouts = household.previous_address, "last_known"
            start = day_between(rng, max(child.dob, household.moved_on - timedelta(days=3 * 365)),
                                household.moved_on)
            end: date | None = min(household.moved_on + timedelta(days=between(rng, 0, 60)), self.today)
        else:
            address, whereabouts = view.address(household, child), "current"
            if rng.random() < rates.whereabouts_not_current:
                whereabouts = self._not_current()
            start = day_between(rng, max(child.dob, self.today - timedelta(days=5 * 365)), self.today)
            end = day_between(rng, start, self.today) if rng.random() < 0.25 else None
        row = view.person(child, rates.nickname_social_care, middle_rate=0.5, born_by=start,
                          missing_dob_rate=rates.missing_date_of_birth_social_care)
        if whereabouts != "no_known_address":
            row |= view.address_fields(address)
        row |= view.carers(household.carers)
        practitioner = f"{pick(rng, self.pools.women if rng.random() < 0.75 else self.pools.men)} " \
                       f"{pick(rng, self.pools.family)}"
        row |= {"source_record_id": self._case_id(la), "whereabouts": whereabouts,
                "nhs_number": view.nhs_number(child, rates.missing_nhs_number_social_care,
                                              rates.invalid_nhs_number_social_care),
                "upn": view.maybe(child.upn, rates.missing_upn_social_care),
                "service_name": name, "practitioner_name": practitioner,
                "practitioner_phone": office_phone(rng, la),
                "involvement_start_date": start, "involvement_end_date": end,
                "lead_professional": _yes(rng.random() < 0.45), "caf_completed": _yes(rng.random() < caf),
                "sensitive_service": _yes(rng.random() < sensitive),
                "updated_at": self._updated(end or start)}
        return row

    def _not_current(self) -> str:
        r = self.rng.random()
        for value, share in WHEREABOUTS_NOT_CURRENT:
            r -= share
            if r < 0:
                return value
        return WHEREABOUTS_NOT_CURRENT[-1][0]
