# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""evaluate() on the lab host, the safety rules, and the scopes that are never judged."""

import copy

import pytest
from ansible_collections.portguard.hardening.plugins.plugin_utils._policy import (
    builtin_rules,
    evaluate,
)
from policy_cases import (
    LAB,
    brief,
    lab_context,
    rule,
    running,
    sock,
    zone,
)

# ---------------------------------------------------------------------------
# The lab host


def test_lab_host_firewalld_stopped():
    result = evaluate(LAB, None, "report", True, lab_context())
    assert brief(result["findings"]) == [
        ("default", "tcp", "ipv4", "0.0.0.0", 80, "report", "open"),
        ("default", "tcp", "ipv6", "::", 80, "report", "open"),
        ("builtin-rpcbind", "tcp", "ipv4", "0.0.0.0", 111, "disable", "open"),
        ("builtin-rpcbind", "tcp", "ipv6", "::", 111, "disable", "open"),
        ("builtin-rpcbind", "udp", "ipv4", "0.0.0.0", 111, "disable", "open"),
        ("builtin-rpcbind", "udp", "ipv6", "::", 111, "disable", "open"),
        ("builtin-admin", "tcp", "ipv4", "0.0.0.0", 8080, "block", "open"),
        ("builtin-memcached", "tcp", "ipv4", "0.0.0.0", 11211, "block", "open"),
    ]
    assert result["findings"][2] == {
        "rule": "builtin-rpcbind",
        "reason": builtin_rules()[0]["reason"],
        "protocol": "tcp",
        "family": "ipv4",
        "address": "0.0.0.0",
        "port": 111,
        "scope": "any",
        "interface": None,
        "processes": ["systemd", "rpcbind"],
        "pids": [1, 49],
        "unit": "rpcbind.service",
        "activated_by": ["rpcbind.socket"],
        "policy_action": "disable",
        "action": "disable",
        "status": "open",
        "note": None,
        "sources": [],
        "exposure": "everyone",
        "exposed_to": [],
    }
    assert result["findings"][0]["processes"] == ["nginx"]
    assert result["findings"][0]["pids"] == [72, 73]
    assert result["allowed"] == [
        {
            "rule": "default",
            "protocol": "tcp",
            "family": family,
            "address": address,
            "port": 22,
            "unit": "ssh.service",
            "management": True,
            "exposure": "everyone",
        }
        for family, address in (("ipv4", "0.0.0.0"), ("ipv6", "::"))
    ]
    assert result["compliant"] == [
        {
            "rule": None,
            "protocol": protocol,
            "family": "ipv4",
            "address": "127.0.0.53",
            "port": 53,
            "unit": "systemd-resolved.service",
            "why": "loopback",
            "exposed_to": [],
        }
        for protocol in ("tcp", "udp")
    ]
    assert result["plan"] == {
        "disable_units": [
            {
                "unit": "rpcbind.service",
                "socket_units": ["rpcbind.socket"],
                "rules": ["builtin-rpcbind"],
                "ports": ["111/tcp", "111/udp"],
            }
        ],
        "firewall_block": [
            {"port": 8080, "protocol": "tcp", "rules": ["builtin-admin"]},
            {"port": 11211, "protocol": "tcp", "rules": ["builtin-memcached"]},
        ],
        "firewall_restrict": [],
        "firewall_open": [
            {"port": 22, "protocol": "tcp", "why": "management"},
            {"port": 80, "protocol": "tcp", "why": "report"},
        ],
        "rich_rules": [
            'rule priority="-10" port port="8080" protocol="tcp" reject',
            'rule priority="-10" port port="11211" protocol="tcp" reject',
        ],
    }
    assert result["summary"] == {
        "open": 8,
        "kept": 0,
        "allowed": 2,
        "compliant": 2,
        "by_action": {"block": 2, "disable": 4, "report": 2, "restrict": 0},
    }
    assert result["notes"] == []


def test_lab_host_firewalld_running():
    firewall = running(zone(services_ports=["22/tcp", "80/tcp", "546/udp"]))
    result = evaluate(LAB, [], "report", True, lab_context(firewall=firewall))
    assert brief(result["findings"]) == [
        ("default", "tcp", "ipv4", "0.0.0.0", 80, "report", "open"),
        ("default", "tcp", "ipv6", "::", 80, "report", "open"),
    ]
    assert [(c["port"], c["protocol"], c["family"], c["why"]) for c in result["compliant"]] == [
        (53, "tcp", "ipv4", "loopback"),
        (53, "udp", "ipv4", "loopback"),
        (111, "tcp", "ipv4", "firewalled"),
        (111, "tcp", "ipv6", "firewalled"),
        (111, "udp", "ipv4", "firewalled"),
        (111, "udp", "ipv6", "firewalled"),
        (8080, "tcp", "ipv4", "firewalled"),
        (11211, "tcp", "ipv4", "firewalled"),
    ]
    assert result["plan"] == {
        "disable_units": [],
        "firewall_block": [],
        "firewall_restrict": [],
        "firewall_open": [
            {"port": 22, "protocol": "tcp", "why": "management"},
            {"port": 80, "protocol": "tcp", "why": "report"},
        ],
        "rich_rules": [],
    }
    assert result["summary"]["open"] == 2
    assert result["summary"]["compliant"] == 8


