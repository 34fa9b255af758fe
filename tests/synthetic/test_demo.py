"""`contactpoint demo`: what someone trying ContactPoint sees — data loaded through the pipeline, logins that
work at once, and a second run that changes nothing."""

from __future__ import annotations

import json
import stat
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_otp.oath import TOTP

from contactpoint.access.authentication import authenticate
from contactpoint.access.models import User
from contactpoint.children.models import Child
from contactpoint.config import get_settings
from contactpoint.feeds.models import FeedRun
from contactpoint.synthetic import demo
from contactpoint.vault.keyring import get_keyring

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.slow]


def run_demo(children: int = 80) -> str:
    out = StringIO()
    call_command("demo", no_serve=True, children=children, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_demo_loads_an_authority_through_the_pipeline_and_every_login_works():
    printed = run_demo()
    runs = FeedRun.objects.filter(completed_at__isnull=False)
    assert {run.source.code for run in runs} == set(demo.LOAD_ORDER)
    assert Child.objects.filter(status="live").count() > 60
    # Bad rows in each feed are refused with their line and reason, and shown.
    assert "refused" in printed and "line " in printed

    path = get_settings().var_dir / "demo-logins.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    logins = json.loads(path.read_text())
    assert {entry["role"] for entry in logins} >= {"sch3-1a", "org-admin", "data-manager", "auditor", "operator"}
    for entry in logins:
        assert set(entry) == {"username", "password", "pin", "totp_secret", "role", "organisation"}
        assert entry["password"] in printed and entry["totp_secret"] in printed
        user = User.objects.get(username=entry["username"])
        assert user.role_code == entry["role"] and user.organisation.code == entry["organisation"]

    import base64

    sam = next(entry for entry in logins if entry["username"] == "sam.social")
    key = base64.b32decode(sam["totp_secret"] + "=" * (-len(sam["totp_secret"]) % 8))
    outcome = authenticate(sam["username"], sam["password"], sam["pin"], f"{TOTP(key).token():06d}",
                           now=timezone.now(), keyring=get_keyring())
    assert outcome.user.username == "sam.social"


def test_running_the_demo_again_changes_nothing():
    run_demo()
    children = Child.objects.count()
    runs = FeedRun.objects.count()
    printed = run_demo()
    assert Child.objects.count() == children and FeedRun.objects.count() == runs
    assert printed.count("loaded before, nothing changed") == len(demo.LOAD_ORDER)


def test_demo_code_prints_the_current_security_code():
    run_demo(children=20)
    out = StringIO()
    call_command("demo", code="dan.data", stdout=out)
    assert out.getvalue().strip().isdigit() and len(out.getvalue().strip()) == 6
