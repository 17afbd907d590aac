# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sockets, rules and firewalld descriptions the policy tests share: the lab host among them."""

import copy

KNOWN = "(known: action, enabled, id, match, reason, sources)"
ACTIONS = "allow, block, disable, report, restrict"


def sock(protocol, address, port, unit=None, procs=(), activated_by=(), **extra):
    """A listening_facts socket; family and scope follow from the address unless given.

    Its unit is one PID 1 confirmed (unit_verified) unless told otherwise.
    """
    family = "ipv6" if ":" in address else "ipv4"
    scope = "any" if address in ("0.0.0.0", "::") else "private"
    if address.startswith("127.") or address == "::1":
        scope = "loopback"
    entry = {
        "protocol": protocol,
        "family": family,
        "address": address,
        "port": port,
        "interface": None,
        "scope": scope,
        "v6only": True if family == "ipv6" else None,
        "inode": 1000 + port,
        "uid": 0,
        "holders": "process" if procs else "unknown",
        "processes": [
            {"pid": pid, "name": name, "exe": None, "cmdline": [name], "user": "root", "uid": 0}
            for pid, name in procs
        ],
        "unit": unit,
        "unit_verified": unit is not None,
        "activated_by": list(activated_by),
    }
    entry.update(extra)
    return entry


def rule(rule_id, action="block", **match):
    return {"id": rule_id, "match": match, "action": action}


RPCBIND = {"unit": "rpcbind.service", "procs": [(1, "systemd"), (49, "rpcbind")]}
RPCBIND["activated_by"] = ["rpcbind.socket"]

# The lab host: Debian with the services lab/provision.sh installs.
LAB = [
    sock("tcp", "0.0.0.0", 111, **RPCBIND),
    sock("tcp", "::", 111, **RPCBIND),
    sock("udp", "0.0.0.0", 111, **RPCBIND),
    sock("udp", "::", 111, **RPCBIND),
    sock("tcp", "0.0.0.0", 11211, "memcached.service", [(81, "memcached")]),
    sock("tcp", "0.0.0.0", 8080, "lab-admin.service", [(90, "python3")]),
    sock("tcp", "0.0.0.0", 80, "nginx.service", [(72, "nginx"), (73, "nginx")]),
    sock("tcp", "::", 80, "nginx.service", [(72, "nginx"), (73, "nginx")]),
    sock("tcp", "0.0.0.0", 22, "ssh.service", [(60, "sshd")]),
    sock("tcp", "::", 22, "ssh.service", [(60, "sshd")]),
    sock("udp", "127.0.0.53", 53, "systemd-resolved.service", [(40, "systemd-resolve")]),
    sock("tcp", "127.0.0.53", 53, "systemd-resolved.service", [(40, "systemd-resolve")]),
]

LAB_SOCKET_UNITS = [
    {
        "unit": "rpcbind.socket",
        "active_state": "active",
        "unit_file_state": "enabled",
        "listen": [
            "/run/rpcbind.sock (Stream)",
            "0.0.0.0:111 (Stream)",
            "0.0.0.0:111 (Datagram)",
            "[::]:111 (Stream)",
            "[::]:111 (Datagram)",
        ],
        "triggers": ["rpcbind.service"],
    },
    {
        "unit": "ssh.socket",
        "active_state": "inactive",
        "unit_file_state": "disabled",
        "listen": ["[::]:22 (Stream)"],
        "triggers": ["ssh.service"],
    },
]


RICH_MC = 'rule family="ipv4" source address="10.0.0.0/8" port port="11211" protocol="tcp" accept'


def lab_context(**changes):
    context = {
        "management_ports": [{"port": 22, "protocol": "tcp"}],
        "management_units": ["ssh.service", "sshd.service", "ssh.socket"],
        "nfs_in_use": False,
        "socket_units": copy.deepcopy(LAB_SOCKET_UNITS),
        "firewall": {"state": "stopped", "zones": []},
    }
    context.update(changes)
    return context


def zone(name="public", **fields):
    entry = {"name": name, "active": True, "target": "default", "interfaces": ["eth0"]}
    entry.update(fields)
    return entry


def running(*zones, **extra):
    firewall = {"state": "running", "zones": list(zones)}
    firewall.update(extra)
    return firewall


def brief(findings):
    return [
        (f["rule"], f["protocol"], f["family"], f["address"], f["port"], f["action"], f["status"])
        for f in findings
    ]


def where(entries):
    return [(e["protocol"], e["family"], e["address"], e["port"]) for e in entries]


MYSQL = sock("tcp", "0.0.0.0", 3306, "mysqld.service", [(300, "mysqld")])
# What the role adds for a plan restricting 11211/tcp to 10.0.0.0/8.
REMEDIATED_RESTRICT = [
    'rule family="ipv4" priority="-20" source address="10.0.0.0/8" port port="11211" '
    'protocol="tcp" accept',
    'rule priority="-10" port port="11211" protocol="tcp" reject',
]
