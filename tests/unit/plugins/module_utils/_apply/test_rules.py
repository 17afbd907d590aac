# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rules a backend applies: every bad value named by its field, the normal form."""

import pytest
from ansible_collections.portguard.hardening.plugins.module_utils._apply.rules import validate
from ansible_collections.portguard.hardening.plugins.module_utils._values import PolicyError

EXAMPLE = [
    {"port": 8080, "protocol": "tcp", "action": "block", "ids": ["r1", "bad id"]},
    {
        "port": 11211,
        "protocol": "tcp",
        "action": "restrict",
        "sources": ["192.0.2.1", "10.0.0.0/8", "10.1.0.0/16", "2001:db8::/32"],
        "ids": ["memcached"],
    },
    {"port": 161, "protocol": "udp", "action": "block"},
]
KEEP = [{"port": 22, "protocol": "tcp"}]


@pytest.mark.parametrize(
    "rules, keep, message",
    [
        ("8080", [], "rules: expected a list, got '8080'"),
        (["8080/tcp"], [], "rules[0]: expected a mapping, got '8080/tcp'"),
        ([{"port": 80, "protocol": "tcp"}], [], "rules[0]: missing action"),
        (
            [{"port": 80, "protocol": "tcp", "action": "block", "source": []}],
            [],
            "rules[0]: unknown key(s) source (known: port, protocol, action, sources, ids, "
            "forwarded)",
        ),
        (
            [{"port": "80", "protocol": "tcp", "action": "block"}],
            [],
            "rules[0].port: expected an integer from 1 to 65535, got '80'",
        ),
        (
            [{"port": 0, "protocol": "tcp", "action": "block"}],
            [],
            "rules[0].port: expected an integer from 1 to 65535, got 0",
        ),
        (
            [{"port": True, "protocol": "tcp", "action": "block"}],
            [],
            "rules[0].port: expected an integer from 1 to 65535, got True",
        ),
        (
            [{"port": 80, "protocol": "TCP", "action": "block"}],
            [],
            "rules[0].protocol: expected one of tcp, udp, got 'TCP'",
        ),
        (
            [{"port": 80, "protocol": "tcp", "action": "disable"}],
            [],
            "rules[0].action: expected one of block, restrict, got 'disable'",
        ),
        (
            [{"port": 80, "protocol": "tcp", "action": "restrict"}],
            [],
            "rules[0].sources: expected a non-empty list of addresses or networks, got None",
        ),
        (
            [{"port": 80, "protocol": "tcp", "action": "restrict", "sources": []}],
            [],
            "rules[0].sources: expected a non-empty list of addresses or networks, got a list",
        ),
        (
            [
                {"port": 80, "protocol": "tcp", "action": "block"},
                {"port": 81, "protocol": "tcp", "action": "restrict", "sources": ["ok", "1.2.3.4"]},
            ],
            [],
            "rules[1].sources[0]: 'ok' is not an IP address or CIDR network (hostnames are not "
            "accepted)",
        ),
        (
            [{"port": 80, "protocol": "tcp", "action": "restrict", "sources": ["10.0.0.1/8"]}],
            [],
            "rules[0].sources[0]: '10.0.0.1/8' has host bits set: write '10.0.0.0/8' for the "
            "network or '10.0.0.1' for the one address",
        ),
        (
            [{"port": 80, "protocol": "tcp", "action": "restrict", "sources": ['1.2.3.4" accept']}],
            [],
            "rules[0].sources[0]: '1.2.3.4\" accept' is not an IP address or CIDR network: it "
            "contains '\"'",
        ),
        (
            [{"port": 80, "protocol": "tcp", "action": "block", "sources": ["10.0.0.0/8"]}],
            [],
            "rules[0].sources: only a restrict rule takes sources, got a list",
        ),
        (
            [{"port": 80, "protocol": "tcp", "action": "block", "ids": "r1"}],
            [],
            "rules[0].ids: expected a list of rule ids, got 'r1'",
        ),
        (
            [
                {"port": 80, "protocol": "tcp", "action": "block"},
                {"port": 80, "protocol": "udp", "action": "block"},
                {"port": 80, "protocol": "tcp", "action": "restrict", "sources": ["10.0.0.1"]},
            ],
            [],
            "rules[2]: 80/tcp is also closed by rules[0]; give a port one rule",
        ),
        ([], "22/tcp", "keep: expected a list, got '22/tcp'"),
        ([], [{"port": 22}], "keep[0]: missing protocol"),
        ([], [{"port": 22, "protocol": "sctp"}], "keep[0].protocol: expected one of tcp, udp"),
    ],
)
def test_bad_input_names_the_field(rules, keep, message):
    with pytest.raises(PolicyError) as info:
        validate(rules, keep)
    assert any(error.startswith(message) for error in info.value.errors), info.value.errors


def test_every_problem_is_reported_at_once():
    rules = [
        {"port": 70000, "protocol": "icmp", "action": "block"},
        {"port": 80, "protocol": "tcp", "action": "restrict", "sources": ["x", "::1", "y"]},
    ]
    with pytest.raises(PolicyError) as info:
        validate(rules, [{"port": "22", "protocol": "tcp"}])
    assert [error.split(":")[0] for error in info.value.errors] == [
        "keep[0].port",
        "rules[0].port",
        "rules[0].protocol",
        "rules[1].sources[0]",
        "rules[1].sources[2]",
    ]


def test_the_same_port_over_udp_is_not_the_kept_one():
    rules, _warnings = validate([{"port": 22, "protocol": "udp", "action": "block"}], KEEP)
    assert [(r["port"], r["protocol"]) for r in rules] == [(22, "udp")]


def test_normal_form():
    rules, warnings = validate(EXAMPLE, KEEP)
    assert [(r["port"], r["protocol"], r["action"]) for r in rules] == [
        (161, "udp", "block"),
        (8080, "tcp", "block"),
        (11211, "tcp", "restrict"),
    ]
    assert rules[2]["sources"] == ["10.0.0.0/8", "192.0.2.1", "2001:db8::/32"]
    assert (rules[2]["ipv4"], rules[2]["ipv6"]) == (["10.0.0.0/8", "192.0.2.1"], ["2001:db8::/32"])
    assert rules[1]["ids"] == ["r1"]
    assert warnings == [
        "rules[0].ids[1]: 'bad id' left out of the table's comments (an id is 1 to 64 letters, "
        "digits or _ . : -)"
    ]


def test_forwarded_is_true_or_false_and_false_when_not_given():
    (rule,), _warnings = validate([{"port": 9090, "protocol": "tcp", "action": "block"}])
    assert rule["forwarded"] is False
    with pytest.raises(PolicyError) as raised:
        validate([{"port": 9090, "protocol": "tcp", "action": "block", "forwarded": "yes"}])
    assert raised.value.errors == ["rules[0].forwarded: expected true or false, got 'yes'"]
