"""The fleet reports of audit, harden and the second audit, read on the controller."""

import json
import os
import xml.etree.ElementTree as ET

import pytest

REPORTS = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "reports")
HOSTS = ["pg-fleet-bookworm", "pg-fleet-trixie"]
GHOST = "pg-fleet-ghost"


def fleet(stage):
    with open(os.path.join(REPORTS, stage, "fleet.json")) as f:
        return json.load(f)


def ports(host_entry):
    return sorted({(f["port"], f["protocol"], f["action"]) for f in host_entry["findings"]})


EXPECTED_FINDINGS = [
    (111, "tcp", "disable"),
    (111, "udp", "disable"),
    (8080, "tcp", "block"),
    (11211, "tcp", "block"),
]


def test_audit_lists_every_finding_and_the_unreachable_host():
    doc = fleet("audit-before")
    assert doc["run"]["playbook"] == "audit"
    assert doc["run"]["check_mode"] is True
    assert sorted(doc["hosts"]) == sorted(HOSTS + [GHOST])
    assert doc["hosts"][GHOST]["state"] == "unreachable"
    for host in HOSTS:
        entry = doc["hosts"][host]
        assert entry["state"] == "ok"
        assert ports(entry) == EXPECTED_FINDINGS
        assert {f["status"] for f in entry["findings"]} == {"open"}
    # rpcbind tcp/udp on IPv4 and IPv6, 8080 and 11211 on IPv4: 6 per host
    assert doc["summary"]["open"] == 12
    assert doc["summary"]["unreachable"] == 1


def test_harden_remediated_everything():
    doc = fleet("harden")
    assert doc["run"]["check_mode"] is False
    assert sorted(doc["hosts"]) == sorted(HOSTS)
    for host in HOSTS:
        entry = doc["hosts"][host]
        assert ports(entry) == EXPECTED_FINDINGS
        assert {f["status"] for f in entry["findings"]} == {"remediated"}
    assert doc["summary"]["remediated"] == 12


def test_second_audit_finds_nothing_open():
    doc = fleet("audit-after")
    for host in HOSTS:
        assert doc["hosts"][host]["findings"] == []
    assert doc["summary"]["open"] == 0
    assert doc["hosts"][GHOST]["state"] == "unreachable"


@pytest.mark.parametrize("stage", ["audit-before", "harden", "audit-after"])
def test_the_views_agree(stage):
    doc = fleet(stage)
    directory = os.path.join(REPORTS, stage)
    suite = ET.parse(os.path.join(directory, "junit.xml")).getroot()  # noqa: S314 - our own report
    failures = int(suite.get("failures"))
    errors = int(suite.get("errors"))
    assert errors == doc["summary"]["unreachable"] + doc["summary"]["failed"]
    # One failing testcase per host, rule and port/protocol that is open.
    open_cases = {
        (host, f["rule"], f["port"], f["protocol"])
        for host, entry in doc["hosts"].items()
        for f in entry["findings"]
        if f["status"] in ("open", "failed")
    }
    assert failures == len(open_cases)
    with open(os.path.join(directory, "fleet.md")) as f:
        markdown = f.read()
    for host in doc["hosts"]:
        assert "| %s |" % host in markdown
    with open(os.path.join(directory, "fleet.html")) as f:
        page = f.read()
    # The per-host tables carry one status badge per finding.
    for status in ("open", "remediated"):
        expected = sum(
            1 for entry in doc["hosts"].values() for f in entry["findings"] if f["status"] == status
        )
        assert page.count('class="badge s-%s"' % status) == expected
    for host in doc["hosts"]:
        with open(os.path.join(directory, "hosts", host + ".json")) as f:
            assert json.load(f)["state"] == doc["hosts"][host]["state"]
