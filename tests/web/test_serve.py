"""``contactpoint serve``: what gunicorn is started with."""

from __future__ import annotations

import dataclasses
import io
from ipaddress import ip_network

import pytest
from django.core.management import call_command

from contactpoint.config import get_settings


def _argv(monkeypatch) -> list[str]:
    started: list[list[str]] = []

    def execv(path, argv):
        started.append(argv)

    monkeypatch.setattr("os.execv", execv)
    call_command("serve", stdout=io.StringIO())
    return started[0]


@pytest.mark.parametrize(("proxies", "believed"), [((), "127.0.0.1"),
                                                   ((ip_network("10.0.0.0/24"), ip_network("10.9.0.7/32")),
                                                    "10.0.0.0/24,10.9.0.7/32")])
def test_the_scheme_is_believed_from_the_proxies_trusted_for_the_client_address(monkeypatch, proxies, believed):
    monkeypatch.setattr("contactpoint.config._settings", dataclasses.replace(get_settings(), trusted_proxies=proxies))
    argv = _argv(monkeypatch)
    assert argv[argv.index("--forwarded-allow-ips") + 1] == believed
    # Each access log line ends with the request id (the audit entries' own), and never has the query string.
    log_format = argv[argv.index("--access-logformat") + 1]
    assert log_format.endswith("%({x-request-id}o)s") and "%(q)s" not in log_format and "%(r)s" not in log_format
