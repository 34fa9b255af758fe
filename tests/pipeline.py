"""Loading children the way production does, for tests that need real data in the store."""

from __future__ import annotations

from datetime import UTC, datetime

from contactpoint.access.models import Organisation
from contactpoint.access.sources import register_source
from contactpoint.audit.actions import AuditAction
from contactpoint.audit.trail import Actor, record_event
from contactpoint.children.models import Child
from contactpoint.children.record import Carer
from contactpoint.children.store import NewChild, create_children
from contactpoint.ingest.run import ingest
from contactpoint.vault.keyring import get_keyring
from tests.canary import CANARY
from tests.factories import make_record


def load_canary():
    ring = get_keyring()
    record = make_record(given=CANARY["given"], family=CANARY["family"], dob=CANARY["date_of_birth"],
                         postcode=CANARY["postcode"], nhs=CANARY["nhs_number"],
                         carers=(Carer(CANARY["carer"], "mother", True, "07700 900999"),))
    [created] = create_children(ring, [NewChild(record, responsible_la="202")], now=datetime.now(UTC))
    child = Child.objects.get(cpid=created.cpid)
    # A search for the canary, with its criteria, as the audit trail would hold it.
    record_event(AuditAction.SEARCH, actor=Actor("alice", "LA-202"), keyring=ring, subjects=[child.cpid],
                 detail={"family": CANARY["family"], "birthdate": CANARY["date_of_birth"].isoformat(),
                         "postcode": CANARY["postcode"]})
    # A row about the canary that lacks a date of birth and matches no child: held, sealed, not discarded.
    held = (f"source_record_id,given_name,family_name,postcode,carer_1_name\n"
            f"HELD-1,{CANARY['given']},{CANARY['family']},{CANARY['postcode']},{CANARY['carer']}\n").encode()
    gp = register_source(None, code="canary-gp", name="Canary GP", kind="gp_registrations",
                         organisation=Organisation.objects.get(code="CP-NATIONAL"), now=datetime.now(UTC),
                         keyring=ring)
    run = ingest(gp, held, fmt="csv", keyring=ring, now=datetime.now(UTC)).run
    assert run.rows_held == 1
    return child
