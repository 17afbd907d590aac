"""An audit sees the ports a zone opens through service includes and through the default zone."""

import json

import pytest
from labhosts import lab_hosts

testinfra_hosts = lab_hosts()


@pytest.fixture(scope="module")
def zones(host):
    return json.loads(host.file("/var/tmp/portguard-zones.json").content_string)


def test_firewalld_services_follows_includes(zones):
    samba = zones["services"]["samba"]
    assert samba["includes"] == ["samba-client"]
    assert set(samba["all_ports"]) == set(samba["ports"]) | {"137/udp", "138/udp"}
    # samba-client includes netbios-ns in turn: 137/udp comes from two levels down.
    assert zones["services"]["samba-client"]["includes"] == ["netbios-ns"]
    assert zones["services"]["netbios-ns"]["all_ports"] == ["137/udp"]
    assert zones["services"]["ssh"]["all_ports"] == ["22/tcp"]
    assert zones["unknown"] == ["no-such-service"]


def test_netbios_through_the_include_is_a_finding(zones):
    netbios = [f for f in zones["report"]["findings"] if f["port"] == 137]
    assert [(f["protocol"], f["rule"], f["status"], f["exposure"]) for f in netbios] == [
        ("udp", "builtin-smb", "open", "everyone")
    ]
    assert netbios[0]["unit"] == "netbios-ns.service"


def test_default_zone_source_does_not_hide_its_ports(zones):
    # 8080 is not in the zone, so firewalld keeps it closed; 137/udp came in through the default
    # zone, which also lists 192.0.2.0/24 and still admits everyone.
    ports = {(f["protocol"], f["port"]) for f in zones["report"]["findings"]}
    assert ("udp", 137) in ports
    assert ("tcp", 8080) not in ports


def test_audit_changed_nothing(zones, host):
    assert zones["before"] == zones["after"]
    assert host.service("firewalld").is_running
