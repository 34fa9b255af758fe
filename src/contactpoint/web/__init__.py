"""The practitioner-facing web layer: GOV.UK Design System pages, thin over the stage functions.

``guards`` says what each view needs (``@public`` or ``@requires(permission)``); ``middleware`` adds the
security headers and turns a domain ``NotFound`` into the 404 page (``errors``); one-shot messages are
``django.contrib.messages``; a posted form is bound with ``forms.posted``. The domain never imports the web;
the JSON API and FHIR may (they use ``guards``)."""

__all__ = ["errors", "guards", "jinja", "middleware", "urls"]
