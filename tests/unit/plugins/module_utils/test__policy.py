# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The exposed-ports policy: validation, rule matching, safety, firewalld, plan, reconcile."""

import copy

import pytest
from ansible_collections.portguard.hardening.plugins.module_utils._firewall_model import (
    exposure,
    parse_firewall,
    parse_rich_rule,
)
from ansible_collections.portguard.hardening.plugins.module_utils._policy import (
    PolicyError,
    builtin_rules,
    evaluate,
    reconcile,
    validate_policy,
)

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


# ---------------------------------------------------------------------------
# Built-in rules


def test_builtin_rules_list():
    assert [
        (r["id"], r["match"]["ports"], r["match"]["protocols"], r["action"])
        for r in builtin_rules()
    ] == [
        ("builtin-rpcbind", [111], ["tcp", "udp"], "disable"),
        ("builtin-telnet", [23], ["tcp"], "disable"),
        ("builtin-nfs", [2049], ["tcp", "udp"], "block"),
        ("builtin-mysql", [3306], ["tcp"], "block"),
        ("builtin-postgresql", [5432], ["tcp"], "block"),
        ("builtin-redis", [6379], ["tcp"], "block"),
        ("builtin-elasticsearch", [9200, 9300], ["tcp"], "block"),
        ("builtin-memcached", [11211], ["tcp", "udp"], "block"),
        ("builtin-mongodb", [27017], ["tcp"], "block"),
        ("builtin-smb", ["137-139", 445], ["tcp", "udp"], "block"),
        ("builtin-mdns", [5353], ["udp"], "block"),
        ("builtin-admin", [8080, 8081, 8888], ["tcp"], "block"),
    ]


def test_builtin_rules_are_valid_enabled_and_explained():
    rules = builtin_rules()
    assert validate_policy(rules) == []
    assert [r for r in rules if r["enabled"] is not True] == []
    assert [r["id"] for r in rules if len(r["reason"]) < 40 or not r["reason"].endswith(".")] == []


def test_builtin_rules_are_fresh_copies():
    rules = builtin_rules()
    rules[0]["match"]["ports"].append(1)
    rules[0]["action"] = "allow"
    assert builtin_rules()[0]["match"]["ports"] == [111]
    assert builtin_rules()[0]["action"] == "disable"


# ---------------------------------------------------------------------------
# Validation


@pytest.mark.parametrize(
    "rules,expected",
    [
        pytest.param(None, [], id="no-rules"),
        pytest.param([], [], id="empty"),
        pytest.param(
            [
                rule("web", "allow", ports=[80, "443", "8000-8010"], protocols=["tcp"]),
                dict(rule("db", "restrict", units=["mysql*.service"]), sources=["10.0.0.0/8"]),
                dict(rule("py", "report", processes=["python*"]), reason="ad hoc servers"),
                dict(rule("edge", "disable", ports=[1, 65535, "1-65535"]), enabled=False),
                {
                    "id": "v6",
                    "match": {"ports": [53]},
                    "action": "restrict",
                    "sources": ["2001:db8::/32", "192.0.2.7", "10.0.0.1/32"],
                },
                {"id": "builtin-rpcbind", "enabled": False},
                rule("builtin-admin", "allow", ports=[8080]),
            ],
            [],
            id="valid",
        ),
        pytest.param(
            {"id": "x"}, ["rules: expected a list of rules, got a mapping"], id="rules-mapping"
        ),
        pytest.param(
            ["web"],
            ["rule #1: expected a mapping with id, match and action, got 'web'"],
            id="rule-string",
        ),
        pytest.param(
            [rule("a", ports=[22]), {"acton": "block", "match": {"ports": [1]}}],
            [
                f"rule #2: unknown key 'acton' {KNOWN}",
                "rule #2: id is required",
                f"rule #2: action is required (one of {ACTIONS})",
            ],
            id="unknown-key-by-position",
        ),
        pytest.param(
            [rule("", ports=[22]), rule(5, ports=[22]), rule("  ", ports=[22])],
            [
                "rule #1: id must be a non-empty string, got ''",
                "rule #2: id must be a non-empty string, got 5",
                "rule #3: id must be a non-empty string, got '  '",
            ],
            id="bad-ids",
        ),
        pytest.param(
            [rule("a", ports=[1]), rule("b", ports=[2]), rule("a", ports=[3])],
            ["rule 'a' (#3): id 'a' is already used by rule #1"],
            id="duplicate-id",
        ),
        pytest.param(
            [rule("default", ports=[1])],
            ["rule 'default': id 'default' is reserved for the default action"],
            id="reserved-id",
        ),
        pytest.param(
            [rule("db", ports=["70000"])],
            ["rule 'db': match.ports: '70000' is not a port (1-65535)"],
            id="port-string-too-high",
        ),
        pytest.param(
            [rule("db", ports=[0, 70000, -1, 80.0, None])],
            [
                "rule 'db': match.ports: 0 is not a port (1-65535)",
                "rule 'db': match.ports: 70000 is not a port (1-65535)",
                "rule 'db': match.ports: -1 is not a port (1-65535)",
                "rule 'db': match.ports: 80.0 is not a port (1-65535)",
                "rule 'db': match.ports: None is not a port (1-65535)",
            ],
            id="port-numbers",
        ),
        pytest.param(
            [rule("db", ports=[True, False])],
            [
                "rule 'db': match.ports: True is not a port (1-65535)",
                "rule 'db': match.ports: False is not a port (1-65535)",
            ],
            id="port-booleans",
        ),
        pytest.param(
            [rule("db", ports=["80,81", "abc", " 80", "８０"])],
            [
                "rule 'db': match.ports: '80,81' is not a port or port range "
                "(write 80 or '1000-2000')",
                "rule 'db': match.ports: 'abc' is not a port or port range "
                "(write 80 or '1000-2000')",
                "rule 'db': match.ports: ' 80' is not a port or port range "
                "(write 80 or '1000-2000')",
                "rule 'db': match.ports: '８０' is not a port or port range "
                "(write 80 or '1000-2000')",
            ],
            id="port-strings",
        ),
        pytest.param(
            [rule("db", ports=["90-80", "0-10", "65535-65536", "0"])],
            [
                "rule 'db': match.ports: '90-80' is not a port range: 90 is above 80",
                "rule 'db': match.ports: '0-10' is not a port range (1-65535)",
                "rule 'db': match.ports: '65535-65536' is not a port range (1-65535)",
                "rule 'db': match.ports: '0' is not a port (1-65535)",
            ],
            id="port-ranges",
        ),
        pytest.param(
            [rule("db", ports=80), rule("dc", ports=[]), rule("dd", ports="80")],
            [
                "rule 'db': match.ports must be a non-empty list, got 80",
                "rule 'dc': match.ports must be a non-empty list, got a list",
                "rule 'dd': match.ports must be a non-empty list, got '80'",
            ],
            id="ports-not-a-list",
        ),
        pytest.param(
            [
                rule("p", ports=[1], protocols=["TCP", "icmp", "udp"]),
                rule("q", ports=[1], protocols=[]),
            ],
            [
                "rule 'p': match.protocols: 'TCP' is not a protocol (tcp, udp)",
                "rule 'p': match.protocols: 'icmp' is not a protocol (tcp, udp)",
                "rule 'q': match.protocols must be a non-empty list, got a list",
            ],
            id="protocols",
        ),
        pytest.param(
            [rule("u", units=["", 5, "ok.service"], processes=[None])],
            [
                "rule 'u': match.units: '' is not a name or glob",
                "rule 'u': match.units: 5 is not a name or glob",
                "rule 'u': match.processes: None is not a name or glob",
            ],
            id="units-processes",
        ),
        pytest.param(
            [{"id": "m", "action": "block"}, {"id": "n", "action": "block", "match": [22]}],
            ["rule 'm': match is required", "rule 'n': match must be a mapping, got a list"],
            id="match-missing-or-list",
        ),
        pytest.param(
            [rule("m", protocols=["tcp"]), rule("n", port=[22])],
            [
                "rule 'm': match needs at least one of ports, units, processes, containers, images",
                "rule 'n': match: unknown key 'port' (known: containers, images, ports, "
                "processes, protocols, units)",
                "rule 'n': match needs at least one of ports, units, processes, containers, images",
            ],
            id="match-without-selector",
        ),
        pytest.param(
            [{"id": "a", "match": {"ports": [1]}}, rule("b", "deny", ports=[1])],
            [
                f"rule 'a': action is required (one of {ACTIONS})",
                f"rule 'b': action 'deny' is not one of {ACTIONS}",
            ],
            id="actions",
        ),
        pytest.param(
            [
                rule("mc", "restrict", ports=[11211]),
                dict(rule("md", "restrict", ports=[11211]), sources=[]),
                dict(rule("me", "restrict", ports=[11211]), sources="10.0.0.0/8"),
            ],
            [
                "rule 'mc': action 'restrict' needs sources",
                "rule 'md': action 'restrict' needs sources",
                "rule 'me': sources must be a non-empty list, got '10.0.0.0/8'",
            ],
            id="restrict-needs-sources",
        ),
        pytest.param(
            [
                dict(
                    rule("s", "restrict", ports=[1]),
                    sources=["db.example.com", "10.0.0.0/33", 167772160, "10.0.0.0/8"],
                )
            ],
            [
                "rule 's': sources: 'db.example.com' is not an IP address or CIDR network "
                "(hostnames are not accepted)",
                "rule 's': sources: '10.0.0.0/33' is not an IP address or CIDR network "
                "(hostnames are not accepted)",
                "rule 's': sources: 167772160 is not an IP address or CIDR network "
                "(hostnames are not accepted)",
            ],
            id="bad-sources",
        ),
        pytest.param(
            [
                dict(rule("b", "block", ports=[1]), sources=["10.0.0.0/8"]),
                dict(rule("c", "block", ports=[1]), sources=[]),
            ],
            ["rule 'b': sources are only allowed with action 'restrict'"],
            id="sources-without-restrict",
        ),
        pytest.param(
            [dict(rule("e", ports=[1]), enabled="yes", reason=5)],
            [
                "rule 'e': enabled must be true or false, got 'yes'",
                "rule 'e': reason must be a string, got 5",
            ],
            id="enabled-reason-types",
        ),
        pytest.param(
            [{"id": "builtin-rcpbind", "enabled": False}],
            [
                "rule 'builtin-rcpbind': enabled: false without match and action switches off a "
                "built-in rule, but there is no built-in rule 'builtin-rcpbind' (built-in ids: "
                "builtin-rpcbind, builtin-telnet, builtin-nfs, builtin-mysql, builtin-postgresql, "
                "builtin-redis, builtin-elasticsearch, builtin-memcached, builtin-mongodb, "
                "builtin-smb, builtin-mdns, builtin-admin)"
            ],
            id="switch-off-unknown-builtin",
        ),
        pytest.param(
            [{"id": "builtin-memcached", "action": "allow"}],
            [
                "rule 'builtin-memcached': match is required "
                "(a rule with a built-in id replaces that rule entirely)"
            ],
            id="partial-builtin-override",
        ),
        pytest.param(
            [
                {
                    "id": "all",
                    "match": {"ports": ["x"], "protocols": ["sctp"], "unit": ["a"]},
                    "action": "restrict",
                    "sources": ["example.org"],
                    "enabled": 1,
                }
            ],
            [
                "rule 'all': enabled must be true or false, got 1",
                "rule 'all': match: unknown key 'unit' (known: containers, images, ports, "
                "processes, protocols, units)",
                "rule 'all': match.ports: 'x' is not a port or port range "
                "(write 80 or '1000-2000')",
                "rule 'all': match.protocols: 'sctp' is not a protocol (tcp, udp)",
                "rule 'all': sources: 'example.org' is not an IP address or CIDR network "
                "(hostnames are not accepted)",
            ],
            id="every-error-reported",
        ),
    ],
)
def test_validate_policy_rules(rules, expected):
    assert validate_policy(rules, "report") == expected


