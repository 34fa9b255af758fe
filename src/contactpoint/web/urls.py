from django.urls import include, path

from contactpoint.web import account, children, ops, signin, views

urlpatterns = [
    path("", views.start, name="start"),
    path("healthcheck/live", views.live, name="healthcheck-live"),
    path("healthcheck/ready", views.ready, name="healthcheck-ready"),
    path("sign-in", signin.sign_in, name="sign-in"),
    path("sign-in/security-key", signin.security_key, name="sign-in-security-key"),
    path("sign-in/complete", signin.complete, name="sign-in-complete"),
    path("sign-out", signin.sign_out, name="sign-out"),
    path("signed-out", signin.signed_out, name="signed-out"),
    path("home", account.home, name="home"),
    path("account", account.account, name="account"),
    path("account/credentials", account.credentials, name="account-credentials"),
    path("account/policy", account.policy, name="account-policy"),
    path("account/security-key", account.security_key, name="account-security-key"),
    path("search", children.search_page, name="search"),
    path("children/<str:cpid>", children.record_page, name="child-record"),
    path("children/<str:cpid>/override", children.override_page, name="child-override"),
    path("ops/status", ops.status, name="ops-status"),
    path("metrics", ops.metrics, name="metrics"),
    path("webauthn/", include("django_otp_webauthn.urls", namespace="otp_webauthn")),
]

# Organisation administrators (contactpoint.web.administration).
from contactpoint.web import administration as admin_pages  # noqa: E402

urlpatterns += [
    path("admin/users", admin_pages.users, name="admin-users"),
    path("admin/users/new", admin_pages.user_new, name="admin-user-new"),
    path("admin/users/<int:pk>", admin_pages.user, name="admin-user"),
    path("admin/users/<int:pk>/grant", admin_pages.user_grant, name="admin-user-grant"),
    path("admin/users/<int:pk>/revoke", admin_pages.user_revoke, name="admin-user-revoke"),
    path("admin/users/<int:pk>/suspend", admin_pages.user_suspend, name="admin-user-suspend"),
    path("admin/users/<int:pk>/reinstate", admin_pages.user_reinstate, name="admin-user-reinstate"),
    path("admin/users/<int:pk>/clearance", admin_pages.user_clearance, name="admin-user-clearance"),
    path("admin/users/<int:pk>/training", admin_pages.user_training, name="admin-user-training"),
    path("admin/users/<int:pk>/policy", admin_pages.user_policy, name="admin-user-policy"),
    path("admin/users/<int:pk>/token", admin_pages.user_token, name="admin-user-token"),
    path("admin/users/<int:pk>/token/confirm", admin_pages.user_token_confirm,
         name="admin-user-token-confirm"),
    path("admin/users/<int:pk>/token/reset", admin_pages.user_tokens_reset, name="admin-user-tokens-reset"),
    path("admin/users/<int:pk>/unlock", admin_pages.user_unlock, name="admin-user-unlock"),
    path("admin/users/<int:pk>/credentials", admin_pages.user_credentials_reset,
         name="admin-user-credentials"),
    path("admin/organisations", admin_pages.organisations, name="admin-organisations"),
    path("admin/organisations/new", admin_pages.organisation_new, name="admin-organisation-new"),
    path("admin/organisations/<int:pk>/suspend", admin_pages.organisation_suspend,
         name="admin-organisation-suspend"),
    path("admin/organisations/<int:pk>/reinstate", admin_pages.organisation_reinstate,
         name="admin-organisation-reinstate"),
    path("admin/sources", admin_pages.sources, name="admin-sources"),
    path("admin/sources/new", admin_pages.source_new, name="admin-source-new"),
    path("admin/sources/<int:pk>/keys/new", admin_pages.source_key_new, name="admin-source-key-new"),
    path("admin/sources/keys/<int:pk>/revoke", admin_pages.source_key_revoke, name="admin-source-key-revoke"),
]

# Data managers: the match review queue and their sources' discrepancies (contactpoint.web.review).
from contactpoint.web import review as review_pages

