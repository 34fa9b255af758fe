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
    HELD_NEW_IDENTITY = "feed.held.new_identity"  # rows bringing back a sealed old identity: held (counts by LA)
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
    MOVE_REPORTED = "lifecycle.move.reported"  # a shielded child's feed reported another authority (kept secret)
    MOVE_REPORT_OPENED = "lifecycle.move.opened"  # a data manager saw which authority was reported
    MOVE_KEPT = "lifecycle.move.kept"
    HANDED_OVER = "lifecycle.handed_over"  # the responsible authority changed; both teams told
    HAND_OVERS_VIEWED = "lifecycle.hand_overs.viewed"
    MISSING_EDUCATION_VIEWED = "lifecycle.missing_education.viewed"  # names the children listed
    MISSING_EDUCATION_EXPORTED = "lifecycle.missing_education.exported"
    HELD_ROWS_DELETED = "lifecycle.held.deleted"  # rows held a year, linked to no child: deleted (counts by LA)
    # a local authority corrects or completes a record (issue 19); the context names the field, never the value
    RECORD_AMENDED = "record.amended"
    RECORD_CREATED = "record.created"  # a data manager created a child by hand: created, or sent to review (held)
    AMENDMENT_PROPOSED = "record.amendment.proposed"  # an NHS number or UPN: awaits a second data manager
    AMENDMENT_APPROVED = "record.amendment.approved"
    AMENDMENT_REJECTED = "record.amendment.rejected"
    AMENDMENT_WITHDRAWN = "record.amendment.withdrawn"
    AMENDMENT_RETIRED = "record.amendment.retired"  # a source sent a newer value that agrees: no longer needed
    AMENDMENTS_CARRIED = "record.amendments.carried"  # a merge or its split moved changes between two children
    AMENDMENT_SET_ASIDE = "record.amendment.set_aside"  # a merge met a newer change of the same value
    RESTORED = "lifecycle.restored"  # a child who left England came back within 3 years
    SEALED_OPEN_REQUESTED = "lifecycle.sealed.open_requested"
    SEALED_OPEN_REFUSED = "lifecycle.sealed.open_refused"
    # the audit trail and keys
    CHECKPOINT_WRITTEN = "audit.checkpoint.written"
    AUDIT_VERIFIED = "audit.verified"
    AUDIT_DETAIL_KEYS_DESTROYED = "audit.detail_keys.destroyed"
    AUDIT_PARTITIONS = "audit.partitions.changed"  # monthly partitions made, or one moved to other storage
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


