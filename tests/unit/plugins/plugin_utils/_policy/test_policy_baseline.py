# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""evaluate() with an approved baseline: drift, approvals, and what stays information only."""

import copy

import pytest
from ansible_collections.portguard.hardening.plugins.plugin_utils._policy import (
    PolicyError,
    evaluate,
)
from policy_cases import (
    LAB,
    MYSQL,
    RICH_MC,
    RPCBIND,
    brief,
    lab_context,
    rule,
    running,
    sock,
    zone,
)

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
