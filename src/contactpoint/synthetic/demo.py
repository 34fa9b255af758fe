"""The demonstration: one synthetic local authority loaded through the real pipeline, and a user for each role.

Everything here goes through the same functions production uses (source registration, ``feeds.ingest``,
``provision_user``), so the demo exercises matching, the best view, the vault and the audit trail for real.
Only the credentials are unusual: known passwords, PINs and TOTP secrets, written to a 0600 file, so that
anyone trying the demo can sign in at once. ``config.Settings`` refuses to run the demo outside development.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import date, datetime
from functools import partial
from pathlib import Path

from contactpoint.access.administration import provision_user
from contactpoint.access.models import Organisation, SourceSystem, User
from contactpoint.access.sources import issue_key, register_source
from contactpoint.audit.actions import AuditAction
from contactpoint.audit.trail import Actor, record_event
from contactpoint.ingest.run import IngestOutcome, ingest
from contactpoint.matching.engine import backend
from contactpoint.synthetic.generator import feed_files, generate
from contactpoint.synthetic.sources import CHILD_BENEFIT, GP, school_census, social_care
from contactpoint.vault.keyring import KeyRing

OPERATOR = Actor("system:demo", role="operator")
DEMO_LA = "202"


@dataclass(frozen=True)
class DemoUser:
    username: str
    full_name: str
    role: str
    organisation: str  # organisation code
    what: str  # what to try with this account, printed with the logins


# Organisations a local authority vouches for, so that the demo has a teacher, a health visitor and a police
# officer as well as the authority's own staff.
VOUCHED = (
    ("SCH-202001", "Agar Grove Primary School", "school"),
    ("HLT-202001", "Camden Health Visiting Service", "health"),
    ("POL-MPS", "Metropolitan Police Service", "police"),
)

USERS = (
    DemoUser("sam.social", "Sam Okafor", "sch3-1a", "LA-202", "social worker: search, view, override shielding"),
    DemoUser("tess.teacher", "Tess Lindqvist", "sch3-9", "SCH-202001", "designated safeguarding lead in a school"),
    DemoUser("hana.health", "Hana Begum", "sch3-2", "HLT-202001", "health visitor"),
    DemoUser("pat.police", "Pat Morrison", "sch3-3", "POL-MPS", "police child abuse investigation team"),
    DemoUser("nina.partner", "Nina Kowalski", "national-partner", "NP-NSPCC", "national partner (NSPCC)"),
    DemoUser("ada.admin", "Ada Mensah", "org-admin", "LA-202", "organisation administrator: users, sources"),
    DemoUser("dan.data", "Dan Whitfield", "data-manager", "LA-202", "data manager: review queue, shielding"),
    DemoUser("dee.data", "Dee Achterberg", "data-manager", "LA-202", "second data manager (four eyes)"),
    DemoUser("aud.auditor", "Aud Pearson", "auditor", "LA-202", "local authority auditor: alerts, reports"),
    DemoUser("nat.auditor", "Nat Obi", "national-auditor", "CP-NATIONAL", "national auditor"),
    DemoUser("otto.operator", "Otto Reyes", "operator", "CP-NATIONAL", "operator: service status, no child data"),
)

# Which kind of source system each generated feed comes from, and who runs it.
SOURCE_KINDS = {GP: ("gp_registrations", "CP-NATIONAL", "NHS GP registrations (PDS extract)"),
                CHILD_BENEFIT: ("child_benefit", "CP-NATIONAL", "HMRC Child Benefit"),
                school_census(DEMO_LA): ("school_census", "LA-202", "School census, Camden schools"),
                social_care(DEMO_LA): ("la_social_care", "LA-202", "Camden children's social care")}
# Richest identifiers first, so later feeds link to children the earlier ones created.
LOAD_ORDER = (GP, CHILD_BENEFIT, school_census(DEMO_LA), social_care(DEMO_LA))


@dataclass(frozen=True)
class Login:
    username: str
    password: str
    pin: str
    totp_secret: str
    role: str
    organisation: str
    what: str


def _credentials(username: str) -> tuple[str, str, str]:
    """Known, stable credentials per demo user: re-running the demo prints the same ones."""
    digest = hashlib.sha256(f"contactpoint-demo:{username}".encode()).digest()
    password = f"demo-{username.split('.')[0]}-{int.from_bytes(digest[:2], 'big') % 9000 + 1000}"
    pin = f"{int.from_bytes(digest[2:6], 'big') % 900000 + 100000}"
    if len(set(pin)) < 3:  # the PIN rules refuse runs and repeats
        pin = "246813"
    return password, pin, digest[8:28].hex()  # 20-byte TOTP key, as django-otp stores it (hex)


def create_users(*, keyring: KeyRing, now: datetime, today: date) -> list[Login]:
    la = Organisation.objects.get(code=f"LA-{DEMO_LA}")
    for code, name, kind in VOUCHED:
        Organisation.objects.get_or_create(code=code, defaults={"name": name, "kind": kind, "la_code": la.la_code,
                                                                 "vouched_by": la})
    logins = []
    for spec in USERS:
        password, pin, key = _credentials(spec.username)
        existing = User.objects.filter(username=spec.username).first()
        if existing is None:
            account = provision_user(
                organisation=Organisation.objects.get(code=spec.organisation), username=spec.username,
                full_name=spec.full_name, role_code=spec.role, cleared_on=today.replace(day=1),
                clearance_reference=f"DEMO{key[:10].upper()}", trained_on=today,
                now=now, keyring=keyring, actor_name=OPERATOR.name, password=password, pin=pin,
                totp_key_hex=key, must_change_credentials=False,
                email=f"{spec.username}@demo.contactpoint.invalid")
            secret = account.totp_secret
        else:
            secret = base64.b32encode(bytes.fromhex(key)).decode().rstrip("=")
        logins.append(Login(spec.username, password, pin, secret, spec.role, spec.organisation, spec.what))
    return logins


def write_logins(path: Path, logins: list[Login]) -> None:
    """var/demo-logins.json, readable by its owner only (it holds working credentials)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        os.fchmod(out.fileno(), 0o600)
        json.dump([{k: v for k, v in asdict(login).items() if k != "what"} for login in logins], out, indent=2)
        out.write("\n")


