"""What the audit trail records: fixed enums, so that monitoring rules and reports can rely on them."""

from __future__ import annotations

from enum import StrEnum


class AuditAction(StrEnum):
    # login and sessions
    LOGIN_SUCCEEDED = "auth.login.succeeded"
    LOGIN_AWAITING_KEY = "auth.login.awaiting_key"  # password and PIN right; the security key still to come
    LOGIN_FAILED = "auth.login.failed"
    ACCOUNT_LOCKED = "auth.account.locked"
    ACCOUNT_UNLOCKED = "auth.account.unlocked"
    LOGOUT = "auth.logout"
    SESSION_ENDED = "auth.session.ended"
    PASSWORD_CHANGED = "auth.password.changed"
    PIN_CHANGED = "auth.pin.changed"
    TOKEN_ENROLLED = "auth.token.enrolled"
    TOKEN_ENROLMENT_STARTED = "auth.token.enrolment_started"
    TOKEN_RESET = "auth.token.reset"
    API_SESSION_ISSUED = "auth.api_session.issued"
    ACCESS_REFUSED = "auth.access.refused"
    # administration
    ORGANISATION_CREATED = "admin.organisation.created"
    ORGANISATION_SUSPENDED = "admin.organisation.suspended"
    ORGANISATION_REINSTATED = "admin.organisation.reinstated"
    USER_CREATED = "admin.user.created"
    ACCESS_GRANTED = "admin.access.granted"
    ACCESS_REVOKED = "admin.access.revoked"
    USER_SUSPENDED = "admin.user.suspended"
    USER_REINSTATED = "admin.user.reinstated"
    CLEARANCE_RECORDED = "admin.clearance.recorded"
    TRAINING_RECORDED = "admin.training.recorded"
    POLICY_SIGNED = "admin.policy.signed"
    POLICY_PUBLISHED = "admin.policy.published"
    ROLE_CHANGED = "admin.role.changed"
    SOURCE_KEY_ISSUED = "admin.source_key.issued"
    SOURCE_KEY_REVOKED = "admin.source_key.revoked"
    SOURCE_REGISTERED = "admin.source.registered"
    SOURCE_INTERVAL_SET = "admin.source.interval_set"  # how often a source is expected to send
    SOURCE_AUTH_FAILED = "auth.source.failed"
    # finding and viewing children
    SEARCH = "child.search"
    SEARCH_REFUSED = "child.search.refused"
    SEARCH_RATE_LIMITED = "child.search.rate_limited"
    RECORD_VIEWED = "child.record.viewed"
    RECORD_RATE_LIMITED = "child.record.rate_limited"  # too many different children looked up: alert
    RECORD_NOT_FOUND = "child.record.not_found"  # a record asked for that no one may see: unknown, archived, sealed
    SHIELD_OVERRIDE = "child.shield.override"
    INVOLVEMENT_RECORDED = "child.involvement.recorded"
    INVOLVEMENT_CHANGED = "child.involvement.changed"
    INVOLVEMENT_ENDED = "child.involvement.ended"
    INVOLVEMENT_CONSENT_WITHDRAWN = "child.involvement.consent_withdrawn"  # a sensitive service removed
    BROKERING_REQUESTED = "child.brokering.requested"
    BROKERING_OPENED = "child.brokering.opened"
    BROKERING_RESOLVED = "child.brokering.resolved"
    NOTIFICATION_SENT = "child.notification.sent"  # a practitioner told someone else works with their child
    NOTIFICATION_READ = "child.notification.read"
    # the store
    CHILD_CREATED = "child.created"
    CHILD_UPDATED = "child.updated"
    CHILD_SHREDDED = "child.shredded"
    # feeds and matching
    FEED_QUEUED = "feed.queued"  # a feed sent over the API, kept sealed for the worker (ingest.jobs)
    FEED_JOB_READ = "feed.job.read"  # a source polled its feed job
    SOURCE_SILENT = "feed.source.silent"  # a source expected to send has sent nothing for its interval
    FEED_RECEIVED = "feed.received"
    FEED_COMPLETED = "feed.completed"
    FEED_REFUSED = "feed.refused"
    MATCH_REVIEW_QUEUED = "match.review.queued"
    MATCH_DECIDED = "match.review.decided"
    RECORDS_MERGED = "match.merged"
    RECORDS_SPLIT = "match.split"
    MATCH_REVIEW_OPENED = "match.review.opened"  # a data manager opened a pair (both records decrypted)
    MODEL_TRAINED = "match.model.trained"
    LINKS_EXPORTED = "match.links.exported"
    DISCREPANCY_RAISED = "feed.discrepancy.raised"
    DISCREPANCY_CLOSED = "feed.discrepancy.closed"
    DISCREPANCIES_FETCHED = "feed.discrepancy.fetched"
    DISCREPANCY_ACKNOWLEDGED = "feed.discrepancy.acknowledged"  # a source has seen an item and will correct it
    DISCREPANCY_DISPUTED = "feed.discrepancy.disputed"  # a source says its value is right (reason sealed)
    INDEX_REBUILT = "vault.index.rebuilt"  # every live child's blind-index tokens rewritten (keys reindex)
    HELD_ROWS_OPENED = "feed.held.opened"  # a data manager read the rows held for their local authority
    # the life of a record
    SHIELD_PROPOSED = "shield.proposed"
    SHIELD_APPROVED = "shield.approved"
    SHIELD_REJECTED = "shield.rejected"
    HIDDEN_FIELDS_VIEWED = "shield.hidden_fields.viewed"
    CONSENT_RECORDED = "lifecycle.consent.recorded"
    CONSENT_WITHDRAWN = "lifecycle.consent.withdrawn"
    DEATH_NOTIFIED = "lifecycle.death.notified"
    LEFT_ENGLAND = "lifecycle.left_england"
    NEW_IDENTITY = "lifecycle.new_identity"
    ARCHIVED = "lifecycle.archived"
    SEALED = "lifecycle.sealed"
    SEALED_OPENED = "lifecycle.sealed.opened"
    DELETED = "lifecycle.deleted"
    LIFECYCLE_RUN = "lifecycle.run"
    HELD_ROWS_DELETED = "lifecycle.held.deleted"  # rows held a year, linked to no child: deleted (counts by LA)
    RESTORED = "lifecycle.restored"  # a child who left England came back within 3 years
    SEALED_OPEN_REQUESTED = "lifecycle.sealed.open_requested"
    SEALED_OPEN_REFUSED = "lifecycle.sealed.open_refused"
    # the audit trail and keys
    CHECKPOINT_WRITTEN = "audit.checkpoint.written"
    AUDIT_VERIFIED = "audit.verified"
    AUDIT_DETAIL_KEYS_DESTROYED = "audit.detail_keys.destroyed"
    KEY_ROTATION_STARTED = "keys.rotation.started"
    KEY_ROTATION_FINISHED = "keys.rotation.finished"
    # monitoring
    ALERT_RAISED = "monitor.alert.raised"
    ALERT_ACKNOWLEDGED = "monitor.alert.acknowledged"
    ALERT_RESOLVED = "monitor.alert.resolved"
    ACCESS_REPORT = "monitor.access_report"
    ALERT_INVESTIGATED = "monitor.alert.investigated"
    MONITOR_IDENTITY_RECORDED = "monitor.identity.recorded"
    WITNESS_CHECKED = "audit.witness.checked"
    DEMO_LOADED = "system.demo.loaded"


class Outcome(StrEnum):
    SUCCESS = "success"
    REFUSED = "refused"
    FAILED = "failed"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    ALERT = "alert"  # needs a human soon: monitoring raises it to auditors at once
