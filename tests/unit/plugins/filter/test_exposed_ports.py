# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The exposed_ports filters: thin wrappers and their errors (test_docs.py: their documentation)."""

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.portguard.hardening.plugins.filter.exposed_ports import FilterModule
from ansible_collections.portguard.hardening.plugins.plugin_utils._policy import builtin_rules

FILTERS = FilterModule().filters()

SSH = {
    "protocol": "tcp",
    "family": "ipv4",
    "address": "0.0.0.0",
    "port": 22,
    "scope": "any",
    "unit": "ssh.service",
    "processes": [{"pid": 60, "name": "sshd"}],
    "activated_by": [],
}
ADMIN = dict(SSH, port=8080, unit="lab-admin.service", processes=[{"pid": 90, "name": "python3"}])
WEB = dict(SSH, port=80, unit="nginx.service", processes=[{"pid": 72, "name": "nginx"}])
CONTEXT = {"management_ports": [{"port": 22, "protocol": "tcp"}]}


def test_filter_names():
    assert sorted(FILTERS) == [
        "exposed_ports_baseline_document",
        "exposed_ports_baseline_path",
        "exposed_ports_baseline_validate",
        "exposed_ports_builtin_rules",
        "exposed_ports_evaluate",
        "exposed_ports_reconcile",
        "exposed_ports_validate",
    ]


@pytest.mark.parametrize(
    "rules,default_action", [(None, "report"), ([], "block"), (builtin_rules(), "allow")]
)
def test_validate_returns_true(rules, default_action):
    assert FILTERS["exposed_ports_validate"](rules, default_action) is True


@pytest.mark.parametrize(
    "rules,default_action,message",
    [
        (
            [{"id": "db", "match": {"ports": ["70000"]}, "action": "restrict"}],
            "report",
            "exposed_ports_validate: 2 problems: rule 'db': match.ports: '70000' is not a port "
            "(1-65535); rule 'db': action 'restrict' needs sources",
        ),
        (
            [],
            "deny",
            "exposed_ports_validate: 1 problem: default_action 'deny' is not one of allow, block, "
            "report",
        ),
    ],
)
def test_validate_raises_with_every_message(rules, default_action, message):
    with pytest.raises(AnsibleFilterError) as raised:
        FILTERS["exposed_ports_validate"](rules, default_action)
    assert raised.value.message == message


@pytest.mark.parametrize("value", [None, [], "anything"])
def test_builtin_rules_ignores_its_input(value):
    assert FILTERS["exposed_ports_builtin_rules"](value) == builtin_rules()


def test_evaluate_passes_everything_through():
    result = FILTERS["exposed_ports_evaluate"](
        [SSH, ADMIN],
        [{"id": "ssh", "match": {"ports": [22]}, "action": "block"}],
        "allow",
        True,
        CONTEXT,
    )
    assert [(f["rule"], f["port"], f["action"], f["status"]) for f in result["findings"]] == [
        ("ssh", 22, "report", "kept"),
        ("builtin-admin", 8080, "block", "open"),
    ]
    assert result["plan"]["rich_rules"] == [
        'rule priority="-10" port port="8080" protocol="tcp" reject'
    ]
    assert FILTERS["exposed_ports_evaluate"]([ADMIN], None, "allow", False)["allowed"] == [
        {
            "rule": "default",
            "protocol": "tcp",
            "family": "ipv4",
            "address": "0.0.0.0",
            "port": 8080,
            "unit": "lab-admin.service",
            "management": False,
            "exposure": "everyone",
        }
    ]


@pytest.mark.parametrize(
    "args,message",
    [
        (
            ([SSH], [{"id": "x", "acton": "block"}]),
            "exposed_ports_evaluate: 3 problems: rule 'x': unknown key 'acton' (known: action, "
            "enabled, id, match, reason, sources); rule 'x': match is required; rule 'x': action "
            "is required (one of allow, block, disable, report, restrict)",
        ),
        (
            ([SSH], [], "report", True, {"firewall": {"state": "up"}}),
            "exposed_ports_evaluate: 1 problem: context.firewall.state 'up' is not one of "
            "absent, running, stopped",
        ),
        (
            ("sockets",),
            "exposed_ports_evaluate: 1 problem: sockets: expected a list of listening sockets, "
            "got 'sockets'",
        ),
    ],
)
def test_evaluate_raises_filter_errors(args, message):
    with pytest.raises(AnsibleFilterError) as raised:
        FILTERS["exposed_ports_evaluate"](*args)
    assert raised.value.message == message