# What each action means, in words an auditor reads on screen and in CSV reports (never the code itself).
# tests/audit/test_actions.py holds every action to having one.
DESCRIPTIONS: dict[AuditAction, str] = {
    AuditAction.LOGIN_SUCCEEDED: "Signed in",
    AuditAction.LOGIN_AWAITING_KEY: "Gave password and PIN; security key still to come",
    AuditAction.LOGIN_FAILED: "Failed to sign in",
    AuditAction.ACCOUNT_LOCKED: "Account locked after failed sign-ins",
    AuditAction.ACCOUNT_UNLOCKED: "Account unlocked",
    AuditAction.LOGOUT: "Signed out",
    AuditAction.SESSION_ENDED: "Session ended by the service",
    AuditAction.PASSWORD_CHANGED: "Password changed",
    AuditAction.PIN_CHANGED: "PIN changed",
    AuditAction.TOKEN_ENROLLED: "Security token set up",
    AuditAction.TOKEN_ENROLMENT_STARTED: "Security token set-up started",
    AuditAction.TOKEN_RESET: "Security tokens reset",
    AuditAction.API_SESSION_ISSUED: "Signed in to the API",
    AuditAction.ACCESS_REFUSED: "Refused a page or operation their role does not allow",
    AuditAction.ORGANISATION_CREATED: "Organisation added",
    AuditAction.ORGANISATION_SUSPENDED: "Organisation suspended",
    AuditAction.ORGANISATION_REINSTATED: "Organisation reinstated",
    AuditAction.USER_CREATED: "User account created",
    AuditAction.ACCESS_GRANTED: "Access granted",
    AuditAction.ACCESS_REVOKED: "Access revoked",
    AuditAction.USER_SUSPENDED: "User suspended",
    AuditAction.USER_REINSTATED: "User reinstated",
    AuditAction.CLEARANCE_RECORDED: "Criminal records clearance recorded",
    AuditAction.TRAINING_RECORDED: "Training recorded",
    AuditAction.POLICY_SIGNED: "Acceptable use policy signed",
    AuditAction.POLICY_PUBLISHED: "Acceptable use policy published",
    AuditAction.ROLE_CHANGED: "Role changed",
    AuditAction.SOURCE_KEY_ISSUED: "Source system API key issued",
    AuditAction.SOURCE_KEY_REVOKED: "Source system API key revoked",
    AuditAction.SOURCE_REGISTERED: "Source system registered",
    AuditAction.SOURCE_INTERVAL_SET: "Source system's expected interval set",
    AuditAction.SOURCE_AUTH_FAILED: "Source system failed to authenticate",
    AuditAction.SEARCH: "Searched",
    AuditAction.SEARCH_REFUSED: "Search refused (too little given, or too many matches)",
    AuditAction.SEARCH_RATE_LIMITED: "Search blocked: too many searches",
    AuditAction.RECORD_VIEWED: "Viewed the record",
    AuditAction.RECORD_RATE_LIMITED: "Blocked: too many different records opened",
    AuditAction.RECORD_NOT_FOUND: "Asked for a record that could not be shown",
    AuditAction.SHIELD_OVERRIDE: "Overrode shielding",
    AuditAction.INVOLVEMENT_RECORDED: "Recorded an involvement",
    AuditAction.INVOLVEMENT_CHANGED: "Changed an involvement",
    AuditAction.INVOLVEMENT_ENDED: "Ended an involvement",
    AuditAction.INVOLVEMENT_CONSENT_WITHDRAWN: "Removed a sensitive service (consent withdrawn)",
    AuditAction.BROKERING_REQUESTED: "Asked the local authority to put them in touch",
    AuditAction.BROKERING_OPENED: "Opened a request to be put in touch",
    AuditAction.BROKERING_RESOLVED: "Dealt with a request to be put in touch",
    AuditAction.CHILD_CREATED: "Record created",
    AuditAction.CHILD_UPDATED: "Record updated",
    AuditAction.CHILD_SHREDDED: "Record destroyed",
    AuditAction.FEED_QUEUED: "Feed received over the API, waiting to run",
    AuditAction.FEED_JOB_READ: "Source system checked its feed",
    AuditAction.SOURCE_SILENT: "Source system has sent nothing for too long",
    AuditAction.FEED_RECEIVED: "Feed received",
    AuditAction.FEED_COMPLETED: "Feed loaded",
    AuditAction.FEED_REFUSED: "Feed refused",
    AuditAction.MATCH_REVIEW_QUEUED: "Possible match sent for review",
    AuditAction.MATCH_DECIDED: "Decided a possible match",
    AuditAction.RECORDS_MERGED: "Records merged",
    AuditAction.RECORDS_SPLIT: "Records split",
    AuditAction.MATCH_REVIEW_OPENED: "Opened a possible match",
    AuditAction.MODEL_TRAINED: "Match model trained",
    AuditAction.LINKS_EXPORTED: "Match links exported",
    AuditAction.DISCREPANCY_RAISED: "Discrepancy reported to a source",
    AuditAction.DISCREPANCY_CLOSED: "Discrepancy closed",
    AuditAction.DISCREPANCIES_FETCHED: "Source system fetched its discrepancies",
    AuditAction.DISCREPANCY_ACKNOWLEDGED: "Source system acknowledged a discrepancy",
    AuditAction.DISCREPANCY_DISPUTED: "Source system disputed a discrepancy",
    AuditAction.INDEX_REBUILT: "Search index rebuilt",
    AuditAction.HELD_NEW_IDENTITY: "Rows with an old identity's details held back",
    AuditAction.HELD_ROWS_OPENED: "Read the rows held back",
    AuditAction.SHIELD_PROPOSED: "Proposed shielding a record",
    AuditAction.SHIELD_APPROVED: "Approved a shielding decision",
    AuditAction.SHIELD_REJECTED: "Rejected a shielding decision",
    AuditAction.HIDDEN_FIELDS_VIEWED: "Viewed the shielded details",
    AuditAction.RECORD_AMENDED: "Corrected or completed a record",
    AuditAction.RECORD_CREATED: "Created a child's record by hand (or sent it to review)",
    AuditAction.AMENDMENT_PROPOSED: "Proposed a change to an identifier",
    AuditAction.AMENDMENT_APPROVED: "Approved a change to an identifier",
    AuditAction.AMENDMENT_REJECTED: "Rejected a change to an identifier",
    AuditAction.AMENDMENT_WITHDRAWN: "Withdrew a correction to a record",
    AuditAction.AMENDMENT_RETIRED: "Correction no longer needed: a source now agrees",
    AuditAction.AMENDMENTS_CARRIED: "Corrections moved with a merge or a split",
    AuditAction.AMENDMENT_SET_ASIDE: "Correction set aside by a merge: a newer one of the same value applies",
    AuditAction.MOVE_REPORTED: "A source reported a shielded child in another area: kept secret",
    AuditAction.MOVE_REPORT_OPENED: "Saw which authority a shielded child's move was reported to",
    AuditAction.MOVE_KEPT: "Kept a shielded child after a reported move",
    AuditAction.HANDED_OVER: "Responsibility for a child handed over to another authority",
    AuditAction.HAND_OVERS_VIEWED: "Viewed moves and hand-overs",
    AuditAction.MISSING_EDUCATION_VIEWED: "Viewed children missing education",
    AuditAction.MISSING_EDUCATION_EXPORTED: "Exported children missing education",
    AuditAction.CONSENT_RECORDED: "Consent to stay on ContactPoint recorded",
    AuditAction.CONSENT_WITHDRAWN: "Consent to stay on ContactPoint withdrawn",
    AuditAction.DEATH_NOTIFIED: "Death recorded",
    AuditAction.LEFT_ENGLAND: "Recorded as having left England",
    AuditAction.NEW_IDENTITY: "New identity recorded",
    AuditAction.ARCHIVED: "Record archived",
    AuditAction.SEALED: "Record sealed",
    AuditAction.SEALED_OPENED: "Sealed record opened",
    AuditAction.DELETED: "Record deleted",
    AuditAction.LIFECYCLE_RUN: "Daily archive and deletion run",
    AuditAction.HELD_ROWS_DELETED: "Rows held back for a year deleted",
    AuditAction.RESTORED: "Record restored (returned to England)",
    AuditAction.SEALED_OPEN_REQUESTED: "Asked to open a sealed record",
    AuditAction.SEALED_OPEN_REFUSED: "Request to open a sealed record refused",
    AuditAction.CHECKPOINT_WRITTEN: "Audit checkpoint signed",
    AuditAction.AUDIT_VERIFIED: "Audit trail verified",
    AuditAction.AUDIT_DETAIL_KEYS_DESTROYED: "Old audit details made unreadable",
    AuditAction.AUDIT_PARTITIONS: "Audit trail partitions made or moved",
    AuditAction.NOTIFICATION_SENT: "Told another practitioner works with a child",
    AuditAction.NOTIFICATION_READ: "Read a notification",
    AuditAction.KEY_ROTATION_STARTED: "Key rotation started",
    AuditAction.KEY_ROTATION_FINISHED: "Key rotation finished",
    AuditAction.ALERT_RAISED: "Alert raised",
    AuditAction.ALERT_ACKNOWLEDGED: "Alert acknowledged",
    AuditAction.ALERT_RESOLVED: "Alert resolved",
    AuditAction.ACCESS_REPORT: "Produced an access report",
    AuditAction.ALERT_INVESTIGATED: "Opened an alert to investigate",
    AuditAction.MONITOR_IDENTITY_RECORDED: "Own name and postcode recorded for monitoring",
    AuditAction.WITNESS_CHECKED: "Audit checkpoints checked against the outside witness",
    AuditAction.DEMO_LOADED: "Demonstration data loaded",
}
OUTCOME_LABELS = {Outcome.SUCCESS: "Done", Outcome.REFUSED: "Refused", Outcome.FAILED: "Failed"}


def describe(action: str) -> str:
    """Words for an action code (an unknown code, from a newer version, is shown as it is)."""
    try:
        return DESCRIPTIONS[AuditAction(action)]
    except ValueError:
        return action
