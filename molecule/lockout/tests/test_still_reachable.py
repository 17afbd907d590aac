"""firewalld is running and the SSH port Ansible used still answers, from outside."""

import json
import os
import socket
import subprocess

from labhosts import lab_hosts

testinfra_hosts = lab_hosts()


def address_of(host):
    out = subprocess.check_output(["podman", "inspect", host.backend.get_hostname()], text=True)
    return json.loads(out)[0]["NetworkSettings"]["IPAddress"]


def test_firewalld_was_enabled(host):
    firewalld = host.service("firewalld")
    assert firewalld.is_running
    assert firewalld.is_enabled


def test_management_port_opened_permanently_and_at_runtime(host):
    assert "2222/tcp" in host.check_output("firewall-cmd --list-ports").split()
    assert "2222/tcp" in host.check_output("firewall-cmd --permanent --list-ports").split()


def test_ssh_login_still_works(host):
    key = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "id_lockout")
    result = subprocess.run(
        [
            "ssh",
            "-i",
            key,
            "-p",
            "2222",
            "-o",
            "BatchMode=yes",
            "-o",
            "ConnectTimeout=5",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "root@" + address_of(host),
            "systemctl is-active firewalld",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "active"


def test_closed_ports_refuse_from_outside(host):
    address = address_of(host)
    for port in (111, 8080, 11211):
        try:
            socket.create_connection((address, port), timeout=3).close()
            opened = True
        except OSError:
            opened = False
        assert not opened, port


def test_rule_closing_the_connection_is_kept(host):
    report = json.loads(host.file("/var/tmp/portguard-report.json").content_string)
    kept = [f for f in report["findings"] if f["port"] == 2222]
    assert kept, report["findings"]
    for finding in kept:
        assert finding["rule"] == "close-2222"
        assert finding["policy_action"] == "block"
        assert finding["status"] == "kept"
        assert "connection" in finding["note"]
