"""Lifecycle tests: a key ring of their own (the run creates and destroys retention KEKs in it)."""

from __future__ import annotations

import dataclasses

import pytest


@pytest.fixture
def ring(tmp_path, monkeypatch):
    """A key ring of this test's own, as the process's key ring (every domain function and page uses it)."""
    from contactpoint import config
    from contactpoint.vault.keyring import forget_keyrings, get_keyring

    monkeypatch.setattr(config, "_settings", dataclasses.replace(config.get_settings(),
                                                                 keyring_path=tmp_path / "keyring.json"))
    forget_keyrings()
    yield get_keyring()
    forget_keyrings()