@pytest.mark.parametrize(
    "default_action,expected",
    [
        ("allow", []),
        ("report", []),
        ("block", []),
        (
            "disable",
            [
                "default_action 'disable' cannot be a default: it would apply to every listener "
                "no rule names; use allow, block or report, and write rules for what to disable "
                "or restrict"
            ],
        ),
        (
            "restrict",
            [
                "default_action 'restrict' cannot be a default: it would apply to every listener "
                "no rule names; use allow, block or report, and write rules for what to disable "
                "or restrict"
            ],
        ),
        ("deny", ["default_action 'deny' is not one of allow, block, report"]),
        (None, ["default_action None is not one of allow, block, report"]),
        (["block"], ["default_action a list is not one of allow, block, report"]),
    ],
)
def test_validate_policy_default_action(default_action, expected):
    assert validate_policy([], default_action) == expected


def test_validate_policy_reports_default_action_and_rules_together():
    assert validate_policy([rule("x", ports=[0])], "disable") == [
        "default_action 'disable' cannot be a default: it would apply to every listener no rule "
        "names; use allow, block or report, and write rules for what to disable or restrict",
        "rule 'x': match.ports: 0 is not a port (1-65535)",
    ]


# ---------------------------------------------------------------------------
# Which rule judges a socket


def judged_by(socket, rules, use_builtin=False):
    """(rule id, action) that evaluate gave one exposed socket."""
    result = evaluate([socket], rules, "allow", use_builtin)
    entries = result["findings"] + result["allowed"]
    assert len(entries) == 1
    entry = entries[0]
    return entry["rule"], entry.get("action", "allow")


MYSQL = sock("tcp", "0.0.0.0", 3306, "mysqld.service", [(300, "mysqld")])
RPC_UDP = sock("udp", "::", 111, **RPCBIND)
ADMIN = sock("tcp", "0.0.0.0", 8080, "lab-admin.service", [(90, "python3")])


@pytest.mark.parametrize(
    "socket,rules,expected",
    [
        pytest.param(MYSQL, [rule("r", ports=["3000-3999"])], ("r", "block"), id="port-range"),
        pytest.param(MYSQL, [rule("r", ports=[3307, "1-3305"])], ("default", "allow"), id="miss"),
        pytest.param(
            RPC_UDP, [rule("r", ports=[111])], ("r", "block"), id="protocols-default-both"
        ),
        pytest.param(
            RPC_UDP,
            [rule("r", ports=[111], protocols=["tcp"])],
            ("default", "allow"),
            id="tcp-only",
        ),
        pytest.param(MYSQL, [rule("r", units=["mysql*.service"])], ("r", "block"), id="unit-glob"),
        pytest.param(MYSQL, [rule("r", units=["MySQL*"])], ("default", "allow"), id="case-matters"),
        pytest.param(
            RPC_UDP, [rule("r", units=["rpcbind.socket"])], ("r", "block"), id="unit-activated-by"
        ),
        pytest.param(ADMIN, [rule("r", processes=["python*"])], ("r", "block"), id="process-glob"),
        pytest.param(
            RPC_UDP, [rule("r", processes=["rpcbind"])], ("r", "block"), id="any-process-name"
        ),
        pytest.param(
            ADMIN,
            [rule("r", ports=[8080], processes=["nginx"])],
            ("default", "allow"),
            id="all-conditions",
        ),
        pytest.param(
            sock("tcp", "0.0.0.0", 9000),
            [rule("r", units=["*"])],
            ("default", "allow"),
            id="no-unit-never-matches-units",
        ),
        pytest.param(
            ADMIN,
            [rule("first", "report", ports=[8080]), rule("second", ports=[8080])],
            ("first", "report"),
            id="first-match-wins",
        ),
        pytest.param(
            ADMIN,
            [dict(rule("off", "report", ports=[8080]), enabled=False), rule("on", ports=[8080])],
            ("on", "block"),
            id="disabled-rule-skipped",
        ),
    ],
)
def test_rule_matching(socket, rules, expected):
    assert judged_by(socket, rules) == expected


