"""Every page's address. URL names are what templates and redirects use; a test walks this configuration and
proves every view refuses whoever it should (tests/test_url_protection.py)."""

from django.urls import include, path

from contactpoint.web import (
    account,
    admin_organisations,
    admin_sources,
    admin_users,
    amendments,
    auditing,
    children,
    creation,
    held,
    involvements,
    lifecycle,
    moves,
    notifications,
    ops,
    review,
    signin,
    split_records,
    views,
)

urlpatterns = [
    path("", views.start, name="start"),
    path("healthcheck", views.healthcheck, name="healthcheck"),
    path("healthcheck/live", views.live, name="healthcheck-live"),
    path("healthcheck/ready", views.ready, name="healthcheck-ready"),
    path("sign-in", signin.sign_in, name="sign-in"),
    path("sign-in/security-key", signin.security_key, name="sign-in-security-key"),
    path("sign-in/complete", signin.complete, name="sign-in-complete"),
    path("sign-out", signin.sign_out, name="sign-out"),
    path("signed-out", signin.signed_out, name="signed-out"),
    path("session/keep-alive", signin.keep_alive, name="session-keep-alive"),
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

# Organisation administrators: users (admin_users), the organisations an authority vouches for
# (admin_organisations), source systems and their keys (admin_sources).
urlpatterns += [
    path("admin/users", admin_users.users, name="admin-users"),
    path("admin/users/new", admin_users.user_new, name="admin-user-new"),
    path("admin/users/<int:pk>", admin_users.user, name="admin-user"),
    path("admin/users/<int:pk>/grant", admin_users.user_grant, name="admin-user-grant"),
    path("admin/users/<int:pk>/revoke", admin_users.user_revoke, name="admin-user-revoke"),
    path("admin/users/<int:pk>/suspend", admin_users.user_suspend, name="admin-user-suspend"),
    path("admin/users/<int:pk>/reinstate", admin_users.user_reinstate, name="admin-user-reinstate"),
    path("admin/users/<int:pk>/clearance", admin_users.user_clearance, name="admin-user-clearance"),
    path("admin/users/<int:pk>/training", admin_users.user_training, name="admin-user-training"),
    path("admin/users/<int:pk>/policy", admin_users.user_policy, name="admin-user-policy"),
    path("admin/users/<int:pk>/token", admin_users.user_token, name="admin-user-token"),
    path("admin/users/<int:pk>/token/confirm", admin_users.user_token_confirm,
         name="admin-user-token-confirm"),
    path("admin/users/<int:pk>/token/reset", admin_users.user_tokens_reset, name="admin-user-tokens-reset"),
    path("admin/users/<int:pk>/unlock", admin_users.user_unlock, name="admin-user-unlock"),
    path("admin/users/<int:pk>/credentials", admin_users.user_credentials_reset,
         name="admin-user-credentials"),
    path("admin/organisations", admin_organisations.organisations, name="admin-organisations"),
    path("admin/organisations/new", admin_organisations.organisation_new, name="admin-organisation-new"),
    path("admin/organisations/<int:pk>/suspend", admin_organisations.organisation_suspend,
         name="admin-organisation-suspend"),
    path("admin/organisations/<int:pk>/reinstate", admin_organisations.organisation_reinstate,
         name="admin-organisation-reinstate"),
    path("admin/sources", admin_sources.sources, name="admin-sources"),
    path("admin/sources/new", admin_sources.source_new, name="admin-source-new"),
    path("admin/sources/<int:pk>/keys/new", admin_sources.source_key_new, name="admin-source-key-new"),
    path("admin/sources/keys/<int:pk>/revoke", admin_sources.source_key_revoke,
         name="admin-source-key-revoke"),
]

# Data managers: the match review queue and their sources' discrepancies (contactpoint.web.review).

urlpatterns += [
    path("review", review.queue_page, name="review-queue"),
    path("review/history", review.history_page, name="review-history"),
    path("review/<int:pk>", review.pair_page, name="review-pair"),
    path("review/merges/<int:pk>/split", review.split_page, name="review-split"),
    path("discrepancies", review.discrepancies_page, name="discrepancies"),
    path("review/held", held.held_page, name="held-rows"),
    path("review/split", split_records.split_records_page, name="review-split-records"),
]

# Auditors (contactpoint.web.auditing).

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

urlpatterns += [
    path("children/<str:cpid>/involvement/new", involvements.new, name="child-involvement-new"),
    path("children/<str:cpid>/involvement/consent", involvements.consent, name="child-involvement-consent"),
    path("children/<str:cpid>/involvement/lead", involvements.lead, name="child-involvement-lead"),
    path("children/<str:cpid>/involvement/<str:key>/change", involvements.change,
         name="child-involvement-change"),
    path("children/<str:cpid>/involvement/<str:key>/end", involvements.end, name="child-involvement-end"),
    path("children/<str:cpid>/involvement/<str:key>/withdraw", involvements.withdraw,
         name="child-involvement-withdraw"),
    path("children/<str:cpid>/involvement/<str:key>/consent-withdrawn", involvements.la_withdraw,
         name="child-involvement-la-withdraw"),
    path("children/<str:cpid>/contact-request", involvements.contact_request, name="child-contact-request"),
    path("la/contact-requests", involvements.brokering_list, name="brokering-requests"),
    path("notifications", notifications.notifications, name="notifications"),
    path("la/contact-requests/<int:pk>", involvements.brokering_request, name="brokering-request"),
]

# The life of a record: shielding, consent, archive, sealed records (contactpoint.web.lifecycle).

urlpatterns += [
    path("lifecycle", lifecycle.worklist, name="lifecycle-worklist"),
    path("lifecycle/children/<str:cpid>", lifecycle.child_page, name="lifecycle-child"),
    path("lifecycle/children/<str:cpid>/shield", lifecycle.shield_propose, name="lifecycle-shield"),
    path("lifecycle/children/<str:cpid>/unshield", lifecycle.unshield_propose, name="lifecycle-unshield"),
    path("lifecycle/children/<str:cpid>/hidden", lifecycle.hidden_page, name="lifecycle-hidden"),
    path("lifecycle/children/<str:cpid>/consent", lifecycle.consent_page, name="lifecycle-consent"),
    path("lifecycle/children/<str:cpid>/consent/withdraw", lifecycle.withdraw_page,
         name="lifecycle-consent-withdraw"),
    path("lifecycle/children/<str:cpid>/death", lifecycle.death_page, name="lifecycle-death"),
    path("lifecycle/children/<str:cpid>/left-england", lifecycle.left_page, name="lifecycle-left"),
    path("lifecycle/children/<str:cpid>/returned", lifecycle.returned_page, name="lifecycle-returned"),
    path("lifecycle/children/<str:cpid>/new-identity", lifecycle.identity_page, name="lifecycle-identity"),
    path("lifecycle/decisions/<int:pk>", lifecycle.decision_page, name="lifecycle-decision"),
    path("lifecycle/moves", moves.moves_page, name="lifecycle-moves"),
    path("lifecycle/moves/<int:pk>", moves.move_page, name="lifecycle-move"),
    path("lifecycle/missing-education", moves.missing_education_page, name="lifecycle-missing-education"),
    path("lifecycle/missing-education.csv", moves.missing_education_csv, name="lifecycle-missing-education-csv"),
    path("lifecycle/archive", lifecycle.archive_page, name="lifecycle-archive"),
    path("lifecycle/archive/<str:cpid>", lifecycle.archived_record_page, name="lifecycle-archived-record"),
    path("lifecycle/sealed", lifecycle.sealed_page, name="lifecycle-sealed"),
    path("lifecycle/sealed/<int:pk>", lifecycle.opening_page, name="lifecycle-opening"),
    # A local authority corrects or completes a record (contactpoint.web.amendments, issue 19).
    path("children/<str:cpid>/change/<str:field>", amendments.change_page, name="child-amend"),
    path("record-changes", amendments.awaiting_page, name="amendments-awaiting"),
    # A data manager creates a child no source knows, through matching first (contactpoint.web.creation).
    path("records/new", creation.create_page, name="child-create"),
    path("records/new/sent", creation.sent_page, name="child-create-sent"),
    path("record-changes/<str:key>", amendments.amendment_page, name="amendment"),
    path("record-changes/<str:key>/withdraw", amendments.withdraw_page, name="amendment-withdraw"),
]
