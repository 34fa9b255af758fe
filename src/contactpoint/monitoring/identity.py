"""A user's own family name and postcode, kept only as keyed tokens, and recognising them in a search.

The tokens are HMAC-SHA256 under keys of their own (from the key ring, like the vault's blind indexes), over
the same normalisation search uses: each part of a family name (so "Hartley-Shah" is watched as "HARTLEY" and
"SHAH") and the postcode in standard form. The monitor computes the same tokens from a search's criteria,
which it decrypts in memory from the audit entry's detail, and compares. No name or postcode is stored.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from datetime import datetime

from contactpoint.access.authentication import user_actor
from contactpoint.access.models import User
from contactpoint.audit.actions import AuditAction
from contactpoint.audit.trail import Actor, record_event
from contactpoint.children.identifiers import normalise_postcode
from contactpoint.errors import ValidationError
from contactpoint.monitoring.models import WatchedIdentity
from contactpoint.names import name_parts
from contactpoint.vault.keyring import KeyRing

FAMILY_INDEX = "monitor:own-family"
POSTCODE_INDEX = "monitor:own-postcode"
TOKEN_HEX = 32  # 128 bits: these are compared for equality only, never looked up by prefix


def _token(keyring: KeyRing, index: str, value: str) -> str:
    return hmac.new(keyring.index_key(index), value.encode(), hashlib.sha256).hexdigest()[:TOKEN_HEX]


def family_tokens(keyring: KeyRing, raw_names: Iterable[str]) -> set[str]:
    """Tokens of every part of every family name given (a trailing wildcard is ignored)."""
    out: set[str] = set()
    for raw in raw_names:
        for part in name_parts(raw.rstrip("*")):
            if len(part) >= 2:
                out.add(_token(keyring, FAMILY_INDEX, part))
    return out


def postcode_token(keyring: KeyRing, postcode: str) -> str:
    return _token(keyring, POSTCODE_INDEX, postcode)


def record_identity(user: User, *, family_names: Iterable[str], postcode: str, keyring: KeyRing, now: datetime,
                    recorded_by: Actor | User) -> WatchedIdentity:
    """Watch for searches of ``user``'s own family names and home postcode. Raises ``ValidationError``."""
    names = [n for n in family_names if n and n.strip()]
    tokens = family_tokens(keyring, names)
    if not tokens:
        raise ValidationError("family_name", "give the person's family name")
    try:
        code = normalise_postcode(postcode) if postcode and postcode.strip() else ""
    except ValidationError:
        raise ValidationError("postcode", "not a UK postcode") from None
    identity, _ = WatchedIdentity.objects.update_or_create(
        user=user, defaults={"family_tokens": sorted(tokens),
                             "postcode_token": postcode_token(keyring, code) if code else "",
                             "recorded_at": now})
    actor = recorded_by if isinstance(recorded_by, Actor) else user_actor(recorded_by)
    record_event(AuditAction.MONITOR_IDENTITY_RECORDED, actor=actor, keyring=keyring, at=now,
                 target_user=user.username,
                 context={"family_names": len(names), "postcode": bool(code)})
    return identity


def search_tokens(keyring: KeyRing, criteria: dict) -> tuple[set[str], str]:
    """The family-name tokens and the postcode token of a search's criteria (as in its audit detail)."""
    family = family_tokens(keyring, [criteria["family"]]) if criteria.get("family") else set()
    postcode = criteria.get("postcode") or ""
    return family, postcode_token(keyring, postcode) if postcode else ""