@pytest.mark.parametrize(
    "rules,use_builtin,expected",
    [
        pytest.param([], True, ("builtin-admin", "block"), id="builtin"),
        pytest.param([], False, ("default", "allow"), id="builtins-off"),
        pytest.param(
            [rule("admin-ok", "report", ports=[8080])],
            True,
            ("admin-ok", "report"),
            id="user-first",
        ),
        pytest.param(
            [rule("builtin-admin", "report", ports=[8081])],
            True,
            ("default", "allow"),
            id="override-replaces",
        ),
        pytest.param(
            [{"id": "builtin-admin", "enabled": False}], True, ("default", "allow"), id="switch-off"
        ),
        pytest.param(
            [dict(rule("builtin-admin", "report", ports=[8080]), enabled=False)],
            True,
            ("default", "allow"),
            id="disabled-override",
        ),
    ],
)
def test_builtin_precedence(rules, use_builtin, expected):
    assert judged_by(ADMIN, rules, use_builtin) == expected


def test_reason_of_rules_and_default():
    result = evaluate(
        [ADMIN, MYSQL, sock("tcp", "0.0.0.0", 9999)],
        [rule("py", "report", processes=["python3"])],
        "report",
    )
    assert [(f["rule"], f["reason"]) for f in result["findings"]] == [
        ("builtin-mysql", builtin_rules()[3]["reason"]),
        ("py", "rule 'py' (no reason given)"),
        ("default", "no rule matches; default_action is 'report'"),
    ]


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


# ---------------------------------------------------------------------------
# firewalld


@pytest.mark.parametrize(
    "text,expected",
    [
        pytest.param(
            RICH_MC,
            {
                "family": "ipv4",
                "source": "10.0.0.0/8",
                "element": "ports",
                "ports": [("tcp", 11211, 11211)],
                "action": "accept",
            },
            id="port-from-source",
        ),
        pytest.param(
            'rule source NOT address="192.0.2.0/24" port port="6000-6010" protocol="udp" drop',
            {
                "source": "192.0.2.0/24",
                "source_not": True,
                "ports": [("udp", 6000, 6010)],
                "action": "drop",
            },
            id="not-source-range",
        ),
        pytest.param(
            'rule family="ipv6" service name="http" log prefix="web in" level="info" limit '
            'value="1/m" accept',
            {"family": "ipv6", "element": "service", "service": "http", "action": "accept"},
            id="service-with-log",
        ),
        pytest.param(
            'rule source ipset="admins" accept',
            {"source": "ipset:admins", "element": "any", "action": "accept"},
            id="ipset-everything",
        ),
        pytest.param(
            'rule protocol value="tcp" reject type="icmp-host-prohibited"',
            {"element": "protocol", "protocol": "tcp", "action": "reject"},
            id="protocol",
        ),
        pytest.param(
            'rule destination address="192.0.2.1" port port="80" protocol="tcp" accept',
            {"destination": True, "element": "ports", "action": "accept"},
            id="destination",
        ),
        pytest.param('rule icmp-block name="echo-request"', {"element": "other"}, id="icmp"),
        pytest.param('rule family="ipv4" masquerade', {"element": "other"}, id="masquerade"),
        pytest.param('rule forward-port port="80" protocol="tcp" to-port="8080"', None, id="fwd"),
        pytest.param('rule source-port port="53" protocol="udp" accept', None, id="source-port"),
        pytest.param(
            'rule family="ipv4" priority="-20" source address="10.0.0.0/8" accept',
            {"priority": -20, "source": "10.0.0.0/8", "element": "any"},
            id="priority",
        ),
        pytest.param('rule priority="high" accept', None, id="bad-priority"),
        pytest.param('rule family="ipv5" accept', None, id="bad-family"),
        pytest.param('rule port port="80" accept', None, id="port-without-protocol"),
        pytest.param('rule source address="10.0.0.0/8 accept', None, id="unbalanced-quote"),
        pytest.param('family="ipv4" rule accept', None, id="attribute-first"),
        pytest.param("accept", None, id="not-a-rule"),
        pytest.param("", None, id="empty"),
        pytest.param(None, None, id="none"),
    ],
)
def test_parse_rich_rule(text, expected):
    parsed = parse_rich_rule(text)
    if expected is None:
        assert parsed is None
    else:
        assert dict((k, parsed[k]) for k in expected) == expected
        assert parsed["text"] == text


def test_parse_rich_rule_full_shape():
    assert parse_rich_rule('rule port port="22" protocol="tcp" accept') == {
        "text": 'rule port port="22" protocol="tcp" accept',
        "family": None,
        "priority": 0,
        "source": None,
        "source_not": False,
        "destination": False,
        "element": "ports",
        "ports": [("tcp", 22, 22)],
        "service": None,
        "protocol": None,
        "action": "accept",
    }


# What the role adds for a plan restricting 11211/tcp to 10.0.0.0/8.
REMEDIATED_RESTRICT = [
    'rule family="ipv4" priority="-20" source address="10.0.0.0/8" port port="11211" '
    'protocol="tcp" accept',
    'rule priority="-10" port port="11211" protocol="tcp" reject',
]
MC4 = sock("tcp", "0.0.0.0", 11211)
MC6 = sock("tcp", "::", 11211)
MC_DUAL = sock("tcp", "::", 11211, v6only=False)


