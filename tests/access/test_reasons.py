"""Reasons offered by role (issue 18: every role was offered every reason; a teacher could pick "Health")."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contactpoint.access.reasons import EVERY_PRACTITIONER, Reason, parse_reason, reasons_for
from contactpoint.access.roles import ROLES, Permission
from contactpoint.errors import ValidationError

ROLE_CODES = [r.code for r in ROLES]
SRC = Path(__file__).resolve().parents[2] / "src" / "contactpoint"


@given(role=st.sampled_from(ROLE_CODES), reason=st.sampled_from(list(Reason)))
def test_a_reason_is_accepted_exactly_when_the_role_is_offered_it(role, reason):
    text = "Private fostering notification" if reason == Reason.OTHER else ""
    if reason in reasons_for(role):
        assert parse_reason(reason.value, text, role_code=role).reason == reason
    else:
        with pytest.raises(ValidationError) as refused:
            parse_reason(reason.value, text, role_code=role)
        assert refused.value.field == "reason"


@given(role=st.sampled_from(ROLE_CODES))
def test_every_role_that_finds_children_may_state_safeguarding_and_the_common_reasons(role):
    finds = {Permission.CHILD_SEARCH, Permission.CHILD_VIEW} & next(r for r in ROLES if r.code == role).permissions
    offered = set(reasons_for(role))
    assert offered >= EVERY_PRACTITIONER if finds else offered == set()


@given(role=st.text(max_size=20).filter(lambda code: code not in ROLE_CODES))
def test_an_unknown_role_may_give_no_reason(role):
    assert reasons_for(role) == ()
    with pytest.raises(ValidationError):
        parse_reason("child_protection", role_code=role)


def test_a_teacher_is_not_offered_health_and_a_nurse_is_not_offered_education():
    assert Reason.HEALTH not in reasons_for("sch3-9") and Reason.EDUCATION in reasons_for("sch3-9")
    assert Reason.EDUCATION not in reasons_for("sch3-2") and Reason.HEALTH in reasons_for("sch3-2")
    assert Reason.YOUTH_JUSTICE in reasons_for("sch3-3") and Reason.HEALTH not in reasons_for("sch3-3")
    assert set(reasons_for("data-manager")) == set(Reason)


def test_every_entry_point_passes_the_users_role_to_parse_reason():
    # The role check lives in parse_reason; a web, API or FHIR call without role_code would skip it.
    calls = []
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            name = getattr(node, "func", None) and getattr(node.func, "id", getattr(node.func, "attr", ""))
            if isinstance(node, ast.Call) and name == "parse_reason":
                calls.append((path.name, {k.arg for k in node.keywords}))
    assert calls and all("role_code" in keywords for _, keywords in calls), calls
