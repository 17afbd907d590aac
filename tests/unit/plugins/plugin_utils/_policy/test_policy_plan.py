# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The policy's plan (units to disable, firewall changes), and bad input to evaluate()."""

import pytest
from ansible_collections.portguard.hardening.plugins.plugin_utils._policy import (
    PolicyError,
    evaluate,
)
from policy_cases import (
    LAB,
    LAB_SOCKET_UNITS,
    brief,
    lab_context,
    rule,
    sock,
)

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