@pytest.mark.parametrize(
    "socket,firewall,expected",
    [
        pytest.param(MC4, None, ("everyone", [], ["no firewall state given"]), id="unknown"),
        pytest.param(
            MC4, {"state": "stopped"}, ("everyone", [], ["firewalld is stopped"]), id="stopped"
        ),
        pytest.param(
            MC4, {"state": "absent"}, ("everyone", [], ["firewalld is absent"]), id="absent"
        ),
        pytest.param(MC4, running(zone()), ("closed", [], []), id="closed"),
        pytest.param(
            MC4,
            running(zone(ports=["11000-12000/tcp"])),
            ("everyone", [], ["zone 'public' opens 11211/tcp"]),
            id="port-range",
        ),
        pytest.param(MC4, running(zone(ports=["11211/udp"])), ("closed", [], []), id="other-proto"),
        pytest.param(
            MC4,
            running(zone(services_ports=["11211/tcp"])),
            ("everyone", [], ["zone 'public' allows a service on 11211/tcp"]),
            id="service",
        ),
        pytest.param(
            MC4,
            running(zone(target="ACCEPT")),
            ("everyone", [], ["zone 'public' has target ACCEPT"]),
            id="target-accept",
        ),
        pytest.param(
            MC4,
            running(zone(ports=["11211/tcp"], active=False)),
            ("closed", [], []),
            id="inactive-zone",
        ),
        pytest.param(
            MC4, running(zone(rich_rules=[RICH_MC])), ("restricted", ["10.0.0.0/8"], []), id="rich"
        ),
        pytest.param(
            MC6, running(zone(rich_rules=[RICH_MC])), ("closed", [], []), id="rich-v4-only"
        ),
        pytest.param(
            MC_DUAL,
            running(zone(rich_rules=[RICH_MC])),
            ("restricted", ["10.0.0.0/8"], []),
            id="dual-stack",
        ),
        pytest.param(
            MC6,
            running(zone(rich_rules=['rule source address="2001:db8::/32" accept'])),
            ("restricted", ["2001:db8::/32"], []),
            id="rich-source-everything",
        ),
        pytest.param(
            MC4,
            running(
                zone(
                    rich_rules=[
                        'rule source NOT address="10.0.0.0/8" port port="11211" '
                        'protocol="tcp" accept'
                    ]
                )
            ),
            (
                "everyone",
                [],
                [
                    "zone 'public' rich rule: rule source NOT address=\"10.0.0.0/8\" "
                    'port port="11211" protocol="tcp" accept'
                ],
            ),
            id="rich-not-source",
        ),
        pytest.param(
            MC4,
            running(
                zone(ports=["11211/tcp"], rich_rules=['rule port port="11211" protocol="tcp" drop'])
            ),
            ("closed", [], []),
            id="drop-beats-port",
        ),
        pytest.param(
            MC4,
            running(
                zone(
                    ports=["11211/tcp"],
                    rich_rules=[
                        'rule source address="192.0.2.0/24" port port="11211" protocol="tcp" reject'
                    ],
                )
            ),
            ("everyone", [], ["zone 'public' opens 11211/tcp"]),
            id="reject-from-source-leaves-open",
        ),
        pytest.param(
            MC_DUAL,
            running(
                zone(
                    ports=["11211/tcp"], rich_rules=['rule family="ipv6" protocol value="tcp" drop']
                )
            ),
            ("everyone", [], ["zone 'public' opens 11211/tcp"]),
            id="drop-ipv6-only",
        ),
        pytest.param(
            MC4,
            running(zone("internal", ports=["11211/tcp"], sources=["10.1.0.0/16"], interfaces=[])),
            ("restricted", ["10.1.0.0/16"], []),
            id="source-zone",
        ),
        pytest.param(
            MC4,
            running(zone("trusted", target="ACCEPT", sources=["0.0.0.0/0"], interfaces=[])),
            ("everyone", [], ["zone 'trusted' has target ACCEPT"]),
            id="source-zone-everyone",
        ),
        pytest.param(
            MC4,
            running(
                zone("internal", ports=["11211/tcp"], sources=["10.1.0.0/16"], interfaces=[]),
                zone(rich_rules=[RICH_MC]),
            ),
            ("restricted", ["10.0.0.0/8", "10.1.0.0/16"], []),
            id="sources-of-all-zones",
        ),
        pytest.param(
            MC4,
            running(
                zone(rich_rules=['rule family="ipv4" service name="memcache" accept']),
                services={"memcache": ["11211/tcp"]},
            ),
            (
                "everyone",
                [],
                ['zone \'public\' rich rule: rule family="ipv4" service name="memcache" accept'],
            ),
            id="rich-service-resolved",
        ),
        pytest.param(
            MC4,
            running(zone(services_ports=["11211/tcp"], rich_rules=REMEDIATED_RESTRICT)),
            ("restricted", ["10.0.0.0/8"], []),
            id="priority-restrict-before-reject",
        ),
        pytest.param(
            MC4,
            running(zone(target="ACCEPT", rich_rules=[REMEDIATED_RESTRICT[1]])),
            ("closed", [], []),
            id="priority-reject-before-target",
        ),
        pytest.param(
            MC4,
            running(
                zone(
                    rich_rules=[
                        'rule priority="5" port port="11211" protocol="tcp" accept',
                        'rule port port="11211" protocol="tcp" reject',
                    ]
                )
            ),
            ("closed", [], []),
            id="positive-priority-after-reject",
        ),
        pytest.param(
            MC4,
            running(
                zone(
                    rich_rules=[
                        'rule port port="11211" protocol="tcp" drop',
                        'rule priority="-1" port port="11211" protocol="tcp" accept',
                    ]
                )
            ),
            (
                "everyone",
                [],
                [
                    "zone 'public' rich rule: "
                    'rule priority="-1" port port="11211" protocol="tcp" accept'
                ],
            ),
            id="negative-priority-before-drop",
        ),
        pytest.param(
            MC4,
            running(
                zone(rich_rules=['rule forward-port port="80" protocol="tcp" to-port="11211"'])
            ),
            ("closed", [], []),
            id="not-understood-ignored",
        ),
    ],
)
def test_exposure(socket, firewall, expected):
    reach = exposure(socket, parse_firewall(firewall))
    assert (reach["exposure"], reach["sources"], reach["via"]) == expected


def test_parse_firewall_notes_what_it_ignores():
    firewall = running(
        zone(
            ports=["80/tcp", "http", 80],
            rich_rules=[
                'rule forward-port port="80" protocol="tcp" to-port="8080"',
                'rule service name="cockpit" accept',
                'rule service name="http" accept',
            ],
        ),
        services={"http": ["80/tcp", "bad"]},
    )
    assert parse_firewall(firewall)["notes"] == [
        "zone 'public': port 'http' not understood, ignored",
        "zone 'public': port 80 not understood, ignored",
        "zone 'public': rich rule not understood, ignored: "
        'rule forward-port port="80" protocol="tcp" to-port="8080"',
        "zone 'public': rich rule ignored, the ports of service 'cockpit' are not known (add them "
        'to firewall.services): rule service name="cockpit" accept',
        "zone 'public': port 'bad' not understood, ignored",
    ]


def test_firewall_notes_reach_the_result():
    firewall = running(zone(rich_rules=["rule bogus"]))
    result = evaluate([MC4], [], "report", True, {"firewall": firewall})
    assert result["notes"] == ["zone 'public': rich rule not understood, ignored: rule bogus"]


@pytest.mark.parametrize(
    "firewall,errors",
    [
        ("running", ["firewall must be a mapping, got 'running'"]),
        ({"zones": []}, ["firewall.state None is not one of absent, running, stopped"]),
        (
            {"state": "up", "zones": {}, "services": []},
            [
                "firewall.state 'up' is not one of absent, running, stopped",
                "firewall.services must be a mapping, got a list",
                "firewall.zones must be a list, got a mapping",
            ],
        ),
        (
            running("public", zone(ports="80/tcp", rich_rules=None)),
            [
                "firewall.zones[0] must be a mapping, got 'public'",
                "firewall.zones[1].ports must be a list, got '80/tcp'",
            ],
        ),
        (
            running(zone(default="yes")),
            ["firewall.zones[0].default must be true or false, got 'yes'"],
        ),
    ],
)
def test_parse_firewall_errors(firewall, errors):
    with pytest.raises(PolicyError) as raised:
        parse_firewall(firewall)
    assert raised.value.errors == errors
    assert str(raised.value) == "; ".join(errors)


# ---------------------------------------------------------------------------
# Restrict and restricted exposure

MC_RESTRICT = dict(rule("mc", "restrict", ports=[11211]), sources=["10.0.0.0/8", "192.0.2.7"])


