"""Rows held back from matching, for a local authority's data managers: each held row opened (audited), with
what it lacks and what it holds, so that they can ask its source for the missing value or recognise the
child."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from contactpoint.access.roles import Permission
from contactpoint.ingest.held import held_for
from contactpoint.vault.keyring import get_keyring
from contactpoint.web.forms import PageForm, page_count, page_number
from contactpoint.web.guards import SignedInRequest, requires

PAGE_SIZE = 25


@requires(Permission.LA_MATCH_REVIEW)
@require_http_methods(["GET"])
def held_page(request: SignedInRequest) -> HttpResponse:
    form = PageForm(request.GET or None)
    page = page_number(form)
    listed = held_for(request.user, keyring=get_keyring(), now=timezone.now(), offset=(page - 1) * PAGE_SIZE,
                      limit=PAGE_SIZE)
    pages = page_count(listed.count, PAGE_SIZE)
    return render(request, "review/held.html", {
        "title": "Rows held back", "held": listed, "page": page, "pages": pages,
        "prev_url": f"?page={page - 1}" if page > 1 else None,
        "next_url": f"?page={page + 1}" if page < pages else None})
