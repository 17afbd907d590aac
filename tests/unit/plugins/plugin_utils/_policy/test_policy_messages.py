# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every policy error names the rule (by id, or by position without a usable id) and the field,
and the role's argument spec leaves the checks that name the rule to the role."""

import os

import pytest
import yaml
from ansible_collections.portguard.hardening.plugins.plugin_utils._policy import validate_policy

REPO = os.path.abspath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "..")
)
ACTIONS = "allow, block, disable, report, restrict"
WEB = {"ports": [80]}


@pytest.mark.parametrize(
    "rule,expected",
    [
        pytest.param(
            {"id": "web", "match": WEB},
            [f"rule 'web': action is required (one of {ACTIONS})"],
            id="missing-action",
        ),
        pytest.param(
            {"id": "web", "match": WEB, "action": "drop"},
            [f"rule 'web': action 'drop' is not one of {ACTIONS}"],
            id="unknown-action",
        ),
        pytest.param(
            {"id": "web", "action": "block"},
            ["rule 'web': match is required"],
            id="missing-match",
        ),
        pytest.param(
            {"id": "web", "match": [80], "action": "block"},
            ["rule 'web': match must be a mapping, got a list"],
            id="match-not-a-mapping",
        ),
        pytest.param(
            {"id": "web", "match": {"protocols": ["tcp"]}, "action": "block"},
            ["rule 'web': match needs at least one of ports, units, processes, containers, images"],
            id="match-without-selector",
        ),
        pytest.param(
            {"id": "web", "match": {"ports": [0], "prots": []}, "action": "block"},
            [
                "rule 'web': match: unknown key 'prots' (known: containers, images, ports, "
                "processes, protocols, units)",
                "rule 'web': match.ports: 0 is not a port (1-65535)",
            ],
            id="match-key-and-port",
        ),
        pytest.param(
            {"id": "web", "match": {"ports": [80], "protocols": ["sctp"]}, "action": "block"},
            ["rule 'web': match.protocols: 'sctp' is not a protocol (tcp, udp)"],
            id="protocol",
        ),
        pytest.param(
            {"id": "web", "match": {"units": [""]}, "action": "block"},
            ["rule 'web': match.units: '' is not a name or glob"],
            id="unit-glob",
        ),
        pytest.param(
            {"id": "web", "match": WEB, "action": "block", "enabled": "no"},
            ["rule 'web': enabled must be true or false, got 'no'"],
            id="enabled",
        ),
        pytest.param(
            {"id": "web", "match": WEB, "action": "block", "reason": 5},
            ["rule 'web': reason must be a string, got 5"],
            id="reason",
        ),
        pytest.param(
            {"id": "web", "match": WEB, "action": "block", "sources": ["10.0.0.0/8"]},
            ["rule 'web': sources are only allowed with action 'restrict'"],
            id="sources-without-restrict",
        ),
        pytest.param(
            {"id": "web", "match": WEB, "action": "restrict"},
            ["rule 'web': action 'restrict' needs sources"],
            id="restrict-without-sources",
        ),
        pytest.param(
            {"id": "web", "match": WEB, "action": "restrict", "sources": "10.0.0.0/8"},
            ["rule 'web': sources must be a non-empty list, got '10.0.0.0/8'"],
            id="sources-not-a-list",
        ),
        pytest.param(
            {"id": "web", "enabled": False},
            [
                "rule 'web': enabled: false without match and action switches off a built-in "
                "rule, but there is no built-in rule 'web' (built-in ids: builtin-rpcbind, "
                "builtin-telnet, builtin-nfs, builtin-mysql, builtin-postgresql, builtin-redis, "
                "builtin-elasticsearch, builtin-memcached, builtin-mongodb, builtin-smb, "
                "builtin-mdns, builtin-admin)"
            ],
            id="switch-off-unknown-builtin",
        ),
        pytest.param(
            {"match": WEB},
            ["rule #2: id is required", f"rule #2: action is required (one of {ACTIONS})"],
            id="no-id-by-position",
        ),
        pytest.param(
            {"id": "\x1b[2J", "match": WEB},
            [f"rule '\\x1b[2J': action is required (one of {ACTIONS})"],
            id="id-with-escape-is-quoted",
        ),
        pytest.param(
            {"id": ["web"], "match": WEB, "action": "block"},
            ["rule #2: id must be a non-empty string, got a list"],
            id="id-not-a-string",
        ),
        pytest.param(
            {"id": "first", "match": WEB, "action": "block"},
            ["rule 'first' (#2): id 'first' is already used by rule #1"],
            id="duplicate-id-with-position",
        ),
        pytest.param(
            "web",
            ["rule #2: expected a mapping with id, match and action, got 'web'"],
            id="not-a-mapping",
        ),
    ],
)
def test_every_rule_error_names_the_rule_and_field(rule, expected):
    first = {"id": "first", "match": {"ports": [1]}, "action": "report"}
    assert validate_policy([first, rule]) == expected


@pytest.mark.parametrize(
    "rule",
    [
        pytest.param({"id": "builtin-telnet", "enabled": False}, id="switch-off-builtin"),
        pytest.param({"id": "web", "match": WEB, "action": "allow"}, id="complete-rule"),
    ],
)
def test_rules_the_argument_spec_must_let_through_are_valid(rule):
    assert validate_policy([rule]) == []


def _rule_options():
    path = os.path.join(REPO, "roles", "exposed_ports", "meta", "argument_specs.yml")
    with open(path) as f:
        spec = yaml.safe_load(f)
    return spec["argument_specs"]["main"]["options"]["exposed_ports_rules"]["options"]


@pytest.mark.parametrize("option", ["id", "match", "action", "sources", "reason", "enabled"])
def test_argument_spec_requires_nothing_in_a_rule(option):
    """Ansible's "missing required arguments: action found in exposed_ports_rules" names no rule,
    and would refuse a rule that only switches a built-in off: the role checks presence."""
    assert "required" not in _rule_options()[option]
