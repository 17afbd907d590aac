# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One host's report from the results of its run: which result each part comes from."""

import copy
import re

import pytest
import support
from ansible.errors import AnsibleFilterError
from ansible_collections.portguard.hardening.plugins.filter.exposed_ports_report import (
    FilterModule,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._report.host import (
    ReportError,
    checked_findings,
    fleet_entry,
    host_report,
)

PLANNED = support.finding(rule="builtin-admin", reason="admin", port=8080, action="block")
FIXED = dict(PLANNED, status="remediated")
SEEN = dict(FIXED, reachable="refused", probe={"from": "the controller", "state": "refused"})
WEB = support.finding(rule="web", port=80, action="allow")
FIREWALL_BEFORE = {
    "state": "absent",
    "seen": [{"name": "nftables", "state": "stopped", "why": "no table"}],
    "backend": {"name": "nftables", "why": "no firewall runs", "problem": None},
}
FIREWALL_AFTER = {
    "state": "running",
    "seen": [{"name": "nftables", "state": "running", "why": "the table"}],
}


def _plan(**fields):
    plan = {
        "check_mode": False,
        "changes": True,
        "findings": [PLANNED],
        "allowed": [WEB],
        "firewall": FIREWALL_BEFORE,
        "notes": ["plan note"],
        "nfs_in_use": False,
        "baseline": None,
    }
    plan.update(fields)
    return plan


VERIFIED = {"findings": [FIXED], "notes": ["verify note"], "firewall": FIREWALL_AFTER}
SKIPPED = {"skipped": True, "changed": False, "false_condition": "probe.enabled"}
PROBED = {
    "findings": [SEEN],
    "allowed": [dict(WEB, reachable="yes")],
    "outside": {"address": "192.0.2.7", "from": "the controller", "notes": ["probe note"]},
}


def test_an_audit_reports_the_plan_as_it_is():
    report = host_report(_plan(check_mode=True), "web1", None, SKIPPED)
    assert report == {
        "host": "web1",
        "check_mode": True,
        "findings": [PLANNED],
        "allowed": [WEB],
        "summary": {
            "open": 1,
            "remediated": 0,
            "kept": 0,
            "failed": 0,
            "total": 1,
            "by_action": {"block": 1},
        },
        "outside": {},
        "firewall": "absent",
        "firewalls": FIREWALL_BEFORE["seen"],
        "backend": FIREWALL_BEFORE["backend"],
        "notes": ["plan note"],
        "nfs_in_use": False,
        "baseline": None,
    }


def test_a_harden_reports_verify_and_the_firewall_as_the_host_is_now():
    report = host_report(_plan(), "web1", VERIFIED, SKIPPED)
    assert report["findings"] == [FIXED]
    assert report["summary"]["remediated"] == 1 and report["summary"]["open"] == 0
    assert (report["firewall"], report["firewalls"]) == ("running", FIREWALL_AFTER["seen"])
    # The backend is the plan's choice, with its reason.
    assert report["backend"] == FIREWALL_BEFORE["backend"]
    assert report["notes"] == ["plan note", "verify note"]


def test_the_probe_s_view_comes_last_and_wins():
    report = host_report(_plan(), "web1", VERIFIED, PROBED)
    assert report["findings"] == [SEEN]
    assert report["allowed"] == [dict(WEB, reachable="yes")]
    assert report["outside"] == PROBED["outside"]
    assert report["notes"] == ["plan note", "verify note", "probe note"]


def test_a_previous_run_s_verify_is_not_read_when_this_run_changed_nothing():
    # The role may run twice in a play: the second run's plan changes nothing.
    stale = dict(VERIFIED, findings=[dict(FIXED, port=9999)])
    report = host_report(_plan(changes=False), "web1", stale, None)
    assert report["findings"] == [PLANNED]
    assert report["firewall"] == "absent"
    assert report["notes"] == ["plan note"]
    assert checked_findings(_plan(check_mode=True), stale) == [PLANNED]


def test_a_probe_without_findings_is_not_a_view():
    failed = {"failed": True, "msg": "no route"}
    report = host_report(_plan(check_mode=True), "web1", None, failed)
    assert report["findings"] == [PLANNED] and report["outside"] == {}


def test_the_results_are_not_changed():
    plan, verified, probed = _plan(), copy.deepcopy(VERIFIED), copy.deepcopy(PROBED)
    before = copy.deepcopy((plan, verified, probed))
    report = host_report(plan, "web1", verified, probed)
    report["notes"].append("x")
    report["findings"].append("x")
    assert (plan, verified, probed) == before


@pytest.mark.parametrize(
    "plan, verified, probed, message",
    [
        ("text", None, None, "plan: expected the registered result of its task"),
        (_plan(), None, None, "verified (the plan changed the host, so verify must have run)"),
        (_plan(firewall=None, check_mode=True), None, None, "plan.firewall: expected"),
        (_plan(), dict(VERIFIED, firewall=[]), None, "verified.firewall: expected"),
        (
            _plan(check_mode=True),
            None,
            dict(PROBED, findings=[{"rule": "x"}]),
            "probed.findings[0]: missing protocol, address",
        ),
    ],
)
def test_results_that_are_not_their_task_s_are_named(plan, verified, probed, message):
    with pytest.raises(ReportError, match=re.escape(message)):
        host_report(plan, "web1", verified, probed)


def test_the_filter_names_the_host_in_its_error():
    report = FilterModule().filters()["exposed_ports_host_report"]
    assert report(_plan(check_mode=True), "web1")["findings"] == [PLANNED]
    with pytest.raises(AnsibleFilterError) as caught:
        report(_plan(), "web\x1b[31m1")
    assert str(caught.value).startswith("exposed_ports_host_report: 'web\\x1b[31m1': verified")


STARTED = {
    "state": "unreachable",
    "report": None,
    "error": "the connection to the host was lost during the run; the run's output names the task",
}
REPORT = {"host": "web1", "findings": []}


@pytest.mark.parametrize(
    "values, expected",
    [
        # Finished: its report, and no error.
        (
            {"portguard_fleet_entry": STARTED, "__portguard_ping": {"ping": "pong"},
             "exposed_ports_report": REPORT},
            {"state": "ok", "report": REPORT, "error": ""},
        ),
        # Its reachability check could not reach it: the check's own message.
        (
            {"portguard_fleet_entry": STARTED, "exposed_ports_report": None,
             "__portguard_ping": {"unreachable": True, "msg": "ssh: no route to host"}},
            {"state": "unreachable", "report": None, "error": "ssh: no route to host"},
        ),
        # Lost between the check and the report: the first record stands.
        ({"portguard_fleet_entry": STARTED, "__portguard_ping": {}, "exposed_ports_report": None},
         STARTED),
        # A failure stands as recorded, with the report it has.
        (
            {"portguard_fleet_entry": {"state": "failed", "report": REPORT, "error": "boom"},
             "exposed_ports_report": REPORT},
            {"state": "failed", "report": REPORT, "error": "boom"},
        ),
    ],
)  # fmt: skip
def test_a_hosts_record_for_the_fleet_reports(values, expected):
    assert fleet_entry(values) == expected


def test_a_host_without_a_record_is_named():
    entry = FilterModule().filters()["exposed_ports_fleet_entry"]
    with pytest.raises(AnsibleFilterError) as caught:
        entry({"inventory_hostname": "web1"})
    assert str(caught.value) == (
        "exposed_ports_fleet_entry: 'web1': portguard_fleet_entry: expected the host's record, "
        "got none"
    )