def test_restrict_plan_when_exposed_to_everyone():
    result = evaluate(LAB, [MC_RESTRICT], "report", True, lab_context())
    memcached = [f for f in result["findings"] if f["port"] == 11211]
    assert [(f["rule"], f["action"], f["status"], f["sources"]) for f in memcached] == [
        ("mc", "restrict", "open", ["10.0.0.0/8", "192.0.2.7"])
    ]
    assert result["plan"]["firewall_restrict"] == [
        {"port": 11211, "protocol": "tcp", "sources": ["10.0.0.0/8", "192.0.2.7"], "rules": ["mc"]}
    ]
    assert [b["port"] for b in result["plan"]["firewall_block"]] == [8080]
    # Accepts for the admitted sources, then the rejects of the blocked and restricted ports.
    assert result["plan"]["rich_rules"] == [
        'rule family="ipv4" priority="-20" source address="10.0.0.0/8" port port="11211" '
        'protocol="tcp" accept',
        'rule family="ipv4" priority="-20" source address="192.0.2.7" port port="11211" '
        'protocol="tcp" accept',
        'rule priority="-10" port port="8080" protocol="tcp" reject',
        'rule priority="-10" port port="11211" protocol="tcp" reject',
    ]


@pytest.mark.parametrize(
    "rules,rich,expected",
    [
        pytest.param(
            [MC_RESTRICT], [RICH_MC], ("compliant", "restricted", ["10.0.0.0/8"]), id="restrict-met"
        ),
        pytest.param(
            [MC_RESTRICT],
            ['rule source address="10.20.0.0/16" port port="11211" protocol="tcp" accept'],
            ("compliant", "restricted", ["10.20.0.0/16"]),
            id="narrower-sources",
        ),
        pytest.param(
            [MC_RESTRICT],
            [RICH_MC, 'rule source address="198.51.100.0/24" accept'],
            ("finding", "open", ["10.0.0.0/8", "198.51.100.0/24"]),
            id="extra-source",
        ),
        pytest.param(
            [MC_RESTRICT],
            ['rule source ipset="office" accept'],
            ("finding", "open", ["ipset:office"]),
            id="ipset-unknown",
        ),
        pytest.param([], [RICH_MC], ("compliant", "restricted", ["10.0.0.0/8"]), id="block-met"),
        pytest.param(
            [rule("mc", "report", ports=[11211])],
            [RICH_MC],
            ("finding", "open", ["10.0.0.0/8"]),
            id="report-restricted",
        ),
        pytest.param(
            [rule("mc", "allow", ports=[11211])],
            [RICH_MC],
            ("allowed", None, None),
            id="allow-restricted",
        ),
    ],
)
def test_restricted_exposure(rules, rich, expected):
    context = {"firewall": running(zone(rich_rules=rich))}
    result = evaluate([MC4], rules, "report", True, context)
    kind, status, sources = expected
    if kind == "compliant":
        assert [(c["rule"], c["why"], c["exposed_to"]) for c in result["compliant"]] == [
            ("mc" if rules else "builtin-memcached", status, sources)
        ]
    elif kind == "finding":
        assert [(f["status"], f["exposure"], f["exposed_to"]) for f in result["findings"]] == [
            (status, "restricted", sources)
        ]
    else:
        assert [(a["rule"], a["exposure"]) for a in result["allowed"]] == [("mc", "restricted")]
        # Restricted on purpose: never widened by opening the port to everyone.
        assert result["plan"]["firewall_open"] == []


# ---------------------------------------------------------------------------
# Plan


def test_disable_units_mask_every_socket_unit_that_triggers_the_service():
    units = LAB_SOCKET_UNITS + [
        {"unit": "rpcbind-extra.socket", "triggers": ["rpcbind.service"], "active_state": None},
        {"unit": "other.socket", "triggers": ["other.service"]},
    ]
    result = evaluate(LAB, [], "report", True, lab_context(socket_units=units))
    assert result["plan"]["disable_units"] == [
        {
            "unit": "rpcbind.service",
            "socket_units": ["rpcbind-extra.socket", "rpcbind.socket"],
            "rules": ["builtin-rpcbind"],
            "ports": ["111/tcp", "111/udp"],
        }
    ]


def test_disable_units_grouped_per_unit_with_every_rule():
    sockets = [
        sock("tcp", "0.0.0.0", 23, "inetd.service", [(5, "inetd")]),
        sock("tcp", "0.0.0.0", 7, "inetd.service", [(5, "inetd")]),
        sock("udp", "0.0.0.0", 7, "inetd.service", [(5, "inetd")]),
        sock("tcp", "0.0.0.0", 9, "discard.service", [(6, "discard")]),
    ]
    rules = [rule("echo", "disable", ports=[7, 9])]
    result = evaluate(sockets, rules, "report", True, {})
    assert result["plan"]["disable_units"] == [
        {"unit": "discard.service", "socket_units": [], "rules": ["echo"], "ports": ["9/tcp"]},
        {
            "unit": "inetd.service",
            "socket_units": [],
            "rules": ["builtin-telnet", "echo"],
            "ports": ["7/tcp", "7/udp", "23/tcp"],
        },
    ]


def test_conflicting_firewall_actions_on_one_port():
    sockets = [
        sock("tcp", "0.0.0.0", 9000, "a.service", [(10, "a")]),
        sock("tcp", "::", 9000, "b.service", [(11, "b")]),
        sock("tcp", "10.0.0.5", 9000, "c.service", [(12, "c")]),
        sock("tcp", "0.0.0.0", 9100, "a.service", [(10, "a")]),
        sock("tcp", "::", 9100, "b.service", [(11, "b")]),
    ]
    rules = [
        dict(rule("a-restrict", "restrict", units=["a.service"]), sources=["10.0.0.0/8"]),
        rule("b-block", "block", units=["b.service"]),
        rule("c-allow", "allow", units=["c.service"]),
    ]
    result = evaluate(sockets, rules, "report", True, {})
    # 9000 also serves c.service, which the policy allows: no rule closes it, so nothing cuts
    # c.service; 9000's findings are kept, with the reason.
    assert result["plan"]["firewall_block"] == [
        {"port": 9100, "protocol": "tcp", "rules": ["b-block"]},
    ]
    assert result["plan"]["firewall_restrict"] == []
    assert result["plan"]["firewall_open"] == [{"port": 9000, "protocol": "tcp", "why": "allow"}]
    why = (
        "not closed: 9000/tcp also serves listeners the policy keeps (allow), and a firewall "
        "rule would cut them too; stop this listener or move it to another port"
    )
    assert result["notes"] == [
        "9000/tcp: rules a-restrict restrict it but rules b-block block it; it is blocked",
        "9100/tcp: rules a-restrict restrict it but rules b-block block it; it is blocked",
        "9000/tcp: " + why,
    ]
    kept = [f for f in result["findings"] if f["port"] == 9000]
    assert [(f["unit"], f["status"], f["note"]) for f in kept] == [
        ("a.service", "kept", why),
        ("b.service", "kept", why),
    ]


def test_firewall_open_prefers_the_strongest_reason():
    sockets = [
        sock("tcp", "0.0.0.0", 443, "nginx.service", [(72, "nginx")]),
        sock("tcp", "::", 443, "other.service", [(99, "other")]),
        sock("udp", "0.0.0.0", 443, "other.service", [(99, "other")]),
    ]
    rules = [rule("web", "allow", units=["nginx.service"])]
    result = evaluate(sockets, rules, "report", True, {})
    assert result["plan"]["firewall_open"] == [
        {"port": 443, "protocol": "tcp", "why": "allow"},
        {"port": 443, "protocol": "udp", "why": "report"},
    ]


