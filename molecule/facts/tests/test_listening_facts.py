"""listening_facts on real systemd hosts, checked against ss run on the same host."""

import os
import re

import pytest
import testinfra
from labhosts import lab_hosts

testinfra_hosts = lab_hosts()

_SS_LINE = re.compile(
    r"^(?P<proto>tcp|udp)\s+\S+\s+\d+\s+\d+\s+(?P<local>\S+)\s+\S+\s*(?P<users>.*)$"
)
_SS_PID = re.compile(r"pid=(\d+)")


def _split_local(local):
    """`0.0.0.0:111`, `[::]:111`, `127.0.0.53%lo:53`, `*:22` -> (address, port)."""
    address, _colon, port = local.rpartition(":")
    address = address.strip("[]").split("%", 1)[0]
    return address, int(port)


def ss_view(host):
    rows = set()
    for line in host.check_output("ss -tulpnH").splitlines():
        m = _SS_LINE.match(line)
        assert m, "unparsed ss line: %r" % line
        address, port = _split_local(m.group("local"))
        pids = frozenset(int(p) for p in _SS_PID.findall(m.group("users")))
        rows.add((m.group("proto"), address, port, pids))
    return rows


@pytest.fixture(scope="module")
def facts(host):
    # The module itself, run by Ansible the way a playbook runs it.
    name = host.backend.get_hostname()
    ansible_host = testinfra.get_host(
        "ansible://" + name, ansible_inventory=os.environ["MOLECULE_INVENTORY_FILE"]
    )
    result = ansible_host.ansible("portguard.hardening.listening_facts", "", check=False)
    assert not result.get("failed"), result
    return result["ansible_facts"]["listening_sockets"]


def module_view(sockets):
    rows = set()
    for s in sockets:
        address = s["address"]
        rows.add((s["protocol"], address, s["port"], frozenset(p["pid"] for p in s["processes"])))
    return rows


def normalise_wildcards(rows):
    # ss prints `*` for a wildcard it does not tie to one family.
    return {(p, "::" if a == "*" else a, port, pids) for p, a, port, pids in rows}


def test_same_sockets_and_pids_as_ss(host, facts):
    assert normalise_wildcards(module_view(facts)) == normalise_wildcards(ss_view(host))


def _find(facts, protocol, family, port):
    found = [
        s
        for s in facts
        if (s["protocol"], s["family"], s["port"]) == (protocol, family, port)
        and s["scope"] == "any"
    ]
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize(
    ("protocol", "family", "port", "unit", "activated_by"),
    [
        ("tcp", "ipv4", 111, "rpcbind.service", ["rpcbind.socket"]),
        ("udp", "ipv4", 111, "rpcbind.service", ["rpcbind.socket"]),
        ("tcp", "ipv6", 111, "rpcbind.service", ["rpcbind.socket"]),
        ("udp", "ipv6", 111, "rpcbind.service", ["rpcbind.socket"]),
        ("tcp", "ipv4", 80, "nginx.service", []),
        ("tcp", "ipv6", 80, "nginx.service", []),
        ("tcp", "ipv4", 11211, "memcached.service", []),
        ("tcp", "ipv4", 8080, "lab-admin.service", []),
        ("tcp", "ipv4", 22, "ssh.service", []),
        ("tcp", "ipv6", 22, "ssh.service", []),
    ],
)
def test_unit_and_activating_socket(facts, protocol, family, port, unit, activated_by):
    entry = _find(facts, protocol, family, port)
    assert entry["unit"] == unit
    assert entry["activated_by"] == activated_by


def test_rpcbind_is_held_by_systemd_and_rpcbind(host, facts):
    entry = _find(facts, "tcp", "ipv4", 111)
    names = sorted(p["name"] for p in entry["processes"])
    assert names == ["rpcbind", "systemd"]
    rpcbind_pid = int(host.check_output("pidof rpcbind"))
    assert {p["pid"] for p in entry["processes"]} == {1, rpcbind_pid}
    rpcbind = next(p for p in entry["processes"] if p["name"] == "rpcbind")
    assert rpcbind["user"] == "_rpc"
    assert rpcbind["exe"] == "/usr/sbin/rpcbind"


def test_nginx_lists_master_and_workers(host, facts):
    entry = _find(facts, "tcp", "ipv4", 80)
    pids = {int(p) for p in host.check_output("pidof nginx").split()}
    assert {p["pid"] for p in entry["processes"]} == pids
    assert {p["user"] for p in entry["processes"]} == {"root", "www-data"}


def test_ipv6_wildcards_accept_ipv4(facts):
    # Debian leaves net.ipv6.bindv6only at 0, but nginx, sshd and rpcbind set IPV6_V6ONLY.
    for entry in facts:
        if entry["family"] == "ipv6" and entry["scope"] == "any":
            assert entry["v6only"] is True, entry
