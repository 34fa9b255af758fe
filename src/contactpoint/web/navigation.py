"""The service navigation: what a signed-in user's role lets them reach."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from contactpoint.access.roles import Permission
from contactpoint.records.notifications import unread_count

ITEMS: tuple[tuple[Permission, str, str], ...] = (
    (Permission.CHILD_SEARCH, "Find a child", "search"),
    (Permission.CHILD_INVOLVEMENT, "Notifications", "notifications"),
    (Permission.LA_MATCH_REVIEW, "Review matches", "review-queue"),
    (Permission.LA_DISCREPANCIES, "Discrepancies", "discrepancies"),
    (Permission.LA_MATCH_REVIEW, "Rows held back", "held-rows"),
    (Permission.LA_SHIELD_PROPOSE, "Records work list", "records-worklist"),
    (Permission.LA_LIFECYCLE_MANAGE, "Shielding and retention", "lifecycle-worklist"),
    (Permission.LA_SENSITIVE_MANAGE, "Contact requests", "brokering-requests"),
    (Permission.ORG_USERS_VIEW, "Users", "admin-users"),
    (Permission.ORG_ORGANISATIONS_VOUCH, "Organisations", "admin-organisations"),
    (Permission.ORG_SOURCES_MANAGE, "Source systems", "admin-sources"),
    (Permission.AUDIT_ALERTS, "Audit", "audit-home"),
    (Permission.OPS_SERVICE, "Service status", "ops-status"),
    (Permission.SELF_ACCOUNT, "Your account", "account"),
)


def navigation(request: HttpRequest) -> list[dict[str, object]]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_verified():
        return []
    items = []
    for permission, text, name in ITEMS:
        if not user.has(permission):
            continue
        try:
            href = reverse(name)
        except NoReverseMatch:  # a page of a later stage not yet installed
            continue
        if name == "notifications":  # the unread count in the header (issue 18: practitioners told)
            unread = unread_count(user)
            text = f"Notifications ({unread} new)" if unread else text
        items.append({"href": href, "text": text, "active": request.path.startswith(href) and href != "/"})
    return items  # "Sign out" is a button beside these (layout.html): it posts
