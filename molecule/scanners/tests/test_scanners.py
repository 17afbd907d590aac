"""Probing from a scanner host: each view in the reports against nmap run from the same place,
before and after harden; the port the admin drops for the controller alone is reachable from the
scanner, and the report says which view saw what."""

import json
import os
import xml.etree.ElementTree as ET

import pytest
import testinfra
from labhosts import container_address, lab_hosts, nmap_ports

testinfra_hosts = lab_hosts()

SCANNER = "pg-scanners-scanner"
FROM_SCANNER = f"scanner '{SCANNER}'"
FROM_BOTH = f"the controller, {FROM_SCANNER}"
# The port the admin's table drops for the controller's address only.
DROPPED = 80
# The probe's word for a port (docs/probe.md) and nmap's for the same answer.
NMAP_STATE = {
    "tcp": {"open": "open", "refused": "closed", "filtered": "filtered"},
    "udp": {"open": "open", "closed": "closed", "filtered": "filtered"},
}
REPORTS = {"before": "audit", "after": "harden"}


@pytest.fixture(scope="module")
def reports(host):
    return {
        when: json.loads(host.file(f"/var/tmp/portguard-{kind}.json").content_string)
        for when, kind in REPORTS.items()
    }


@pytest.fixture(scope="module")
def scanner():
    return testinfra.get_host("podman://" + SCANNER)


@pytest.fixture(scope="module")
def nmap(scanner):
    """{(origin, when, protocol): (address, states)} of every scan converge ran."""
    scans = {}
    for when in REPORTS:
        for protocol in ("tcp", "udp"):
            name = f"nmap-{when}-{protocol}.xml"
            # nmap's output of converge's own scans, on the scanner and here.
            text = scanner.file(f"/var/tmp/{name}").content_string
            scans["scanner", when, protocol] = nmap_ports(ET.fromstring(text))  # noqa: S314
            path = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], name)
            scans["controller", when, protocol] = nmap_ports(ET.parse(path).getroot())  # noqa: S314
    return scans


def origin_of(entry):
    return "scanner" if entry["probe"]["from"] == FROM_SCANNER else "controller"


def probed(report, protocol):
    """The findings and allowed listeners of ``protocol`` that a probe reached."""
    return [
        e
        for e in report["findings"] + report["allowed"]
        if e["probe"] is not None and e["protocol"] == protocol
    ]


def entry(report, port, protocol, address="0.0.0.0"):  # noqa: S104 - a wildcard listener
    (found,) = [
        e
        for e in report["findings"] + report["allowed"]
        if (e["port"], e["protocol"], e["address"]) == (port, protocol, address)
    ]
    return found


@pytest.mark.parametrize("when", ["before", "after"])
@pytest.mark.parametrize("protocol", ["tcp", "udp"])
def test_each_view_agrees_with_nmap_from_the_same_place(host, reports, nmap, when, protocol):
    report = reports[when]
    address = container_address(host.backend.get_hostname())
    assert report["outside"]["addresses"] == [address]
    entries = probed(report, protocol)
    assert entries, report
    for item in entries:
        if protocol == "udp" and item["port"] != 111:
            continue  # nmap's UDP scan covers rpcbind's port alone
        scanned, seen = nmap[origin_of(item), when, protocol]
        assert (scanned, item["probe"]["address"]) == (address, address)
        key = (protocol, item["port"])
        assert NMAP_STATE[protocol][item["probe"]["state"]] == seen[key], item


def test_the_audit_was_probed_from_the_scanner_alone(reports):
    report = reports["before"]
    assert report["check_mode"] is True
    assert report["outside"]["from"] == FROM_SCANNER
    assert {origin_of(e) for p in ("tcp", "udp") for e in probed(report, p)} == {"scanner"}
    # The scanner is not behind the admin's drop: 80 answers it, as the model says it would.
    dropped = entry(report, DROPPED, "tcp")
    assert (dropped["status"], dropped["exposure"], dropped["reachable"]) == (
        "open",
        "everyone",
        "yes",
    )
    assert report["outside"]["disagreements"] == []


def test_the_drop_for_the_controller_alone(nmap):
    assert nmap["scanner", "before", "tcp"][1][("tcp", DROPPED)] == "open"
    assert nmap["controller", "before", "tcp"][1][("tcp", DROPPED)] == "filtered"
    assert nmap["scanner", "after", "tcp"][1][("tcp", DROPPED)] == "open"
    assert nmap["controller", "after", "tcp"][1][("tcp", DROPPED)] == "filtered"


def test_harden_was_probed_from_both_and_names_the_view_that_disagrees(reports):
    report = reports["after"]
    assert report["check_mode"] is False
    assert report["outside"]["from"] == FROM_BOTH
    dropped = entry(report, DROPPED, "tcp")
    # The view that reached it is the one reported.
    assert (dropped["reachable"], dropped["probe"]["from"], dropped["probe"]["state"]) == (
        "yes",
        FROM_SCANNER,
        "open",
    )
    assert report["outside"]["disagreements"] == [
        f"{DROPPED}/tcp on 0.0.0.0: the model says exposed to everyone, a probe from the "
        "controller found it filtered (a filter the model does not read, or the controller is "
        "not on the path an attacker takes)"
    ]


def test_closures_hold_from_both_places(reports, nmap):
    report = reports["after"]
    remediated = {
        (f["port"], f["protocol"])
        for f in report["findings"]
        if f["status"] == "remediated" and f["family"] == "ipv4"
    }
    assert remediated == {(111, "tcp"), (111, "udp"), (8080, "tcp"), (11211, "tcp")}
    assert report["summary"]["failed"] == 0
    for origin in ("scanner", "controller"):
        tcp = nmap[origin, "after", "tcp"][1]
        assert {p: tcp[("tcp", p)] for p in (111, 8080, 11211)} == dict.fromkeys(
            (111, 8080, 11211), "closed"
        ), origin
        assert nmap[origin, "before", "udp"][1] == {("udp", 111): "open"}, origin
        assert nmap[origin, "after", "udp"][1] == {("udp", 111): "closed"}, origin
    rpcbind = entry(reports["before"], 111, "udp")
    assert (rpcbind["reachable"], rpcbind["probe"]["service"]) == ("yes", "rpcbind")
    assert entry(report, 111, "udp")["reachable"] in ("refused", "filtered", "open|filtered")
