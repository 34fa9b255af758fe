"""URLs of FHIR R4: ``/fhir/``, mounted like the JSON API's (``contactpoint.api.urls``), so that anything else
under ``/fhir/`` and a method an address does not take are answered with an OperationOutcome."""

from __future__ import annotations

from django.urls import path

from contactpoint.api.urls import included, nowhere
from contactpoint.fhir.main import fhir, outcome_response

urlpatterns = [
    path("fhir/", included(fhir, outcome_response)),
    path("fhir/<path:rest>", nowhere(outcome_response)),
]
