from __future__ import annotations

import stat

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contactpoint.config import Settings
from contactpoint.errors import ConfigurationError
from contactpoint.vault.keyring import create_keyring_file


def _production(tmp_path, **overrides):
    ring = tmp_path / "prod-ring.json"
    if not ring.exists():
        create_keyring_file(ring, "production")
    env = {
        "CONTACTPOINT_ENV": "production",
        "CONTACTPOINT_VAR_DIR": str(tmp_path),
        "CONTACTPOINT_SECRET_KEY": "x" * 64,
        "CONTACTPOINT_KEYRING": str(ring),
        "CONTACTPOINT_ALLOWED_HOSTS": "contactpoint.example.gov.uk",
        "DATABASE_URL": "postgres://cp@db.internal/contactpoint?sslmode=verify-full",
    }
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


def test_development_needs_no_configuration_and_keeps_its_secrets_private(tmp_path):
    settings = Settings.from_env({"CONTACTPOINT_VAR_DIR": str(tmp_path)})
    assert settings.env == "development" and not settings.debug
    assert settings.database_url == f"sqlite:///{tmp_path / 'contactpoint.sqlite3'}"
    assert settings.keyring_path == tmp_path / "keyring.json"
    secret = tmp_path / "secret-key"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert Settings.from_env({"CONTACTPOINT_VAR_DIR": str(tmp_path)}).secret_key == settings.secret_key


def test_a_complete_production_configuration_starts(tmp_path):
    assert Settings.from_env(_production(tmp_path)).is_production


@pytest.mark.parametrize("overrides,complaint", [
    ({"CONTACTPOINT_DEBUG": "1"}, "DEBUG must be off"),
    ({"CONTACTPOINT_SECRET_KEY": None}, "SECRET_KEY must be set"),
    ({"CONTACTPOINT_SECRET_KEY": "dev-" + "x" * 60}, "SECRET_KEY must be set"),
    ({"CONTACTPOINT_SECRET_KEY": "short"}, "SECRET_KEY must be set"),
    ({"CONTACTPOINT_KEYRING": None}, "CONTACTPOINT_KEYRING must name"),
    ({"DATABASE_URL": None}, "DATABASE_URL must be set"),
    ({"CONTACTPOINT_ALLOWED_HOSTS": None}, "ALLOWED_HOSTS"),
    ({"DATABASE_URL": "postgres://cp@db.internal/contactpoint?sslmode=disable"}, "encrypted connection"),
    ({"DATABASE_URL": "postgres://cp@db.internal/contactpoint?sslmode=prefer"}, "encrypted connection"),
    ({"DATABASE_URL": "postgres://cp@db.internal/contactpoint?sslmode=allow"}, "encrypted connection"),
    ({"DATABASE_URL": "sqlite:////srv/contactpoint.sqlite3"}, "PostgreSQL"),
])
def test_production_refuses_to_start_with_an_unsafe_setting(tmp_path, overrides, complaint):
    with pytest.raises(ConfigurationError, match=complaint):
        Settings.from_env(_production(tmp_path, **overrides))


def test_production_refuses_a_development_key_ring(tmp_path):
    dev_ring = tmp_path / "dev-ring.json"
    create_keyring_file(dev_ring, "development")
    with pytest.raises(ConfigurationError, match="development key ring"):
        Settings.from_env(_production(tmp_path, CONTACTPOINT_KEYRING=str(dev_ring)))


def test_a_key_ring_readable_by_others_is_refused(tmp_path):
    ring = tmp_path / "prod-ring.json"
    create_keyring_file(ring, "production")
    ring.chmod(0o644)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        Settings.from_env(_production(tmp_path))


def test_a_new_key_ring_is_private_and_never_overwritten(tmp_path):
    ring = tmp_path / "ring.json"
    create_keyring_file(ring)
    assert stat.S_IMODE(ring.stat().st_mode) == 0o600
    with pytest.raises(ConfigurationError, match="never overwritten"):
        create_keyring_file(ring)


@pytest.mark.parametrize("name,value", [("CONTACTPOINT_ENV", "staging"), ("CONTACTPOINT_DEBUG", "maybe"),
                                        ("CONTACTPOINT_SEARCH_CAP", "lots"), ("CONTACTPOINT_SEARCH_CAP", "0")])
def test_a_malformed_setting_is_named(tmp_path, name, value):
    with pytest.raises(ConfigurationError, match=name):
        Settings.from_env({"CONTACTPOINT_VAR_DIR": str(tmp_path), name: value})


@given(st.lists(st.one_of(st.ip_addresses().map(str), st.text(max_size=20)), max_size=5),
       st.ip_addresses(v=4).map(str))
def test_a_forwarded_header_from_anyone_but_a_trusted_proxy_never_changes_the_client(hops, remote):
    from ipaddress import ip_network

    from contactpoint.web.middleware import client_address

    proxies = (ip_network("10.0.0.0/8"),)
    forwarded = ", ".join(hops)
    if not remote.startswith("10."):
        assert client_address(remote, forwarded, proxies) == remote
    found = client_address("10.1.2.3", forwarded, proxies)
    assert found == "10.1.2.3" or (found in {h.strip() for h in hops} and not found.startswith("10."))
    assert client_address(remote, forwarded, ()) == remote


def test_trusted_proxies_are_read_as_networks_and_nonsense_is_refused(tmp_path):
    from ipaddress import ip_network

    settings = Settings.from_env({"CONTACTPOINT_VAR_DIR": str(tmp_path),
                                  "CONTACTPOINT_TRUSTED_PROXIES": "10.0.0.5, 10.1.0.0/16"})
    assert settings.trusted_proxies == (ip_network("10.0.0.5/32"), ip_network("10.1.0.0/16"))
    with pytest.raises(ConfigurationError, match="TRUSTED_PROXIES"):
        Settings.from_env({"CONTACTPOINT_VAR_DIR": str(tmp_path), "CONTACTPOINT_TRUSTED_PROXIES": "the proxy"})


@pytest.mark.parametrize("url", ["postgres://cp@db.internal/contactpoint?sslmode=require",
                                 "postgres://cp@db.internal/contactpoint",  # verify-full, settings.py's default
                                 "postgresql://cp@/contactpoint", "postgres://cp@/contactpoint?host=/run/postgresql"])
def test_production_takes_an_encrypted_or_local_socket_database_connection(tmp_path, url):
    assert Settings.from_env(_production(tmp_path, DATABASE_URL=url)).database_url == url


def test_the_readmes_production_sequence_makes_its_key_ring_with_production_already_set(tmp_path):
    import os
    import subprocess
    import sys

    ring = tmp_path / "keyring.json"
    env = {**os.environ, **_production(tmp_path, CONTACTPOINT_KEYRING=str(ring)), "PYTHONPATH": ""}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    made = subprocess.run([sys.executable, "-m", "contactpoint.cli", "keys", "init", "--production", "--out",
                           str(ring)], env=env, capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    assert Settings.from_env(_production(tmp_path, CONTACTPOINT_KEYRING=str(ring))).keyring_path == ring
