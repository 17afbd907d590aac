# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The exposed_ports_diff action: changed only when this run's remediation changes something,
the diff saying why a finding stays as it is, and its errors."""

import pytest
import support
from ansible.errors import AnsibleActionFail
from ansible_collections.portguard.hardening.plugins.action import (
    exposed_ports_diff as exposed_ports_diff_action,
)
from ansible_collections.portguard.hardening.plugins.modules import exposed_ports_diff

BLOCK = support.finding(rule="builtin-admin", port=8080, action="block", unit="admin.service")
RESTRICT = support.finding(
    rule="cache", port=11211, action="restrict", unit="memcached.service", sources=["10.0.0.0/8"]
)
DISABLE = support.finding(rule="builtin-telnet", port=23, action="disable", unit="inetd.service")
REPORT = support.finding(rule="default", port=80, action="report", unit="nginx.service")
KEPT = support.finding(rule="ssh", port=22, action="report", status="kept", unit="ssh.service")
BLOCK_RULE = 'rule priority="-10" port port="8080" protocol="tcp" reject'
RESTRICT_RULES = [
    'rule family="ipv4" priority="-20" source address="10.0.0.0/8" port port="11211" '
    'protocol="tcp" accept',
    'rule priority="-10" port port="11211" protocol="tcp" reject',
]
# The same rules as firewalld prints them back: priority before family.
HELD_RESTRICT = [
    'rule priority="-20" family="ipv4" source address="10.0.0.0/8" port port="11211" '
    'protocol="tcp" accept',
    'rule priority="-10" port port="11211" protocol="tcp" reject',
]


def firewall(state, *zones, default="public"):
    return {
        "state": state,
        "default_zone": default if state == "running" else None,
        "zones": list(zones),
    }


def zone(name="public", rich_rules=()):
    return {
        "name": name,
        "active": True,
        "default": name == "public",
        "target": "default",
        "ports": ["8080/tcp", "11211/tcp"],
        "rich_rules": list(rich_rules),
        "interfaces": ["eth0"],
    }


def run(findings, check_mode=False, diff=False, **args):
    return support.run_action(
        "exposed_ports_diff", dict(args, findings=findings), check_mode=check_mode, diff=diff
    )


ABSENT = "firewalld is not installed and exposed_ports_firewall_install is false"
STOPPED = "firewalld is stopped and exposed_ports_firewall_enable is false"


@pytest.mark.parametrize(
    "findings,args,changed",
    [
        pytest.param([BLOCK], {}, True, id="no-firewall-given-every-change-applies"),
        pytest.param([REPORT, KEPT], {}, False, id="report-and-kept-change-nothing"),
        pytest.param([dict(BLOCK, status="remediated")], {}, False, id="not-open"),
        pytest.param(
            [BLOCK], {"firewall": firewall("absent")}, False, id="firewalld-absent-no-install"
        ),
        pytest.param(
            [BLOCK, RESTRICT],
            {"firewall": firewall("absent"), "firewall_install": True},
            True,
            id="firewalld-absent-installed",
        ),
        pytest.param(
            [BLOCK],
            {"firewall": firewall("stopped"), "firewall_enable": False},
            False,
            id="firewalld-stopped-not-started",
        ),
        pytest.param([BLOCK], {"firewall": firewall("stopped")}, True, id="firewalld-started"),
        pytest.param(
            [DISABLE, BLOCK], {"firewall": firewall("absent")}, True, id="a-disable-still-changes"
        ),
        pytest.param(
            [BLOCK],
            {"firewall": firewall("running", zone()), "rich_rules": [BLOCK_RULE]},
            True,
            id="rule-to-add",
        ),
        pytest.param(
            [BLOCK],
            {
                "firewall": firewall("running", zone(rich_rules=[BLOCK_RULE])),
                "rich_rules": [BLOCK_RULE],
            },
            False,
            id="rule-already-in-the-default-zone",
        ),
        pytest.param(
            [BLOCK],
            {
                "firewall": firewall("running", zone(), zone("dmz", [BLOCK_RULE])),
                "rich_rules": [BLOCK_RULE],
            },
            True,
            id="rule-in-another-zone",
        ),
        pytest.param(
            [BLOCK],
            {
                "firewall": firewall("running", zone(), zone("dmz", [BLOCK_RULE])),
                "rich_rules": [BLOCK_RULE],
                "firewall_zone": "dmz",
            },
            False,
            id="rule-in-the-chosen-zone",
        ),
        pytest.param(
            [RESTRICT],
            {
                "firewall": firewall("running", zone(rich_rules=HELD_RESTRICT)),
                "rich_rules": RESTRICT_RULES,
            },
            False,
            id="rules-held-in-firewalld-order",
        ),
        pytest.param(
            [RESTRICT],
            {
                "firewall": firewall("running", zone(rich_rules=HELD_RESTRICT[1:])),
                "rich_rules": RESTRICT_RULES,
            },
            True,
            id="one-rule-of-the-port-missing",
        ),
    ],
)
@pytest.mark.parametrize("check_mode", [False, True], ids=["run", "check"])
def test_changed_only_when_remediation_changes_something(findings, args, changed, check_mode):
    result = run(findings, check_mode=check_mode, **args)
    assert result["changed"] is changed
    assert "diff" not in result


@pytest.mark.parametrize(
    "args,after",
    [
        pytest.param(
            {},
            "tcp 0.0.0.0:8080 (admin.service) closed to every outside source by firewalld\n",
            id="applied",
        ),
        pytest.param(
            {"firewall": firewall("absent")},
            f"tcp 0.0.0.0:8080 (admin.service) reachable from everyone (unchanged: {ABSENT})\n",
            id="absent",
        ),
        pytest.param(
            {"firewall": firewall("stopped"), "firewall_enable": False},
            f"tcp 0.0.0.0:8080 (admin.service) reachable from everyone (unchanged: {STOPPED})\n",
            id="stopped",
        ),
        pytest.param(
            {
                "firewall": firewall("running", zone(rich_rules=[BLOCK_RULE])),
                "rich_rules": [BLOCK_RULE],
            },
            "tcp 0.0.0.0:8080 (admin.service) reachable from everyone (unchanged: its rules are "
            "already in firewalld zone public)\n",
            id="in-place",
        ),
    ],
)
def test_the_diff_says_why_a_finding_stays(args, after):
    result = run([BLOCK, DISABLE], diff=True, **args)
    assert result["diff"] == {
        "before_header": "exposure now",
        "after_header": "exposure after remediation",
        "before": "tcp 0.0.0.0:8080 (admin.service) reachable from everyone\n"
        "tcp 0.0.0.0:23 (inetd.service) reachable from everyone\n",
        "after": after + "tcp 0.0.0.0:23 (inetd.service) closed: inetd.service stopped, disabled "
        "and masked\n",
    }


@pytest.mark.parametrize(
    "findings,args,message",
    [
        pytest.param("x", {}, "findings", id="findings-not-a-list"),
        pytest.param(
            [dict(BLOCK, status="gone")],
            {},
            "1 problem: findings[0].status: expected one of open, remediated, kept, failed, "
            "got 'gone'",
            id="bad-status",
        ),
        pytest.param(
            [BLOCK],
            {"firewall": {"state": "on"}},
            "1 problem: firewall.state 'on' is not one of absent, running, stopped",
            id="bad-firewall-state",
        ),
        pytest.param(
            [BLOCK],
            {"firewall": firewall("running", dict(zone(), active=False, rich_rules=[7]))},
            "firewall.zones[0].rich_rules: expected strings, got a list",
            id="bad-rich-rule",
        ),
        pytest.param([BLOCK], {"zone": "public"}, "zone", id="unknown-argument"),
    ],
)
def test_bad_input_is_refused_naming_the_field(findings, args, message):
    with pytest.raises(AnsibleActionFail) as error:
        run(findings, **args)
    assert message in str(error.value)


def test_documentation_matches_the_action():
    support.assert_documented(
        exposed_ports_diff.DOCUMENTATION,
        exposed_ports_diff.EXAMPLES,
        exposed_ports_diff_action.ARGUMENT_SPEC,
        "portguard.hardening.exposed_ports_diff",
    )
