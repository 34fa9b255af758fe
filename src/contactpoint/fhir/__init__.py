"""FHIR R4 under ``/fhir/``: ``Patient`` search and read (UK Core), ``metadata``, OperationOutcome errors.

Thin over the same domain functions as the web pages and the JSON API (``search.service.search``,
``records.view.view_record``), with the same bearer tokens (``POST /api/v1/session``) and the same refusals
(``contactpoint.api.errors.classify``), rendered as FHIR."""

__all__ = ["main", "urls"]
