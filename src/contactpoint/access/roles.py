"""Roles and permissions as data the code enforces (DESIGN.md section 1 "Who may use it"; seed Annexes A, B).

Every view and API operation declares the ``Permission`` it needs; a user holds exactly one ``Role``; a role is
a bundle of permissions and says which kinds of organisation may hold it and who grants it. Practitioner roles
are the paragraphs of Schedule 3 to the 2007 Regulations (Annex A); national-partner employees are granted by
their partner (regulation 9(3)); the system roles are those of DESIGN.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Permission(StrEnum):
    """``scope:resource:action``."""

    # finding children and recording involvement (practitioners)
    CHILD_SEARCH = "child:record:search"
    CHILD_VIEW = "child:record:view"
    CHILD_INVOLVEMENT = "child:involvement:record"
    CHILD_SHIELD_OVERRIDE = "child:shield:override"
    # one's own account
    SELF_ACCOUNT = "self:account:view"
    # organisation administrators
    ORG_USERS_VIEW = "org:users:view"
    ORG_USERS_MANAGE = "org:users:manage"
    ORG_ORGANISATIONS_VOUCH = "org:organisations:vouch"
    ORG_SOURCES_MANAGE = "org:sources:manage"
    # local authority data managers
    LA_RECORDS_CORRECT = "la:records:correct"
    LA_MATCH_REVIEW = "la:matching:review"
    LA_DISCREPANCIES = "la:discrepancies:manage"
    LA_SHIELD_PROPOSE = "la:shielding:propose"
    LA_SHIELD_APPROVE = "la:shielding:approve"
    LA_SHIELD_HIDDEN_VIEW = "la:shielding:view-hidden"
    LA_SENSITIVE_MANAGE = "la:sensitive:manage"
    LA_ARCHIVE_VIEW = "la:archive:view"
    LA_SEALED_OPEN = "la:sealed:open"
    LA_LIFECYCLE_MANAGE = "la:lifecycle:manage"
    # auditors
    AUDIT_ALERTS = "audit:alerts:manage"
    AUDIT_REPORTS = "audit:reports:read"
    AUDIT_NATIONAL = "audit:scope:national"
    # the operator: runs the service, sees no child data
    OPS_SERVICE = "ops:service:read"
    # source systems (machine clients): submit feeds, read their own discrepancies; never search
    FEED_SUBMIT = "feed:records:submit"
    FEED_DISCREPANCIES = "feed:discrepancies:read"


class OrgKind(StrEnum):
    LOCAL_AUTHORITY = "local_authority"
    NATIONAL_PARTNER = "national_partner"
    SCHOOL = "school"
    FE_COLLEGE = "fe_college"
    HEALTH = "health"  # GP practices, NHS trusts, health visiting, school nursing
    POLICE = "police"
    BRITISH_TRANSPORT_POLICE = "btp"
    PROBATION = "probation"
    YOUTH_OFFENDING_TEAM = "yot"
    SECURE_ESTATE = "secure_estate"  # prisons and secure training centres
    YOUTH_SUPPORT = "youth_support"  # services under s.114 Learning and Skills Act 2000
    VOLUNTARY = "voluntary"
    CAFCASS = "cafcass"
    FIRE_RESCUE = "fire_rescue"
    CEOP = "ceop"
    OPERATOR = "operator"  # the national ContactPoint service team


class Grantor(StrEnum):
    LOCAL_AUTHORITY = "local_authority"  # regulation 9(2)
    NATIONAL_PARTNER = "national_partner"  # regulation 9(3)
    OPERATOR = "operator"  # the national service team, for its own staff


PRACTITIONER = frozenset({Permission.CHILD_SEARCH, Permission.CHILD_VIEW, Permission.CHILD_INVOLVEMENT,
                          Permission.SELF_ACCOUNT})
CHILD_PROTECTION = PRACTITIONER | {Permission.CHILD_SHIELD_OVERRIDE}


@dataclass(frozen=True)
class Role:
    code: str
    title: str
    kind: str  # "practitioner", "partner" or "system"
    reference: str  # where the law or the design defines it
    org_kinds: frozenset[OrgKind]
    granted_by: Grantor
    permissions: frozenset[Permission]

    @property
    def sees_child_data(self) -> bool:
        return Permission.CHILD_VIEW in self.permissions


def _p(code: str, title: str, reference: str, kinds: set[OrgKind] | frozenset[OrgKind],
       child_protection: bool = False) -> Role:
    return Role(code, title, "practitioner", reference, frozenset(kinds), Grantor.LOCAL_AUTHORITY,
                CHILD_PROTECTION if child_protection else PRACTITIONER)


LA = frozenset({OrgKind.LOCAL_AUTHORITY})

ROLES: tuple[Role, ...] = (
    _p("sch3-1a", "Local authority social services", "Schedule 3 paragraph 1(2)(a)", LA, child_protection=True),
    _p("sch3-1b", "Local authority education: special educational needs, admissions, attendance, welfare",
       "Schedule 3 paragraph 1(2)(b)", LA),
    _p("sch3-1c", "Local authority fire and rescue strategy for children", "Schedule 3 paragraph 1(2)(c)", LA),
    _p("sch3-1d", "Local authority co-operation and safeguarding (Children Act 2004 s.10, s.11)",
       "Schedule 3 paragraph 1(2)(d)", LA),
    _p("sch3-1e", "Local authority ContactPoint functions", "Schedule 3 paragraph 1(2)(e)", LA),
    _p("sch3-2", "Health care professional, or a person assisting one", "Schedule 3 paragraph 2",
       {OrgKind.HEALTH}),
    _p("sch3-3", "Police authority, chief officer or police force", "Schedule 3 paragraph 3", {OrgKind.POLICE},
       child_protection=True),
    _p("sch3-4", "British Transport Police officer", "Schedule 3 paragraph 4", {OrgKind.BRITISH_TRANSPORT_POLICE},
       child_protection=True),
    _p("sch3-5", "Local probation board officer", "Schedule 3 paragraph 5", {OrgKind.PROBATION}),
    _p("sch3-6", "Youth offending team member", "Schedule 3 paragraph 6", {OrgKind.YOUTH_OFFENDING_TEAM}),
    _p("sch3-7", "Prison or secure training centre governor, director, officer or administrator",
       "Schedule 3 paragraph 7", {OrgKind.SECURE_ESTATE}),
    _p("sch3-8", "Provider of services under s.114 Learning and Skills Act 2000", "Schedule 3 paragraph 8",
       {OrgKind.YOUTH_SUPPORT}),
    _p("sch3-9", "School head, deputy, administrator, pastoral or child protection teacher, SEN teacher or "
       "SENCO", "Schedule 3 paragraph 9", {OrgKind.SCHOOL}),
    _p("sch3-10", "Further education principal, deputy, pastoral or SEN tutor, or administrator",
       "Schedule 3 paragraph 10", {OrgKind.FE_COLLEGE}),
    _p("sch3-11", "Employee of a voluntary organisation working with children", "Schedule 3 paragraph 11",
       {OrgKind.VOLUNTARY}),
    _p("sch3-12", "Registered social care worker", "Schedule 3 paragraph 12",
       {OrgKind.LOCAL_AUTHORITY, OrgKind.VOLUNTARY, OrgKind.HEALTH}),
    _p("sch3-13", "Cafcass staff", "Schedule 3 paragraph 13", {OrgKind.CAFCASS}),
    _p("sch3-14", "Fire and rescue authority employee (children's strategy)", "Schedule 3 paragraph 14",
       {OrgKind.FIRE_RESCUE}),
    _p("sch3-15", "CEOP employee (sexual abuse of children)", "Schedule 3 paragraph 15", {OrgKind.CEOP},
       child_protection=True),
    Role("national-partner", "Employee of a national partner", "partner", "Regulation 9(3); Annex B",
         frozenset({OrgKind.NATIONAL_PARTNER}), Grantor.NATIONAL_PARTNER, PRACTITIONER),
    Role("org-admin", "Organisation administrator", "system", "DESIGN.md section 1: grants and revokes access, "
         "records clearance, training and policy", frozenset({OrgKind.LOCAL_AUTHORITY, OrgKind.NATIONAL_PARTNER,
                                                               OrgKind.OPERATOR}),
         Grantor.LOCAL_AUTHORITY,
         frozenset({Permission.SELF_ACCOUNT, Permission.ORG_USERS_VIEW, Permission.ORG_USERS_MANAGE,
                    Permission.ORG_ORGANISATIONS_VOUCH, Permission.ORG_SOURCES_MANAGE})),
    Role("data-manager", "Local authority data manager", "system", "DESIGN.md section 1: corrects records, "
         "reviews matches, handles discrepancies, shielding and the archive", LA, Grantor.LOCAL_AUTHORITY,
         frozenset({Permission.SELF_ACCOUNT, Permission.CHILD_SEARCH, Permission.CHILD_VIEW,
                    Permission.LA_RECORDS_CORRECT, Permission.LA_MATCH_REVIEW, Permission.LA_DISCREPANCIES,
                    Permission.LA_SHIELD_PROPOSE, Permission.LA_SHIELD_APPROVE, Permission.LA_SHIELD_HIDDEN_VIEW,
                    Permission.LA_SENSITIVE_MANAGE, Permission.LA_ARCHIVE_VIEW, Permission.LA_SEALED_OPEN,
                    Permission.LA_LIFECYCLE_MANAGE})),
    Role("auditor", "Auditor", "system", "DESIGN.md section 1: reads the audit trail and alerts",
         frozenset({OrgKind.LOCAL_AUTHORITY}), Grantor.LOCAL_AUTHORITY,
         frozenset({Permission.SELF_ACCOUNT, Permission.AUDIT_ALERTS, Permission.AUDIT_REPORTS})),
    Role("national-auditor", "National auditor", "system", "DESIGN.md section 1: audit across England",
         frozenset({OrgKind.OPERATOR}), Grantor.OPERATOR,
         frozenset({Permission.SELF_ACCOUNT, Permission.AUDIT_ALERTS, Permission.AUDIT_REPORTS,
                    Permission.AUDIT_NATIONAL})),
    Role("operator", "Service operator (no child data)", "system", "DESIGN.md section 1: IT staff who run the "
         "system, with the same clearance, who see no child data", frozenset({OrgKind.OPERATOR}),
         Grantor.OPERATOR, frozenset({Permission.SELF_ACCOUNT, Permission.OPS_SERVICE})),
)

ROLES_BY_CODE: dict[str, Role] = {r.code: r for r in ROLES}

# What a source system's API key may be scoped to (they are not users and hold no role).
SOURCE_SCOPES = frozenset({Permission.FEED_SUBMIT, Permission.FEED_DISCREPANCIES})


def role(code: str) -> Role:
    return ROLES_BY_CODE[code]

