"""ContactPoint's settings: one typed object, read once from the environment.

Development works with no configuration at all: a SQLite file, a key ring and a secret key are created under
``var/`` (mode 0600). Production refuses to start unless every secret is real: no debug flag, no development
key ring, no missing or default secret key. Django's settings module is derived from this object and nothing
else reads the environment.
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl, urlsplit

from contactpoint.errors import ConfigurationError

Environment = Literal["development", "production"]

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _flag(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigurationError(f"{name} must be one of 1/0, true/false, yes/no, on/off")


def _int(environ: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number") from None
    if value < minimum:
        raise ConfigurationError(f"{name} must be at least {minimum}")
    return value


def write_private_file(path: Path, data: bytes) -> None:
    """Write ``data`` atomically to ``path`` with mode 0600 (secrets must never be world-readable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def check_private_file(path: Path, what: str) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise ConfigurationError(f"{what} {path} is readable by other users (mode {mode:o}); chmod 600 it")


@dataclass(frozen=True)
class SearchSettings:
    result_cap: int = 20
    searches_per_minute: int = 10
    searches_per_hour: int = 120
    searches_per_day: int = 400
    records_per_hour: int = 60  # different children whose records one user may open (records.lookups)
    records_per_day: int = 200


@dataclass(frozen=True)
class FeedSettings:
    # Helper processes for a large feed's CPU-bound work (contactpoint.ingest.processes): workers besides the main
    # process, and the file size from which they are started (starting them costs about a second each).
    workers: int = field(default_factory=lambda: min(os.cpu_count() or 1, 8))
    helpers_from_bytes: int = 4 << 20


@dataclass(frozen=True)
class SessionSettings:
    idle_minutes: int = 15
    absolute_hours: int = 12
    login_attempts_before_lockout: int = 10
    lockout_minutes: int = 30


_ENCRYPTED = ("require", "verify-ca", "verify-full")


def _check_encrypted(database_url: str) -> None:
    """Production's database connection must be encrypted: a PostgreSQL URL with no ``sslmode`` (verify-full is
    then used) or with require, verify-ca or verify-full (verify-full is what docs/operations.md asks for),
    unless it goes through a Unix socket on this machine. Child records are sealed anyway; the audit trail's
    clear columns, search tokens and credentials hashes are not."""
    parsed = urlsplit(database_url)
    if parsed.scheme not in ("postgres", "postgresql", "pgsql"):
        raise ConfigurationError("DATABASE_URL must be a PostgreSQL database in production")
    query = dict(parse_qsl(parsed.query))
    socket = (parsed.hostname or query.get("host", "")).startswith("/") or (not parsed.hostname
                                                                            and not query.get("host"))
    # Without an sslmode, production connects with verify-full (settings.py): only a weaker one asked for is refused.
    if not socket and "sslmode" in query and query["sslmode"] not in _ENCRYPTED:
        raise ConfigurationError("DATABASE_URL must ask for an encrypted connection in production: "
                                 "sslmode=verify-full (or require), or none (verify-full is then used)")


def _networks(raw: str) -> tuple[IPv4Network | IPv6Network, ...]:
    try:
        return tuple(ip_network(part.strip(), strict=False) for part in raw.split(",") if part.strip())
    except ValueError:
        raise ConfigurationError("CONTACTPOINT_TRUSTED_PROXIES must list addresses or networks (10.0.0.5, "
                                 "10.0.0.0/24), separated by commas") from None


@dataclass(frozen=True)
class Settings:
    env: Environment
    debug: bool
    secret_key: str
    database_url: str
    keyring_path: Path
    var_dir: Path
    allowed_hosts: tuple[str, ...]
    static_root: Path
    frontend_dir: Path
    metrics_token: str = ""
    # Where notification emails go (records.notifications): any Django mail backend; the console in development.
    # In production set the SMTP backend and Django's EMAIL_HOST... (CONTACTPOINT_EMAIL_HOST, _PORT, _FROM).
    email_backend: str = "django.core.mail.backends.console.EmailBackend"
    email_host: str = "localhost"
    email_port: int = 25
    email_from: str = "ContactPoint <no-reply@contactpoint.invalid>"
    # The addresses of the TLS-terminating proxies in front of the service: only a request from one of these has
    # its X-Forwarded-For read (web.middleware.ClientAddressMiddleware). None by default: the header is ignored.
    trusted_proxies: tuple[IPv4Network | IPv6Network, ...] = ()
    match_backend: Literal["duckdb", "spark"] = "duckdb"
    spark_master: str = "local[2]"  # a cluster's URL (spark://..., yarn, k8s://...) for national batches
    audit_detail_years: int = 6
    search: SearchSettings = field(default_factory=SearchSettings)
    session: SessionSettings = field(default_factory=SessionSettings)
    feeds: FeedSettings = field(default_factory=FeedSettings)

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        environ = os.environ if environ is None else environ
        env = environ.get("CONTACTPOINT_ENV", "development").strip().lower()
        if env not in ("development", "production"):
            raise ConfigurationError("CONTACTPOINT_ENV must be 'development' or 'production'")
        production = env == "production"

        var_dir = Path(environ.get("CONTACTPOINT_VAR_DIR") or Path.cwd() / "var").resolve()
        debug = _flag(environ, "CONTACTPOINT_DEBUG", False)

        database_url = environ.get("DATABASE_URL", "").strip()
        if not database_url:
            if production:
                raise ConfigurationError("DATABASE_URL must be set in production")
            database_url = f"sqlite:///{var_dir / 'contactpoint.sqlite3'}"
        if production:
            _check_encrypted(database_url)

        keyring_raw = environ.get("CONTACTPOINT_KEYRING", "").strip()
        if not keyring_raw and production:
            raise ConfigurationError("CONTACTPOINT_KEYRING must name the production key ring in production")
        keyring_path = Path(keyring_raw).resolve() if keyring_raw else var_dir / "keyring.json"

        secret_key = environ.get("CONTACTPOINT_SECRET_KEY", "").strip()
        if production:
            if debug:
                raise ConfigurationError("CONTACTPOINT_DEBUG must be off in production")
            if len(secret_key) < 50 or secret_key.startswith("dev-"):
                raise ConfigurationError(
                    "CONTACTPOINT_SECRET_KEY must be set to a random value of at least 50 characters in production"
                )
        elif not secret_key:
            secret_key = _development_secret_key(var_dir)

        hosts_raw = environ.get("CONTACTPOINT_ALLOWED_HOSTS", "")
        hosts = tuple(h.strip() for h in hosts_raw.split(",") if h.strip())
        if not hosts:
            if production:
                raise ConfigurationError("CONTACTPOINT_ALLOWED_HOSTS must list the service's host names")
            hosts = ("127.0.0.1", "localhost", "testserver")

        backend = environ.get("CONTACTPOINT_MATCH_BACKEND", "duckdb").strip().lower()
        if backend not in ("duckdb", "spark"):
            raise ConfigurationError("CONTACTPOINT_MATCH_BACKEND must be 'duckdb' or 'spark'")

        settings = cls(
            env=env,  # type: ignore[arg-type]
            debug=debug,
            secret_key=secret_key,
            database_url=database_url,
            keyring_path=keyring_path,
            var_dir=var_dir,
            allowed_hosts=hosts,
            static_root=Path(environ.get("CONTACTPOINT_STATIC_ROOT") or Path.cwd() / "build" / "static").resolve(),
            frontend_dir=Path(environ.get("CONTACTPOINT_FRONTEND_DIR") or Path.cwd() / "build" / "frontend").resolve(),
            match_backend=backend,  # type: ignore[arg-type]
            spark_master=environ.get("CONTACTPOINT_SPARK_MASTER", "").strip() or "local[2]",
            metrics_token=environ.get("CONTACTPOINT_METRICS_TOKEN", "").strip(),
            email_backend=environ.get("CONTACTPOINT_EMAIL_BACKEND", "").strip()
            or "django.core.mail.backends.console.EmailBackend",
            email_host=environ.get("CONTACTPOINT_EMAIL_HOST", "").strip() or "localhost",
            email_port=_int(environ, "CONTACTPOINT_EMAIL_PORT", 25, minimum=1),
            email_from=environ.get("CONTACTPOINT_EMAIL_FROM", "").strip()
            or "ContactPoint <no-reply@contactpoint.invalid>",
            trusted_proxies=_networks(environ.get("CONTACTPOINT_TRUSTED_PROXIES", "")),
            audit_detail_years=_int(environ, "CONTACTPOINT_AUDIT_DETAIL_YEARS", 6, minimum=1),
            search=SearchSettings(
                result_cap=_int(environ, "CONTACTPOINT_SEARCH_CAP", 20, minimum=1),
                searches_per_minute=_int(environ, "CONTACTPOINT_SEARCHES_PER_MINUTE", 10, minimum=1),
                searches_per_hour=_int(environ, "CONTACTPOINT_SEARCHES_PER_HOUR", 120, minimum=1),
                searches_per_day=_int(environ, "CONTACTPOINT_SEARCHES_PER_DAY", 400, minimum=1),
                records_per_hour=_int(environ, "CONTACTPOINT_RECORDS_PER_HOUR", 60, minimum=1),
                records_per_day=_int(environ, "CONTACTPOINT_RECORDS_PER_DAY", 200, minimum=1),
            ),
            session=SessionSettings(
                idle_minutes=_int(environ, "CONTACTPOINT_SESSION_IDLE_MINUTES", 15, minimum=1),
                absolute_hours=_int(environ, "CONTACTPOINT_SESSION_ABSOLUTE_HOURS", 12, minimum=1),
            ),
            feeds=FeedSettings(
                workers=_int(environ, "CONTACTPOINT_FEED_WORKERS", FeedSettings().workers, minimum=1),
                helpers_from_bytes=_int(environ, "CONTACTPOINT_FEED_HELPERS_FROM_BYTES", 4 << 20),
            ),
        )
        if production and keyring_path.exists():
            # Imported here: the vault imports this module for its own settings. A ring not made yet is not
            # refused here (``keys init --production`` makes it, in production); the vault refuses to run without.
            from contactpoint.vault.keyring import describe_keyring  # noqa: PLC0415

            description = describe_keyring(keyring_path)
            if description.environment != "production":
                raise ConfigurationError(
                    f"the key ring at {keyring_path} is a development key ring; "
                    "create a production one with 'contactpoint keys init --production'"
                )
        return settings


def _development_secret_key(var_dir: Path) -> str:
    path = var_dir / "secret-key"
    if path.exists():
        return path.read_text().strip()
    key = "dev-" + secrets.token_urlsafe(48)
    write_private_file(path, key.encode())
    return key


_settings: Settings | None = None


def get_settings() -> Settings:
    """The process's settings, read on first use."""
    global _settings
    if _settings is None:
        _settings = Settings.from_env()
    return _settings
