"""The monitoring rules' thresholds: one typed object, every value overridable from the environment.

Each field ``name`` is read from ``CONTACTPOINT_MONITOR_<NAME>`` (for example
``CONTACTPOINT_MONITOR_VOLUME_FLOOR=60``). The defaults were chosen against a month of synthetic benign
practitioner activity (tests/monitoring/test_replay.py) so that benign use raises well under one alert per
1,000 users per day while every seeded misuse is caught; docs/monitoring.md explains each one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path

from contactpoint.errors import ConfigurationError

PREFIX = "CONTACTPOINT_MONITOR_"


@dataclass(frozen=True)
class MonitorSettings:
    # Volume: a user's searches + views in a day against their own baseline and their role's.
    baseline_days: int = 28
    baseline_min_days: int = 5  # active days before a user's own baseline is trusted (else the role's)
    volume_floor: int = 40  # never an alert below this many in a day
    volume_user_factor: float = 3.0
    volume_role_factor: float = 4.0
    # Own family name or postcode searched.
    own_name_common_share: float = 0.0005  # a surname above this share of searched surnames is common
    own_name_warmup: int = 2000  # family-name searches counted before "common" is judged at all
    # Working hours, in local (Europe/London) time, Monday to Friday.
    work_start_hour: int = 7
    work_end_hour: int = 20
    out_of_hours_min: int = 2  # searches or views outside hours in one day
    out_of_hours_habitual_days: int = 3  # days with out-of-hours use in the baseline: a night worker
    # Children outside the user's area with no recorded involvement, distinct children in a day.
    out_of_area_min: int = 3
    # Many searches with no view.
    no_view_min_searches: int = 20
    no_view_max_percent: int = 10
    # Repeated "too many matches" in a day.
    too_many_min: int = 5
    # Clearance lapsing within this many days.
    clearance_days: int = 30
    # Refused logins: per account, and per network address (password spraying).
    login_window_minutes: int = 15
    login_burst_account: int = 5
    login_burst_address: int = 20
    # The audit trail's health.
    checkpoint_max_age_minutes: int = 120  # checkpoints are written hourly: two missed is an alert
    verify_every_hours: int = 1  # the monitor verifies what was written since the last verification
    full_walk_every_hours: int = 24  # the worker walks the whole chain, in slices, once a day
    full_walk_slice_seconds: float = 20.0  # how long one slice may hold the worker before the monitor's pass
    witness_dir: Path | None = None
    # The worker.
    batch_size: int = 500

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> MonitorSettings:
        environ = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            name = PREFIX + f.name.upper()
            raw = environ.get(name, "").strip()
            if not raw:
                continue
            kind: type = type(f.default) if f.default is not None else Path
            try:
                value = kind(raw)
            except ValueError:
                raise ConfigurationError(f"{name} must be a {'whole number' if kind is int else 'number'}") \
                    from None
            if isinstance(value, int | float) and value < 0:
                raise ConfigurationError(f"{name} must not be negative")
            values[f.name] = value
        if "witness_dir" not in values and environ.get("CONTACTPOINT_AUDIT_WITNESS_DIR", "").strip():
            values["witness_dir"] = Path(environ["CONTACTPOINT_AUDIT_WITNESS_DIR"].strip())
        settings = cls(**values)  # type: ignore[arg-type]
        if not 0 <= settings.work_start_hour < settings.work_end_hour <= 24:
            raise ConfigurationError(f"{PREFIX}WORK_START_HOUR must come before {PREFIX}WORK_END_HOUR (0-24)")
        return settings
