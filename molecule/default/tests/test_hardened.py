"""After the role: what the host runs (inside) and what answers from the controller (outside)."""

import subprocess
import time

import pytest
from labhosts import container_address, lab_hosts, tcp_answers

testinfra_hosts = lab_hosts()

ANSWERS = [22, 80]
CLOSED = [111, 8080, 11211]


def outside_view(host):
    address = container_address(host.backend.get_hostname())
    return {port: tcp_answers(address, port) for port in ANSWERS + CLOSED}


EXPECTED = dict([(p, True) for p in ANSWERS] + [(p, False) for p in CLOSED])


@pytest.mark.parametrize("unit", ["rpcbind.socket", "rpcbind.service"])
def test_rpcbind_and_its_socket_are_masked_and_stopped(host, unit):
    service = host.service(unit)
    assert not service.is_running
    assert host.run("systemctl is-enabled %s" % unit).stdout.strip() == "masked"


@pytest.mark.parametrize("unit", ["nginx.service", "memcached.service", "lab-admin.service"])
def test_block_and_restrict_keep_services_running(host, unit):
    assert host.service(unit).is_running


def test_firewalld_running_and_enabled(host):
    firewalld = host.service("firewalld")
    assert firewalld.is_running
    assert firewalld.is_enabled


def test_rules_are_permanent_and_runtime(host):
    runtime = set(host.check_output("firewall-cmd --list-rich-rules").splitlines())
    permanent = set(host.check_output("firewall-cmd --permanent --list-rich-rules").splitlines())
    assert runtime == permanent
    assert 'rule priority="-10" port port="8080" protocol="tcp" reject' in runtime
    assert (
        'rule family="ipv4" priority="-20" source address="192.0.2.0/24" port port="11211" '
        'protocol="tcp" accept' in runtime
    ) or (
        'rule priority="-20" family="ipv4" source address="192.0.2.0/24" port port="11211" '
        'protocol="tcp" accept' in runtime
    )


def test_local_clients_still_reach_blocked_services(host):
    # block closes a port to the outside; the service keeps serving the host itself.
    assert (
        host.run("python3 -c \"import urllib.request as u; u.urlopen('http://127.0.0.1:8080')\"").rc
        == 0
    )


def test_from_outside_closed_ports_refuse_and_allowed_answer(host):
    assert outside_view(host) == EXPECTED


def test_still_closed_after_a_restart(host):
    name = host.backend.get_hostname()
    subprocess.check_call(["podman", "restart", "--time", "5", name], stdout=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline:
        state = host.run("systemctl is-system-running").stdout.strip()
        if state in ("running", "degraded"):
            break
        time.sleep(1)
    assert host.service("firewalld").is_running
    assert outside_view(host) == EXPECTED
