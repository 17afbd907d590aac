"""The lab hosts look like the servers portguard is for: systemd up, rpcbind socket-activated."""

import pytest
from labhosts import lab_hosts

testinfra_hosts = lab_hosts()


def test_systemd_is_running(host):
    state = host.run("systemctl is-system-running").stdout.strip()
    assert state in ("running", "degraded"), state


def test_rpcbind_listens_through_its_socket_unit(host):
    sock = host.service("rpcbind.socket")
    assert sock.is_running
    assert sock.is_enabled
    listen = host.run("systemctl show -p Listen --value rpcbind.socket").stdout.split("\n")
    assert "0.0.0.0:111 (Stream)" in listen
    assert "[::]:111 (Datagram)" in listen


@pytest.mark.parametrize(
    "spec",
    ["tcp://0.0.0.0:111", "udp://0.0.0.0:111", "tcp://:::111", "udp://:::111"],
)
def test_rpcbind_port_is_listening(host, spec):
    assert host.socket(spec).is_listening


@pytest.mark.parametrize(
    ("spec", "unit"),
    [
        ("tcp://0.0.0.0:11211", "memcached.service"),
        ("tcp://0.0.0.0:8080", "lab-admin.service"),
        ("tcp://0.0.0.0:80", "nginx.service"),
        ("tcp://0.0.0.0:22", "ssh.service"),
    ],
)
def test_lab_services_are_exposed(host, spec, unit):
    assert host.service(unit).is_running
    assert host.socket(spec).is_listening


def test_firewalld_installed_but_stopped(host):
    assert host.package("firewalld").is_installed
    assert not host.service("firewalld").is_running


def test_firewalld_can_run(host):
    # The role starts it; a lab that cannot run it (no /etc/protocols, say) would hide that path.
    host.check_output("systemctl start firewalld")
    try:
        assert host.check_output("firewall-cmd --state") == "running"
        assert host.check_output("firewall-cmd --get-default-zone") == "public"
    finally:
        host.check_output("systemctl stop firewalld")