def test_reconcile_passes_everything_through():
    findings = FILTERS["exposed_ports_evaluate"]([SSH, ADMIN], [], "report", True, CONTEXT)[
        "findings"
    ]
    closed = {"state": "running", "zones": [{"name": "public", "ports": ["22/tcp"]}]}
    assert [f["status"] for f in FILTERS["exposed_ports_reconcile"](findings, [SSH, ADMIN])] == [
        "failed"
    ]
    assert [f["status"] for f in FILTERS["exposed_ports_reconcile"](findings, [], None, {})] == [
        "remediated"
    ]
    assert [f["status"] for f in FILTERS["exposed_ports_reconcile"](findings, [ADMIN], closed)] == [
        "remediated"
    ]


def test_reconcile_raises_filter_errors():
    with pytest.raises(AnsibleFilterError) as raised:
        FILTERS["exposed_ports_reconcile"]({"findings": []}, [])
    assert raised.value.message == (
        "exposed_ports_reconcile: 1 problem: findings: expected the findings list of evaluate, "
        "got a mapping"
    )


def test_evaluate_passes_the_baseline_through():
    baseline = [{"protocol": "tcp", "port": 22, "scope": "any", "unit": "ssh.service"}]
    result = FILTERS["exposed_ports_evaluate"]([SSH, WEB], [], "report", True, CONTEXT, baseline)
    assert [(f["rule"], f["port"], f["action"]) for f in result["findings"]] == [
        ("drift", 80, "report")
    ]
    assert [(a["rule"], a["port"]) for a in result["allowed"]] == [("baseline", 22)]
    assert result["summary"]["drift"] == 1
    assert result["baseline"] == {"given": True, "missing": []}
    assert FILTERS["exposed_ports_evaluate"]([WEB], baseline=[])["summary"]["drift"] == 1


def test_evaluate_raises_on_a_bad_baseline():
    with pytest.raises(AnsibleFilterError) as raised:
        FILTERS["exposed_ports_evaluate"]([SSH], baseline=[{"protocol": "tcp"}])
    assert raised.value.message == (
        "exposed_ports_evaluate: 3 problems: baseline[0]: missing 'port'; baseline[0]: missing "
        "'scope'; baseline[0]: missing 'unit' (write unit: null for a listener without a "
        "systemd unit)"
    )


def test_baseline_document_and_validate():
    doc = FILTERS["exposed_ports_baseline_document"](
        [SSH, dict(SSH, family="ipv6", address="::"), WEB], "web1", "2024-05-01T10:00:00Z"
    )
    assert doc == {
        "version": 1,
        "host": "web1",
        "recorded_at": "2024-05-01T10:00:00Z",
        "listeners": [
            {"protocol": "tcp", "port": 22, "scope": "any", "unit": "ssh.service"},
            {"protocol": "tcp", "port": 80, "scope": "any", "unit": "nginx.service"},
        ],
    }
    assert FILTERS["exposed_ports_baseline_validate"](doc) is True


def test_baseline_document_raises_filter_errors():
    with pytest.raises(AnsibleFilterError) as raised:
        FILTERS["exposed_ports_baseline_document"]([dict(SSH, scope=None)], "", "now")
    assert raised.value.message == (
        "exposed_ports_baseline_document: 2 problems: sockets[0].scope None is not one of any, "
        "loopback, link_local, private, public; host must be a non-empty string, got ''"
    )


def test_baseline_validate_raises_with_every_message():
    # The example of exposed_ports_baseline_validate.yml.
    doc = {
        "version": 1,
        "host": "web1",
        "listeners": [{"protocol": "tcp", "port": "22", "scope": "any"}],
    }
    with pytest.raises(AnsibleFilterError) as raised:
        FILTERS["exposed_ports_baseline_validate"](doc)
    assert raised.value.message == (
        "exposed_ports_baseline_validate: 2 problems: baseline.listeners[0]: missing 'unit' "
        "(write unit: null for a listener without a systemd unit); baseline.listeners[0].port "
        "'22' is not a port (an integer 1-65535)"
    )