def test_default_block_and_allow():
    other = sock("tcp", "0.0.0.0", 9999, "x.service", [(9, "x")])
    blocked = evaluate([other], [], "block")
    assert brief(blocked["findings"]) == [
        ("default", "tcp", "ipv4", "0.0.0.0", 9999, "block", "open")
    ]
    assert blocked["plan"]["firewall_block"] == [
        {"port": 9999, "protocol": "tcp", "rules": ["default"]}
    ]
    allowed = evaluate([other], [], "allow")
    assert allowed["findings"] == []
    assert allowed["plan"]["firewall_open"] == [{"port": 9999, "protocol": "tcp", "why": "allow"}]


# ---------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize(
    "kwargs,errors",
    [
        pytest.param(
            {"rules": [rule("x", ports=[0])], "default_action": "restrict"},
            [
                "default_action 'restrict' cannot be a default: it would apply to every listener "
                "no rule names; use allow, block or report, and write rules for what to disable "
                "or restrict",
                "rule 'x': match.ports: 0 is not a port (1-65535)",
            ],
            id="policy",
        ),
        pytest.param(
            {"use_builtin": "yes"}, ["use_builtin must be true or false, got 'yes'"], id="builtin"
        ),
        pytest.param(
            {"sockets": {"port": 1}},
            ["sockets: expected a list of listening sockets, got a mapping"],
            id="sockets-mapping",
        ),
        pytest.param(
            {"sockets": [5, {"protocol": "sctp", "family": "ipv4", "address": "::", "port": "22"}]},
            [
                "sockets[0]: expected a mapping, got 5",
                "sockets[1]: protocol 'sctp' is not valid",
                "sockets[1]: port '22' is not valid",
            ],
            id="sockets-entries",
        ),
        pytest.param(
            {"sockets": [{"protocol": "tcp", "port": 22}]},
            ["sockets[0]: missing 'family'", "sockets[0]: missing 'address'"],
            id="sockets-missing",
        ),
        pytest.param(
            {"context": ["ssh"]}, ["context must be a mapping, got a list"], id="context-list"
        ),
        pytest.param(
            {
                "context": {
                    "managment_ports": [],
                    "management_ports": [{"port": "ssh"}, 22, {"port": 22, "protocol": "sctp"}],
                    "management_units": "ssh.service",
                    "nfs_in_use": "yes",
                    "nfs_reason": ["a"],
                    "socket_units": [{"triggers": []}],
                    "firewall": {"state": "on"},
                }
            },
            [
                "context: unknown key 'managment_ports' (known: firewall, firewall_name, reach, "
                "management_ports, management_units, nfs_in_use, nfs_reason, socket_units)",
                "context.nfs_in_use must be true or false, got 'yes'",
                "context.nfs_reason must be a string, got a list",
                "context.management_ports[0]: 'ssh' is not a port (1-65535)",
                "context.management_ports[1]: expected a mapping like {port: 22, protocol: tcp}, "
                "got 22",
                "context.management_ports[2]: 'sctp' is not a protocol (tcp, udp)",
                "context.management_units must be a list of unit names, got 'ssh.service'",
                "context.socket_units[0]: expected a mapping with a unit name "
                "(listening_sockets_meta.systemd.socket_units), got a mapping",
                "context.firewall.state 'on' is not one of absent, running, stopped",
            ],
            id="context-everything",
        ),
    ],
)
def test_evaluate_rejects_bad_input(kwargs, errors):
    arguments = {"sockets": [], "rules": [], "default_action": "report", "use_builtin": True}
    arguments.update(kwargs)
    with pytest.raises(PolicyError) as raised:
        evaluate(**arguments)
    assert raised.value.errors == errors


# ---------------------------------------------------------------------------
# Reconcile


def lab_findings(rules=None, **context):
    return evaluate(LAB, rules, "report", True, lab_context(**context))["findings"]


REMEDIATED_UNITS = [
    dict(LAB_SOCKET_UNITS[0], active_state="inactive", unit_file_state="masked"),
    LAB_SOCKET_UNITS[1],
]
PUBLIC_AFTER = running(zone(services_ports=["22/tcp", "80/tcp"]))
WITHOUT_RPCBIND = [s for s in LAB if s["port"] != 111]


def statuses(findings):
    return [(f["protocol"], f["family"], f["port"], f["status"], f["note"]) for f in findings]


def test_reconcile_everything_remediated():
    findings = lab_findings()
    after = reconcile(findings, WITHOUT_RPCBIND, PUBLIC_AFTER, {"socket_units": REMEDIATED_UNITS})
    assert statuses(after) == [
        ("tcp", "ipv4", 80, "open", None),
        ("tcp", "ipv6", 80, "open", None),
        ("tcp", "ipv4", 111, "remediated", None),
        ("tcp", "ipv6", 111, "remediated", None),
        ("udp", "ipv4", 111, "remediated", None),
        ("udp", "ipv6", 111, "remediated", None),
        ("tcp", "ipv4", 8080, "remediated", None),
        ("tcp", "ipv4", 11211, "remediated", None),
    ]
    # Only status and note change.
    assert [dict(f, status=None, note=None) for f in after] == [
        dict(f, status=None, note=None) for f in findings
    ]


def test_reconcile_failures_say_what_is_still_exposed():
    findings = lab_findings()
    sockets_after = [s for s in LAB if not (s["port"] == 111 and s["protocol"] == "udp")]
    units_after = [dict(LAB_SOCKET_UNITS[0], active_state="inactive")]
    firewall_after = running(zone(ports=["8080/tcp"], services_ports=["22/tcp", "80/tcp"]))
    after = reconcile(findings, sockets_after, firewall_after, {"socket_units": units_after})
    assert statuses(after)[2:] == [
        (
            "tcp",
            "ipv4",
            111,
            "failed",
            "still listening on 0.0.0.0:111/tcp (unit rpcbind.service, held by systemd, rpcbind)",
        ),
        (
            "tcp",
            "ipv6",
            111,
            "failed",
            "still listening on [::]:111/tcp (unit rpcbind.service, held by systemd, rpcbind)",
        ),
        (
            "udp",
            "ipv4",
            111,
            "failed",
            "socket units would reopen 111/udp: rpcbind.socket (inactive, enabled)",
        ),
        (
            "udp",
            "ipv6",
            111,
            "failed",
            "socket units would reopen 111/udp: rpcbind.socket (inactive, enabled)",
        ),
        (
            "tcp",
            "ipv4",
            8080,
            "failed",
            "8080/tcp is still admitted from everyone: zone 'public' opens 8080/tcp",
        ),
        ("tcp", "ipv4", 11211, "remediated", None),
    ]


def test_reconcile_firewalld_still_stopped():
    after = reconcile(lab_findings(), WITHOUT_RPCBIND, {"state": "stopped"})
    assert statuses(after)[6:] == [
        (
            "tcp",
            "ipv4",
            8080,
            "failed",
            "8080/tcp is still admitted from everyone: firewalld is stopped",
        ),
        (
            "tcp",
            "ipv4",
            11211,
            "failed",
            "11211/tcp is still admitted from everyone: firewalld is stopped",
        ),
    ]