def test_lab_host_does_not_change_its_inputs():
    sockets, context = copy.deepcopy(LAB), lab_context()
    rules = [dict(rule("mc", "restrict", ports=[11211]), sources=["10.0.0.1/32"])]
    before = copy.deepcopy((sockets, rules, context))
    evaluate(sockets, rules, "report", True, context)
    assert (sockets, rules, context) == before


# ---------------------------------------------------------------------------
# Safety


def test_management_port_is_kept():
    result = evaluate(LAB, [rule("no-ssh", ports=[22])], "report", True, lab_context())
    kept = [f for f in result["findings"] if f["status"] == "kept"]
    assert [(f["family"], f["policy_action"], f["action"], f["note"]) for f in kept] == [
        ("ipv4", "block", "report", "serves the connection Ansible is using (tcp/22)"),
        ("ipv6", "block", "report", "serves the connection Ansible is using (tcp/22)"),
    ]
    assert result["allowed"] == []
    assert result["plan"]["firewall_block"] == [
        {"port": 8080, "protocol": "tcp", "rules": ["builtin-admin"]},
        {"port": 11211, "protocol": "tcp", "rules": ["builtin-memcached"]},
    ]
    assert result["plan"]["firewall_open"][0] == {
        "port": 22,
        "protocol": "tcp",
        "why": "management",
    }
    assert result["summary"]["kept"] == 2
    assert result["summary"]["by_action"]["report"] == 4


@pytest.mark.parametrize(
    "socket,served",
    [
        (sock("tcp", "0.0.0.0", 2222, "ssh.service", [(60, "sshd")]), "ssh.service"),
        (sock("tcp", "::", 2222, "sshd.service", [(1, "systemd")], ["ssh.socket"]), "sshd.service"),
        (sock("tcp", "::", 2222, None, [(1, "systemd")], ["ssh.socket"]), "ssh.socket"),
    ],
)
def test_management_unit_is_kept(socket, served):
    result = evaluate(
        [socket], [rule("alt-ssh", "disable", ports=[2222])], "report", True, lab_context()
    )
    assert [(f["action"], f["status"], f["note"]) for f in result["findings"]] == [
        ("report", "kept", f"serves the connection Ansible is using ({served})")
    ]
    assert result["plan"]["disable_units"] == []
    assert result["plan"]["firewall_open"] == [
        {"port": 22, "protocol": "tcp", "why": "management"},
        {"port": 2222, "protocol": "tcp", "why": "management"},
    ]


def test_management_port_allowed_by_report_default_is_not_a_finding():
    context = lab_context(management_ports=[{"port": "2222"}], management_units=[])
    ssh = sock("tcp", "0.0.0.0", 2222, "ssh.service", [(60, "sshd")])
    result = evaluate([ssh], [], "report", True, context)
    assert result["findings"] == []
    assert [(a["rule"], a["management"]) for a in result["allowed"]] == [("default", True)]


@pytest.mark.parametrize(
    "reason,note",
    [
        (
            "nfs-server.service is active",
            "rpcbind kept running: NFS is in use (nfs-server.service is active); "
            "port 111 blocked in firewalld instead",
        ),
        (None, "rpcbind kept running: NFS is in use; port 111 blocked in firewalld instead"),
    ],
)
def test_rpcbind_kept_when_nfs_is_in_use(reason, note):
    context = lab_context(nfs_in_use=True, nfs_reason=reason)
    result = evaluate(LAB, [], "report", True, context)
    rpc = [f for f in result["findings"] if f["port"] == 111]
    assert {(f["policy_action"], f["action"], f["status"], f["note"]) for f in rpc} == {
        ("disable", "block", "open", note)
    }
    assert len(rpc) == 4
    assert result["plan"]["disable_units"] == []
    assert result["plan"]["firewall_block"] == [
        {"port": 111, "protocol": "tcp", "rules": ["builtin-rpcbind"]},
        {"port": 111, "protocol": "udp", "rules": ["builtin-rpcbind"]},
        {"port": 8080, "protocol": "tcp", "rules": ["builtin-admin"]},
        {"port": 11211, "protocol": "tcp", "rules": ["builtin-memcached"]},
    ]


