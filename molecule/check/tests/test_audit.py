"""A check-mode run reports every violation and leaves the host exactly as it was."""

import json

import pytest
from labhosts import lab_hosts

testinfra_hosts = lab_hosts()


@pytest.fixture(scope="module")
def audit(host):
    return json.loads(host.file("/var/tmp/portguard-check.json").content_string)


def test_nothing_changed(audit):
    assert audit["before"] == audit["after"]
    assert any(line.startswith("rpcbind.socket enabled active") for line in audit["before"])


def test_report_is_check_mode(audit):
    assert audit["report"]["check_mode"] is True


def test_findings_are_what_harden_would_do(audit):
    found = sorted(
        (f["protocol"], f["family"], f["port"], f["action"], f["status"], f["rule"])
        for f in audit["report"]["findings"]
    )
    assert found == [
        ("tcp", "ipv4", 80, "report", "open", "default"),
        ("tcp", "ipv4", 111, "disable", "open", "builtin-rpcbind"),
        ("tcp", "ipv4", 8080, "block", "open", "builtin-admin"),
        ("tcp", "ipv4", 11211, "restrict", "open", "memcached-app-tier"),
        ("tcp", "ipv6", 80, "report", "open", "default"),
        ("tcp", "ipv6", 111, "disable", "open", "builtin-rpcbind"),
        ("udp", "ipv4", 111, "disable", "open", "builtin-rpcbind"),
        ("udp", "ipv6", 111, "disable", "open", "builtin-rpcbind"),
    ]


def test_management_unit_is_allowed_not_a_finding(audit):
    # sshd serves management connections: never a finding, whatever the rules say.
    allowed = {(a["port"], a["unit"]) for a in audit["report"]["allowed"]}
    assert (22, "ssh.service") in allowed