def test_reconcile_keeps_the_fallback_note():
    findings = lab_findings(nfs_in_use=True, nfs_reason="NFS mounts: /mnt/data")
    after = reconcile(findings, LAB, {"state": "stopped"})
    assert statuses(after)[2] == (
        "tcp",
        "ipv4",
        111,
        "failed",
        "rpcbind kept running: NFS is in use (NFS mounts: /mnt/data); port 111 blocked in "
        "firewalld instead; 111/tcp is still admitted from everyone: firewalld is stopped",
    )
    after = reconcile(findings, LAB, PUBLIC_AFTER)
    assert [f["status"] for f in after if f["port"] == 111] == ["remediated"] * 4


@pytest.mark.parametrize(
    "rich,status,note",
    [
        pytest.param([RICH_MC], "remediated", None, id="restricted"),
        pytest.param(REMEDIATED_RESTRICT, "remediated", None, id="role-rich-rules"),
        pytest.param(
            [
                RICH_MC,
                'rule source address="198.51.100.0/24" port port="11211" protocol="tcp" accept',
            ],
            "failed",
            "11211/tcp is also admitted from 198.51.100.0/24 (allowed: 10.0.0.0/8)",
            id="extra-source",
        ),
        pytest.param(
            [], "remediated", "11211/tcp is closed to everyone, its sources included", id="closed"
        ),
        pytest.param(
            ['rule port port="11211" protocol="tcp" accept'],
            "failed",
            "11211/tcp is still admitted from everyone: zone 'public' rich rule: "
            'rule port port="11211" protocol="tcp" accept',
            id="everyone",
        ),
    ],
)
def test_reconcile_restrict(rich, status, note):
    rules = [dict(rule("mc", "restrict", ports=[11211]), sources=["10.0.0.0/8"])]
    findings = [f for f in lab_findings(rules) if f["port"] == 11211]
    after = reconcile(findings, LAB, running(zone(rich_rules=rich)))
    assert [(f["status"], f["note"]) for f in after] == [(status, note)]


def test_reconcile_leaves_report_kept_and_finished_findings_alone():
    findings = lab_findings([rule("no-ssh", ports=[22])])
    findings[-1] = dict(findings[-1], status="remediated")
    after = reconcile(findings, LAB, None)
    assert [(f["port"], f["status"]) for f in after] == [
        (22, "kept"),
        (22, "kept"),
        (80, "open"),
        (80, "open"),
        (111, "failed"),
        (111, "failed"),
        (111, "failed"),
        (111, "failed"),
        (8080, "failed"),
        (11211, "remediated"),
    ]


@pytest.mark.parametrize(
    "findings,sockets_after,firewall_after,errors",
    [
        (None, [], None, ["findings: expected the findings list of evaluate, got None"]),
        (
            [{"rule": "x"}, "y"],
            [],
            None,
            [
                "findings[0]: missing protocol, family, address, port, action, status",
                "findings[1]: expected a mapping, got 'y'",
            ],
        ),
        ([], "none", None, ["sockets_after: expected a list of listening sockets, got 'none'"]),
        (
            [],
            [],
            {"state": None},
            ["firewall_after.state None is not one of absent, running, stopped"],
        ),
    ],
)
def test_reconcile_rejects_bad_input(findings, sockets_after, firewall_after, errors):
    with pytest.raises(PolicyError) as raised:
        reconcile(findings, sockets_after, firewall_after)
    assert raised.value.errors == errors


# ---------------------------------------------------------------------------
# Baseline


def listener(protocol, port, unit, scope="any"):
    return {"protocol": protocol, "port": port, "scope": scope, "unit": unit}


# Recorded before go-live: no app on 9000 yet, nginx also on 443 then, rpcbind approved.
LAB_BASELINE = [
    listener("tcp", 22, "ssh.service"),
    listener("tcp", 53, "systemd-resolved.service", "loopback"),
    listener("udp", 53, "systemd-resolved.service", "loopback"),
    listener("tcp", 80, "nginx.service"),
    listener("tcp", 111, "rpcbind.service"),
    listener("udp", 111, "rpcbind.service"),
    listener("tcp", 443, "nginx.service"),
    listener("tcp", 8080, "lab-admin.service"),
]
APP = sock("tcp", "0.0.0.0", 9000, "app.service", [(500, "app")])
DRIFT_REASON = "exposed listener not in the approved baseline"


def test_lab_host_with_baseline():
    result = evaluate(LAB + [APP], None, "report", True, lab_context(), LAB_BASELINE)
    assert brief(result["findings"]) == [
        ("builtin-rpcbind", "tcp", "ipv4", "0.0.0.0", 111, "disable", "open"),
        ("builtin-rpcbind", "tcp", "ipv6", "::", 111, "disable", "open"),
        ("builtin-rpcbind", "udp", "ipv4", "0.0.0.0", 111, "disable", "open"),
        ("builtin-rpcbind", "udp", "ipv6", "::", 111, "disable", "open"),
        ("builtin-admin", "tcp", "ipv4", "0.0.0.0", 8080, "block", "open"),
        ("drift", "tcp", "ipv4", "0.0.0.0", 9000, "report", "open"),
        ("builtin-memcached", "tcp", "ipv4", "0.0.0.0", 11211, "block", "open"),
    ]
    assert result["findings"][5] == {
        "rule": "drift",
        "reason": DRIFT_REASON,
        "protocol": "tcp",
        "family": "ipv4",
        "address": "0.0.0.0",
        "port": 9000,
        "scope": "any",
        "interface": None,
        "processes": ["app"],
        "pids": [500],
        "unit": "app.service",
        "activated_by": [],
        "policy_action": "report",
        "action": "report",
        "status": "open",
        "note": None,
        "sources": [],
        "exposure": "everyone",
        "exposed_to": [],
    }
    assert [(a["rule"], a["family"], a["port"], a["management"]) for a in result["allowed"]] == [
        ("baseline", "ipv4", 22, True),
        ("baseline", "ipv6", 22, True),
        ("baseline", "ipv4", 80, False),
        ("baseline", "ipv6", 80, False),
    ]
    assert [(c["port"], c["why"]) for c in result["compliant"]] == [(53, "loopback")] * 2
    assert result["plan"]["firewall_open"] == [
        {"port": 22, "protocol": "tcp", "why": "management"},
        {"port": 80, "protocol": "tcp", "why": "allow"},
        {"port": 9000, "protocol": "tcp", "why": "report"},
    ]
    assert result["summary"] == {
        "open": 7,
        "kept": 0,
        "allowed": 4,
        "compliant": 2,
        "by_action": {"block": 2, "disable": 4, "report": 1, "restrict": 0},
        "drift": 1,
    }
    assert result["baseline"] == {"given": True, "missing": [listener("tcp", 443, "nginx.service")]}


def test_without_baseline_nothing_is_drift():
    result = evaluate(LAB + [APP], None, "report", True, lab_context())
    assert [(f["rule"], f["port"]) for f in result["findings"] if f["port"] == 9000] == [
        ("default", 9000)
    ]
    assert result["baseline"] == {"given": False, "missing": []}
    assert "drift" not in result["summary"]


def judged_with_baseline(socket, rules=(), baseline=None, **kwargs):
    """(kind, rule id, action, status or why) evaluate gave one socket with a baseline.

    The baseline is LAB_BASELINE unless given.
    """
    if baseline is None:
        baseline = LAB_BASELINE
    arguments = {"default_action": "report", "use_builtin": True, "context": lab_context()}
    arguments.update(kwargs)
    result = evaluate([socket], list(rules), baseline=baseline, **arguments)
    judged = [("finding", f["rule"], f["action"], f["status"]) for f in result["findings"]]
    judged += [("allowed", a["rule"], "allow", a["management"]) for a in result["allowed"]]
    judged += [("compliant", c["rule"], None, c["why"]) for c in result["compliant"]]
    assert len(judged) == 1
    return judged[0]


