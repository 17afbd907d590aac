# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One host's report (the role's exposed_ports_report) from the results of its run: the plan,
verify's check when this run applied something, and the probe from outside when it ran.

Which result each part comes from is decided here, once: the findings as the probe saw them,
else as verify left them, else as planned; the firewall as the host is now (after harden,
firewalld may run where it did not); the notes of every step.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections.abc import Mapping

from ansible_collections.portguard.hardening.plugins.module_utils._values import count_problems
from ansible_collections.portguard.hardening.plugins.plugin_utils._report.findings import (
    findings_errors,
    summarize,
)


class ReportError(ValueError):
    """The results given do not make a report; the message names the one at fault."""


def _mapping(value, name):
    if not isinstance(value, Mapping):
        raise ReportError(f"{name}: expected the registered result of its task")
    return value


def verify_ran(plan):
    """Whether this run applied the plan and read the host again (tasks/main.yml's condition):
    not in check mode, and only when the plan changes something."""
    return not plan.get("check_mode") and bool(plan.get("changes"))


def checked_findings(plan, verified=None):
    """The findings as verify left them when this run applied and verified, else as planned:
    never a previous run's, as the role may run several times in one play."""
    plan = _mapping(plan, "plan")
    if not verify_ran(plan):
        return list(plan.get("findings") or [])
    verified = _mapping(verified, "verified (the plan changed the host, so verify must have run)")
    return list(verified.get("findings") or [])


def probe_ran(probed):
    """Whether the probe from outside ran and answered with findings (its task is skipped when
    the host's exposed_ports_probe is false)."""
    return (
        isinstance(probed, Mapping)
        and not probed.get("skipped")
        and isinstance(probed.get("findings"), list)
    )


def host_report(plan, host, verified=None, probed=None):
    """The role's exposed_ports_report of one host (docs of the role's exposed_ports_report)."""
    plan = _mapping(plan, "plan")
    checked = checked_findings(plan, verified)
    applied = verify_ran(plan)
    outside = probe_ran(probed)
    findings = list(probed["findings"]) if outside else checked
    source = "probed" if outside else "verified" if applied else "plan"
    errors = findings_errors(findings, source + ".findings")
    if errors:
        raise ReportError(count_problems(errors))
    now = verified.get("firewall") if applied else plan.get("firewall")
    now = _mapping(now, "verified.firewall" if applied else "plan.firewall")
    notes = list(plan.get("notes") or [])
    if applied:
        notes.extend(verified.get("notes") or [])
    if outside:
        notes.extend((probed.get("outside") or {}).get("notes") or [])
    return {
        "host": host,
        "check_mode": bool(plan.get("check_mode")),
        "findings": findings,
        "allowed": list(probed.get("allowed") or [])
        if outside
        else list(plan.get("allowed") or []),
        "summary": summarize(findings),
        "outside": dict(probed.get("outside") or {}) if outside else {},
        "firewall": now.get("state"),
        "firewalls": now.get("seen"),
        "backend": (plan.get("firewall") or {}).get("backend"),
        "notes": notes,
        "nfs_in_use": plan.get("nfs_in_use"),
        "baseline": plan.get("baseline"),
    }


# What tasks/host.yml's first task records for every host of a batch; it stands when nothing
# later replaced it (the host was lost in the middle of its tasks).
STARTED = "unreachable"


def fleet_entry(values):
    """One host's record for the fleet reports ({"state", "report", "error"}), from its variables
    as the report play sees them (hostvars): its portguard_fleet_entry as tasks/host.yml left it,
    its reachability check (__portguard_ping) and its exposed_ports_report.

    A failure (the rescue's record, a halted rollout) stands as recorded. Otherwise the host did
    not answer its reachability check, or it finished its tasks and wrote its report, or it was
    lost in between and the first record stands."""
    entry = values.get("portguard_fleet_entry")
    if not isinstance(entry, Mapping):
        raise ReportError("portguard_fleet_entry: expected the host's record, got none")
    if entry.get("state") != STARTED:
        return dict(entry)
    ping = values.get("__portguard_ping")
    if isinstance(ping, Mapping) and ping.get("unreachable"):
        return {"state": "unreachable", "report": None, "error": ping.get("msg") or "unreachable"}
    report = values.get("exposed_ports_report")
    if isinstance(report, Mapping):
        return {"state": "ok", "report": report, "error": ""}
    return dict(entry)