urlpatterns += [
    path("review", review_pages.queue_page, name="review-queue"),
    path("review/history", review_pages.history_page, name="review-history"),
    path("review/<int:pk>", review_pages.pair_page, name="review-pair"),
    path("review/merges/<int:pk>/split", review_pages.split_page, name="review-split"),
    path("discrepancies", review_pages.discrepancies_page, name="discrepancies"),
]

# Auditors (contactpoint.web.auditing).
from contactpoint.web import auditing  # noqa: E402

urlpatterns += [
    path("audit", auditing.home, name="audit-home"),
    path("audit/alerts/<int:pk>", auditing.alert, name="audit-alert"),
    path("audit/alerts/<int:pk>/acknowledge", auditing.acknowledge, name="audit-alert-acknowledge"),
    path("audit/alerts/<int:pk>/resolve", auditing.resolve, name="audit-alert-resolve"),
    path("audit/reports", auditing.reports_page, name="audit-reports"),
    path("audit/reports/child", auditing.child_report, name="audit-report-child"),
    path("audit/reports/user", auditing.user_report, name="audit-report-user"),
]

# Practitioners' own involvements, sensitive services and brokering (contactpoint.web.involvements).
from contactpoint.web import involvements as involvement_pages  # noqa: E402

urlpatterns += [
    path("children/<str:cpid>/involvement/new", involvement_pages.new, name="child-involvement-new"),
    path("children/<str:cpid>/involvement/consent", involvement_pages.consent, name="child-involvement-consent"),
    path("children/<str:cpid>/involvement/lead", involvement_pages.lead, name="child-involvement-lead"),
    path("children/<str:cpid>/involvement/<str:key>/change", involvement_pages.change,
         name="child-involvement-change"),
    path("children/<str:cpid>/involvement/<str:key>/end", involvement_pages.end, name="child-involvement-end"),
    path("children/<str:cpid>/involvement/<str:key>/withdraw", involvement_pages.withdraw,
         name="child-involvement-withdraw"),
    path("children/<str:cpid>/involvement/<str:key>/consent-withdrawn", involvement_pages.la_withdraw,
         name="child-involvement-la-withdraw"),
    path("children/<str:cpid>/contact-request", involvement_pages.contact_request, name="child-contact-request"),
    path("la/contact-requests", involvement_pages.brokering_list, name="brokering-requests"),
    path("la/contact-requests/<int:pk>", involvement_pages.brokering_request, name="brokering-request"),
]

# The life of a record: shielding, consent, archive, sealed records (contactpoint.web.lifecycle).
from contactpoint.web import lifecycle as life  # noqa: E402

urlpatterns += [
    path("lifecycle", life.worklist, name="lifecycle-worklist"),
    path("lifecycle/children/<str:cpid>", life.child_page, name="lifecycle-child"),
    path("lifecycle/children/<str:cpid>/shield", life.shield_propose, name="lifecycle-shield"),
    path("lifecycle/children/<str:cpid>/unshield", life.unshield_propose, name="lifecycle-unshield"),
    path("lifecycle/children/<str:cpid>/hidden", life.hidden_page, name="lifecycle-hidden"),
    path("lifecycle/children/<str:cpid>/consent", life.consent_page, name="lifecycle-consent"),
    path("lifecycle/children/<str:cpid>/consent/withdraw", life.withdraw_page, name="lifecycle-consent-withdraw"),
    path("lifecycle/children/<str:cpid>/death", life.death_page, name="lifecycle-death"),
    path("lifecycle/children/<str:cpid>/left-england", life.left_page, name="lifecycle-left"),
    path("lifecycle/children/<str:cpid>/returned", life.returned_page, name="lifecycle-returned"),
    path("lifecycle/children/<str:cpid>/new-identity", life.identity_page, name="lifecycle-identity"),
    path("lifecycle/decisions/<int:pk>", life.decision_page, name="lifecycle-decision"),
    path("lifecycle/archive", life.archive_page, name="lifecycle-archive"),
    path("lifecycle/archive/<str:cpid>", life.archived_record_page, name="lifecycle-archived-record"),
    path("lifecycle/sealed", life.sealed_page, name="lifecycle-sealed"),
    path("lifecycle/sealed/<int:pk>", life.opening_page, name="lifecycle-opening"),
]
