from django.urls import include, path

urlpatterns = [
    path("", include("contactpoint.web.urls")),
    path("", include("contactpoint.api.urls")),  # /api/v1/ (JSON)
    path("", include("contactpoint.fhir.urls")),  # /fhir/ (FHIR R4)
]

handler400 = "contactpoint.web.errors.bad_request"
handler403 = "contactpoint.web.errors.forbidden"
handler404 = "contactpoint.web.errors.not_found"
handler500 = "contactpoint.web.errors.server_error"
