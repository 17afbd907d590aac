"""With NFS in use, rpcbind keeps running and port 111 is closed by firewalld instead."""

import json
import socket
import subprocess

import pytest
from labhosts import lab_hosts

testinfra_hosts = lab_hosts()


@pytest.fixture(scope="module")
def report(host):
    return json.loads(host.file("/var/tmp/portguard-report.json").content_string)


@pytest.mark.parametrize("unit", ["rpcbind.socket", "rpcbind.service"])
def test_rpcbind_kept(host, unit):
    assert host.service(unit).is_running
    assert host.run("systemctl is-enabled %s" % unit).stdout.strip() == "enabled"


@pytest.mark.parametrize("protocol", ["tcp", "udp"])
def test_port_111_blocked_instead(host, protocol):
    rules = host.check_output("firewall-cmd --list-rich-rules").splitlines()
    assert 'rule priority="-10" port port="111" protocol="%s" reject' % protocol in rules


def test_findings_say_why(report):
    rpc = [f for f in report["findings"] if f["port"] == 111]
    assert len(rpc) == 4  # tcp and udp, IPv4 and IPv6
    for finding in rpc:
        assert finding["policy_action"] == "disable"
        assert finding["action"] == "block"
        assert finding["status"] == "remediated"
        assert "NFS" in finding["note"]
        assert "/etc/exports exports /srv/share" in finding["note"]
    assert report["nfs_in_use"] is True


def test_111_closed_from_outside(host):
    out = subprocess.check_output(["podman", "inspect", host.backend.get_hostname()], text=True)
    address = json.loads(out)[0]["NetworkSettings"]["IPAddress"]
    with pytest.raises(OSError):
        socket.create_connection((address, 111), timeout=3).close()