def register_sources(*, keyring: KeyRing, now: datetime) -> dict[str, tuple[SourceSystem, str | None]]:
    """Each feed's source system, with a fresh API key the first time (shown once, as in production)."""
    sources = {}
    for code in LOAD_ORDER:
        kind, owner, name = SOURCE_KINDS[code]
        source = SourceSystem.objects.filter(code=code).first()
        token = None
        if source is None:
            source = register_source(None, code=code, name=name, kind=kind,
                                     organisation=Organisation.objects.get(code=owner), now=now, keyring=keyring,
                                     actor=OPERATOR)
            token = issue_key(None, source, now=now, keyring=keyring, actor=OPERATOR).token
        sources[code] = (source, token)
    return sources


def load_feeds(folder: Path, sources: dict[str, tuple[SourceSystem, str | None]], *, keyring: KeyRing,
               now: datetime, progress: Callable[[str, int], None] | None = None) -> Iterator[IngestOutcome]:
    """Feed each file through the pipeline; a file taken before changes nothing (ingest is idempotent)."""
    engine = backend(None)
    for code in LOAD_ORDER:
        source, _ = sources[code]
        data = (folder / feed_files([DEMO_LA])[code]).read_bytes()
        yield ingest(source, data, fmt="csv", mode="full", keyring=keyring, now=now, engine=engine,
                     progress=partial(progress, code) if progress else None)


def generate_feeds(folder: Path, *, children: int, seed: int, today: date) -> None:
    """Files once written are kept (whatever the day), so an interrupted demo load resumes rather than
    loading a second, different England on top of the first."""
    marker = folder / ".complete"
    wanted = f"{children}:{seed}"
    if marker.exists() and marker.read_text().startswith(wanted + ":"):
        return
    generate(children, seed, folder, [DEMO_LA], today=today, bad_rows=12)
    marker.write_text(f"{wanted}:{today.isoformat()}")


def loaded(keyring: KeyRing, now: datetime, children: int) -> None:
    record_event(AuditAction.DEMO_LOADED, actor=OPERATOR, keyring=keyring, at=now,
                 context={"local_authority": DEMO_LA, "children": children})
