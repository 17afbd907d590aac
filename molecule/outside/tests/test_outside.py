"""The attacker's view: the role's probe from the controller against nmap from the controller,
before and after harden; the UDP reflectors answer before and are silent after; and the port the
admin's unreadable filter drops is named as a disagreement between model and probe."""

import json
import os
import socket
import subprocess
import xml.etree.ElementTree as ET

import pytest
from labhosts import container_address, lab_hosts, nmap_ports

testinfra_hosts = lab_hosts()

# The port the admin's table drops with an expression the ruleset evaluator does not model.
DROPPED = 80
# The probe's word for a port (docs/probe.md) and nmap's for the same answer from the host.
NMAP_STATE = {
    "tcp": {"open": "open", "refused": "closed", "filtered": "filtered"},
    "udp": {
        "open": "open",
        "closed": "closed",
        "filtered": "filtered",
        "open|filtered": "open|filtered",
    },
}
SILENT = ("refused", "open|filtered")
REPORTS = {"before": "audit", "after": "harden"}


def name_of(host):
    return host.backend.get_hostname()


@pytest.fixture(scope="module")
def reports(host):
    return {
        when: json.loads(host.file(f"/var/tmp/portguard-{kind}.json").content_string)
        for when, kind in REPORTS.items()
    }


def nmap_xml(when, protocol):
    path = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], f"nmap-{when}-{protocol}.xml")
    return ET.parse(path).getroot()  # noqa: S314 - nmap's output of converge's own scan


def probed(report, protocol=None):
    """{(protocol, port): entry} of the findings and allowed listeners the probe reached."""
    entries = report["findings"] + report["allowed"]
    return {
        (e["protocol"], e["port"]): e
        for e in entries
        if e["probe"] is not None and protocol in (None, e["protocol"])
    }


def entry(report, port, protocol, address="0.0.0.0"):  # noqa: S104 - a wildcard listener
    (found,) = [
        e
        for e in report["findings"] + report["allowed"]
        if (e["port"], e["protocol"], e["address"]) == (port, protocol, address)
    ]
    return found


@pytest.mark.parametrize("when", ["before", "after"])
@pytest.mark.parametrize("protocol", ["tcp", "udp"])
def test_nmap_agrees_with_the_probe(host, reports, when, protocol):
    report = reports[when]
    address, seen = nmap_ports(nmap_xml(when, protocol))
    assert address == report["outside"]["address"] == container_address(name_of(host))
    entries = probed(report, protocol)
    probe_says = {
        key: NMAP_STATE[protocol][e["probe"]["state"]]
        for key, e in entries.items()
        if protocol == "tcp" or key[1] in (111, 11211)
    }
    # nmap scanned exactly the TCP ports the probe reached (converge took them from the report).
    assert probe_says == seen


def test_the_scans_see_the_change(reports):
    before = nmap_ports(nmap_xml("before", "tcp"))[1]
    after = nmap_ports(nmap_xml("after", "tcp"))[1]
    assert before == {("tcp", p): "open" for p in (22, 111, 8080, 11211)} | {
        ("tcp", DROPPED): "filtered"
    }
    assert after == {("tcp", 22): "open", ("tcp", DROPPED): "filtered"} | {
        ("tcp", p): "closed" for p in (111, 8080, 11211)
    }
    assert nmap_ports(nmap_xml("before", "udp"))[1] == {
        ("udp", 111): "open",
        ("udp", 11211): "open",
    }
    assert nmap_ports(nmap_xml("after", "udp"))[1] == {
        ("udp", 111): "closed",
        ("udp", 11211): "closed",
    }


@pytest.mark.parametrize(
    "port, protocol, service",
    [
        (111, "udp", "rpcbind"),
        (11211, "udp", "memcached"),
        (111, "tcp", None),
        (11211, "tcp", None),
    ],
)
def test_the_reflectors_answer_before_and_not_after(reports, port, protocol, service):
    before = entry(reports["before"], port, protocol)
    assert (before["status"], before["reachable"], before["probe"]["state"]) == (
        "open",
        "yes",
        "open",
    )
    # The service's own answer to its request: rpcbind's NULL call, memcached's stats.
    assert before["probe"].get("service") == service
    after = entry(reports["after"], port, protocol)
    assert after["status"] == "remediated"
    assert after["reachable"] in SILENT
    assert "service" not in after["probe"]


def memcached_stats(address):
    """memcached's answer to stats over UDP from here, or None after 2 s of silence or a port
    unreachable."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(2)
        sock.connect((address, 11211))
        sock.send(b"\x12\x34\x00\x00\x00\x01\x00\x00stats\r\n")
        try:
            return sock.recv(65535)
        except OSError:
            return None


def test_memcached_still_runs_but_is_silent_from_outside(host):
    # Blocked, not stopped: the closure is the firewall's, and memcached still serves inside.
    assert host.service("memcached.service").is_running
    assert "0.0.0.0:11211" in host.check_output("ss -ulnH sport = :11211").split()
    assert memcached_stats(container_address(name_of(host))) is None


@pytest.mark.parametrize("when", ["before", "after"])
def test_the_unreadable_filter_is_a_disagreement(reports, when):
    report = reports[when]
    dropped = entry(report, DROPPED, "tcp")
    # The model: exposed (the expression it cannot read counts as exposed); the probe: dropped.
    assert (dropped["status"], dropped["exposure"]) == ("open", "everyone")
    assert dropped["exposed_via"] == ["kernel: not modelled: meta cpu"]
    assert (dropped["reachable"], dropped["probe"]["state"]) == ("filtered", "filtered")
    assert report["outside"]["disagreements"] == [
        f"{DROPPED}/tcp on 0.0.0.0: the model says exposed to everyone, a probe from the "
        "controller found it filtered (a filter the model does not read, or the controller is "
        "not on the path an attacker takes)"
    ]
    assert report["outside"]["unexpected"] == []


def test_harden_closures_are_confirmed_by_the_probe(reports):
    report = reports["after"]
    remediated = [f for f in report["findings"] if f["status"] == "remediated"]
    assert sorted({(f["port"], f["protocol"]) for f in remediated}) == [
        (111, "tcp"),
        (111, "udp"),
        (8080, "tcp"),
        (11211, "tcp"),
        (11211, "udp"),
    ]
    assert report["summary"]["failed"] == 0
    for finding in remediated:
        if finding["family"] == "ipv4":
            assert finding["reachable"] in ("refused", "filtered", "open|filtered"), finding
        else:
            # The probe covers the one address it is given: the host's IPv4 address.
            assert (finding["reachable"], finding["probe"]) == ("not probed", None), finding
    ssh = entry(report, 22, "tcp")
    assert (ssh["reachable"], ssh["probe"]["state"]) == ("yes", "open")


@pytest.mark.parametrize("when", ["before", "after"])
def test_the_probe_came_from_the_controller_to_the_hosts_address(host, reports, when):
    outside = reports[when]["outside"]
    address = container_address(name_of(host))
    assert (outside["address"], outside["from"]) == (address, "the controller")
    route = json.loads(subprocess.check_output(["ip", "-j", "route", "get", address], text=True))
    assert outside["source"] == route[0]["prefsrc"]
    assert reports[when]["check_mode"] is (when == "before")