@pytest.mark.parametrize(
    "socket,note",
    [
        pytest.param(
            sock("tcp", "0.0.0.0", 23, None, holders="kernel", inode=0),
            "a kernel socket with no systemd unit, so it cannot be disabled; "
            "port 23/tcp blocked in firewalld instead",
            id="kernel",
        ),
        pytest.param(
            sock("tcp", "0.0.0.0", 23),
            "no visible process holds it, so it cannot be disabled; "
            "port 23/tcp blocked in firewalld instead",
            id="unknown-holder",
        ),
        pytest.param(
            sock("tcp", "0.0.0.0", 23, None, [(700, "telnetd"), (701, "telnetd")]),
            "held by telnetd outside any systemd unit, so it cannot be disabled; "
            "port 23/tcp blocked in firewalld instead",
            id="no-unit",
        ),
        pytest.param(
            sock("tcp", "0.0.0.0", 23, "session-4.scope", [(700, "telnetd")]),
            "held by session-4.scope, which is not a service, so it cannot be disabled; "
            "port 23/tcp blocked in firewalld instead",
            id="scope",
        ),
    ],
)
def test_disable_without_a_service_falls_back_to_block(socket, note):
    result = evaluate([socket], [], "report", True, lab_context())
    assert [
        (f["policy_action"], f["action"], f["status"], f["note"]) for f in result["findings"]
    ] == [("disable", "block", "open", note)]
    assert result["plan"]["disable_units"] == []
    assert result["plan"]["firewall_block"] == [
        {"port": 23, "protocol": "tcp", "rules": ["builtin-telnet"]}
    ]


@pytest.mark.parametrize(
    "management,served_by",
    [
        pytest.param({"management_ports": [{"port": 22}]}, "dropbear.service", id="by-port"),
        pytest.param({"management_units": ["dropbear.socket"]}, "dropbear.service", id="by-unit"),
    ],
)
def test_unit_serving_the_connection_is_never_disabled(management, served_by):
    # Port 22 comes from dropbear.socket, 2200 is bound by the service itself.
    dropbear = {"unit": "dropbear.service", "procs": [(70, "dropbear")]}
    sockets = [
        sock("tcp", "0.0.0.0", 22, activated_by=["dropbear.socket"], **dropbear),
        sock("tcp", "0.0.0.0", 2200, **dropbear),
    ]
    rules = [rule("no-2200", "disable", ports=[2200])]
    result = evaluate(sockets, rules, "report", True, management)
    assert [(f["port"], f["action"], f["status"], f["note"]) for f in result["findings"]] == [
        (
            2200,
            "block",
            "open",
            f"{served_by} also serves the connection Ansible is using, so it is not disabled; "
            "port 2200/tcp blocked in firewalld instead",
        )
    ]
    assert result["plan"]["disable_units"] == []


def test_disable_socket_unit_itself():
    telnet = sock("tcp", "::", 23, "telnet.socket", [(1, "systemd")], ["telnet.socket"])
    context = lab_context(socket_units=[{"unit": "telnet.socket", "triggers": ["telnet@.service"]}])
    result = evaluate([telnet], [], "report", True, context)
    assert result["plan"]["disable_units"] == [
        {
            "unit": "telnet.socket",
            "socket_units": [],
            "rules": ["builtin-telnet"],
            "ports": ["23/tcp"],
        }
    ]


# ---------------------------------------------------------------------------
# Scope


@pytest.mark.parametrize(
    "socket,why",
    [
        pytest.param(sock("tcp", "127.0.0.1", 8080), "loopback", id="loopback-v4"),
        pytest.param(sock("tcp", "::1", 8080), "loopback", id="loopback-v6"),
        pytest.param(sock("tcp", "0.0.0.0", 8080, interface="lo"), "loopback", id="bound-to-lo"),
        pytest.param(
            sock("tcp", "fe80::1", 8080, scope="link_local", interface="eth0"),
            None,
            id="link-local",
        ),
        pytest.param(sock("tcp", "203.0.113.5", 8080, scope="public"), None, id="public"),
    ],
)
def test_loopback_is_compliant_link_local_is_judged(socket, why):
    result = evaluate([socket], [], "report")
    assert [c["why"] for c in result["compliant"]] == ([why] if why else [])
    assert [f["rule"] for f in result["findings"]] == ([] if why else ["builtin-admin"])


def test_a_dual_stack_listener_says_so():
    """[::] without IPV6_V6ONLY takes IPv4 too: the probe of an IPv4 address must count it."""
    dual = sock("tcp", "::", 8081, "web.service", [(7, "python3")], v6only=False)
    only6 = sock("tcp", "::", 8082, "web.service", [(7, "python3")])
    findings = evaluate([dual, only6], None, "report", False, lab_context())["findings"]
    assert [(f["port"], f.get("v6only")) for f in findings] == [(8081, False), (8082, None)]
