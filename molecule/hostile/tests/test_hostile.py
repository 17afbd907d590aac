"""Units a user names after the system's: reported as the user manager's, closed, harmless."""

import json

import pytest
from labhosts import container_address, lab_hosts, tcp_answers

testinfra_hosts = lab_hosts()

USER_PORTS = {4444: "ssh.service", 4445: "nginx.service"}


def report(host, name):
    return json.loads(host.file("/var/tmp/portguard-hostile-%s.json" % name).content_string)


def findings_on(doc, port):
    return [f for f in doc["findings"] if f["port"] == port and f["protocol"] == "tcp"]


@pytest.mark.parametrize("port", sorted(USER_PORTS))
def test_audit_reports_the_user_listener_as_the_user_managers(host, port):
    found = findings_on(report(host, "audit"), port)
    assert found, "port %d missing from the audit" % port
    assert {f["unit"] for f in found} == {"user@1000.service"}
    assert {f["status"] for f in found} == {"open"}
    # The user's "ssh.service" is not taken for the management connection: not allowed, not kept.
    assert not [a for a in report(host, "audit")["allowed"] if a.get("port") == port]


def test_the_disable_rule_falls_back_to_block(host):
    found = findings_on(report(host, "harden"), 4445)
    assert {f["rule"] for f in found} == {"no-4445"}
    assert {f["action"] for f in found} == {"block"}
    assert {f["status"] for f in found} == {"remediated"}
    assert all("user manager user@1000.service" in (f["note"] or "") for f in found)


def test_the_default_block_closes_the_other(host):
    found = findings_on(report(host, "harden"), 4444)
    assert {(f["rule"], f["action"], f["status"]) for f in found} == {
        ("default", "block", "remediated")
    }


@pytest.mark.parametrize("unit", ["ssh.service", "nginx.service"])
def test_the_systems_units_stay_enabled_and_active(host, unit):
    assert host.service(unit).is_running
    assert host.run("systemctl is-enabled %s" % unit).stdout.strip() == "enabled"


def test_the_user_units_were_not_stopped_through_the_system(host):
    # The user's processes still run: closed by the firewall, not by stopping anything by name.
    for port in USER_PORTS:
        assert host.socket("tcp://0.0.0.0:%d" % port).is_listening


def test_from_outside_user_ports_closed_system_ports_answer(host):
    address = container_address(host.backend.get_hostname())
    seen = {port: tcp_answers(address, port) for port in [22, 80, 4444, 4445]}
    assert seen == {22: True, 80: True, 4444: False, 4445: False}
