# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The built-in rules, validation of the user's rules, and which rule judges a socket."""

import pytest
from ansible_collections.portguard.hardening.plugins.plugin_utils._policy import (
    builtin_rules,
    evaluate,
    validate_policy,
)
from policy_cases import (
    ACTIONS,
    KNOWN,
    MYSQL,
    RPCBIND,
    rule,
    sock,
)

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
