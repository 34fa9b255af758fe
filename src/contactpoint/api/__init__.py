"""The JSON API under ``/api/v1/`` (django-ninja): sessions for case-management systems, finding a child and
opening their record, and feeds and discrepancy reports for source systems. Thin over the domain functions;
``errors`` translates every refusal, ``auth`` says who may call each operation, ``urls`` mounts an interface
so that its errors keep its own format (FHIR mounts itself with it)."""

__all__ = ["auth", "education", "errors", "main", "urls"]