NGINX = sock("tcp", "0.0.0.0", 80, "nginx.service", [(72, "nginx")])
WEB_ALLOW = rule("web", "allow", ports=[80, 9000])


@pytest.mark.parametrize(
    "socket,kwargs,expected",
    [
        pytest.param(NGINX, {}, ("allowed", "baseline", "allow", False), id="in-baseline"),
        pytest.param(
            sock("tcp", "::", 80, "nginx.service"),
            {},
            ("allowed", "baseline", "allow", False),
            id="other-family-same-entry",
        ),
        pytest.param(APP, {}, ("finding", "drift", "report", "open"), id="not-in-baseline"),
        pytest.param(
            sock("tcp", "0.0.0.0", 80, "apache2.service"),
            {},
            ("finding", "drift", "report", "open"),
            id="other-unit-same-port",
        ),
        pytest.param(
            sock("tcp", "10.0.0.5", 80, "nginx.service"),
            {},
            ("finding", "drift", "report", "open"),
            id="wider-scope-than-approved",
        ),
        pytest.param(
            sock("tcp", "0.0.0.0", 80), {}, ("finding", "drift", "report", "open"), id="no-unit"
        ),
        pytest.param(
            NGINX, {"baseline": []}, ("finding", "drift", "report", "open"), id="empty-baseline"
        ),
        pytest.param(
            APP,
            {"default_action": "block"},
            ("finding", "drift", "report", "open"),
            id="baseline-replaces-default-block",
        ),
        pytest.param(
            APP,
            {"default_action": "allow"},
            ("finding", "drift", "report", "open"),
            id="baseline-replaces-default-allow",
        ),
        pytest.param(
            sock("udp", "::", 111, **RPCBIND),
            {},
            ("finding", "builtin-rpcbind", "disable", "open"),
            id="builtin-disable-beats-baseline",
        ),
        pytest.param(
            sock("tcp", "0.0.0.0", 8080, "lab-admin.service"),
            {},
            ("finding", "builtin-admin", "block", "open"),
            id="builtin-block-beats-baseline",
        ),
        pytest.param(
            sock("udp", "::", 111, **RPCBIND),
            {"use_builtin": False},
            ("allowed", "baseline", "allow", False),
            id="builtins-off",
        ),
        pytest.param(
            NGINX,
            {"rules": [rule("web", "report", ports=[80])]},
            ("finding", "web", "report", "open"),
            id="user-report-beats-baseline",
        ),
        pytest.param(
            NGINX,
            {"rules": [rule("web", "block", ports=[80])]},
            ("finding", "web", "block", "open"),
            id="user-block-beats-baseline",
        ),
        pytest.param(
            APP,
            {"rules": [WEB_ALLOW]},
            ("allowed", "web", "allow", False),
            id="user-allow-approves-drift",
        ),
        pytest.param(
            NGINX,
            {"rules": [WEB_ALLOW]},
            ("allowed", "web", "allow", False),
            id="user-allow-named-over-baseline",
        ),
        pytest.param(
            sock("tcp", "0.0.0.0", 22, "ssh.service"),
            {},
            ("allowed", "baseline", "allow", True),
            id="management-in-baseline",
        ),
        pytest.param(
            sock("tcp", "0.0.0.0", 2222, "ssh.service"),
            {},
            ("allowed", "drift", "allow", True),
            id="management-drift-still-allowed",
        ),
        pytest.param(
            sock("tcp", "0.0.0.0", 22, "ssh.service"),
            {"rules": [rule("no-ssh", ports=[22])]},
            ("finding", "no-ssh", "report", "kept"),
            id="management-kept-under-block-rule",
        ),
        pytest.param(
            APP,
            {"context": lab_context(firewall=running(zone()))},
            ("compliant", None, None, "firewalled"),
            id="firewalled-drift-is-compliant",
        ),
        pytest.param(
            sock("tcp", "127.0.0.1", 9000, "app.service"),
            {},
            ("compliant", None, None, "loopback"),
            id="loopback-drift-is-compliant",
        ),
        pytest.param(
            APP,
            {
                "context": lab_context(
                    firewall=running(zone(rich_rules=[RICH_MC.replace("11211", "9000")]))
                )
            },
            ("finding", "drift", "report", "open"),
            id="restricted-drift-is-a-finding",
        ),
    ],
)
def test_judged_with_baseline(socket, kwargs, expected):
    assert judged_with_baseline(socket, **kwargs) == expected


def test_baseline_missing_is_information_only():
    # Every LAB listener but nginx's is gone: nothing to find, two entries missing.
    result = evaluate([NGINX], [], "report", True, lab_context(), LAB_BASELINE[:4])
    assert result["findings"] == []
    assert result["baseline"]["missing"] == [
        listener("tcp", 22, "ssh.service"),
        listener("tcp", 53, "systemd-resolved.service", "loopback"),
        listener("udp", 53, "systemd-resolved.service", "loopback"),
    ]
    assert result["summary"]["drift"] == 0
    assert result["summary"]["open"] == 0


def test_drift_count_is_only_drift_findings():
    sockets = [APP, sock("udp", "0.0.0.0", 9001, "app.service"), MYSQL, NGINX]
    result = evaluate(sockets, [rule("web", "report", ports=[80])], "report", True, {}, [])
    assert [(f["rule"], f["port"]) for f in result["findings"]] == [
        ("web", 80),
        ("builtin-mysql", 3306),
        ("drift", 9000),
        ("drift", 9001),
    ]
    assert result["summary"]["drift"] == 2
    assert result["summary"]["by_action"]["report"] == 3


def test_baseline_does_not_change_its_inputs():
    sockets, baseline = copy.deepcopy(LAB + [APP]), copy.deepcopy(LAB_BASELINE)
    result = evaluate(sockets, None, "report", True, lab_context(), baseline)
    result["baseline"]["missing"][0]["port"] = 1
    assert (sockets, baseline) == (LAB + [APP], LAB_BASELINE)


@pytest.mark.parametrize(
    "rules,baseline,errors",
    [
        pytest.param(
            [],
            {"listeners": []},
            ["baseline must be a list of listeners, got a mapping"],
            id="document-not-listeners",
        ),
        pytest.param(
            [rule("x", ports=[0])],
            [{"protocol": "tcp", "port": "80", "scope": "any"}],
            [
                "rule 'x': match.ports: 0 is not a port (1-65535)",
                "baseline[0]: missing 'unit' (write unit: null for a listener without a systemd "
                "unit)",
                "baseline[0].port '80' is not a port (an integer 1-65535)",
            ],
            id="with-rule-errors",
        ),
        pytest.param(
            [rule("drift", "allow", ports=[80]), rule("baseline", "report", ports=[81])],
            [],
            [
                "rule 'drift': id 'drift' is reserved for the baseline when one is given; "
                "rename the rule",
                "rule 'baseline': id 'baseline' is reserved for the baseline when one is given; "
                "rename the rule",
            ],
            id="reserved-ids",
        ),
    ],
)
def test_evaluate_rejects_bad_baseline(rules, baseline, errors):
    with pytest.raises(PolicyError) as raised:
        evaluate([NGINX], rules, "report", True, None, baseline)
    assert raised.value.errors == errors


def test_reserved_ids_are_free_without_a_baseline():
    result = evaluate([NGINX], [rule("drift", "allow", ports=[80])], "report", True)
    assert [a["rule"] for a in result["allowed"]] == ["drift"]
