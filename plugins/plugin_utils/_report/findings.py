# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Summaries of a host's findings, for the role's report and its console output.

Every line here reaches a terminal and carries unit and process names from the host: each is
passed through terminal_safe.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import shlex

from ansible_collections.portguard.hardening.plugins.module_utils._values import (
    is_name,
    is_port,
    list_errors,
    optional_str,
    optional_str_list,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._policy.firewall_model import (
    parse_rich_rule,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._report.encode import (
    terminal_safe,
)

STATUSES = ("open", "remediated", "kept", "failed")
# (key, required, test, what the value should be) for the keys a report of findings reads.
FINDING_CHECKS = (
    ("rule", True, is_name, "a rule id"),
    ("protocol", True, is_name, "a protocol"),
    ("address", True, is_name, "an address"),
    ("port", True, is_port, "a port (1-65535)"),
    ("action", True, is_name, "an action"),
    ("status", True, lambda v: v in STATUSES, "one of " + ", ".join(STATUSES)),
    ("family", False, optional_str, "a string or null"),
    ("reason", False, optional_str, "a string or null"),
    ("note", False, optional_str, "a string or null"),
    ("unit", False, optional_str, "a string or null"),
    ("interface", False, optional_str, "a string or null"),
    ("policy_action", False, optional_str, "a string or null"),
    ("processes", False, optional_str_list, "a list of strings"),
    ("activated_by", False, optional_str_list, "a list of strings"),
)


def findings_errors(findings, where="findings"):
    """Every problem with a list of the role's findings, each naming its entry; [] if none."""
    return list_errors(findings, FINDING_CHECKS, where)


def summarize(findings):
    """Counts of findings by status and by effective action."""
    summary = dict((status, 0) for status in STATUSES)
    by_action = {}
    for finding in findings:
        summary[finding["status"]] = summary.get(finding["status"], 0) + 1
        by_action[finding["action"]] = by_action.get(finding["action"], 0) + 1
    summary["total"] = len(findings)
    summary["by_action"] = by_action
    return summary


def _endpoint(finding):
    address = finding["address"]
    if ":" in address:
        address = "[%s]" % address
    return "%s %s:%d" % (finding["protocol"], address, finding["port"])


def owner_label(finding, nobody="no visible process"):
    """Who a report says holds a finding's port: its container (published ports, listeners of
    a container in the host's network), else its unit, else its processes."""
    container = finding.get("container")
    if isinstance(container, dict) and container.get("name"):
        image = container.get("image")
        return "container %s (%s%s)" % (
            container["name"],
            container.get("engine") or "?",
            ", %s" % image if image else "",
        )
    return finding.get("unit") or ",".join(finding.get("processes") or []) or nobody


def finding_lines(findings):
    """One line a person reads per finding: status, action, where, who, which rule and why."""
    lines = []
    for f in findings:
        who = owner_label(f)
        line = "%-10s %-8s %s (%s) rule %s: %s" % (
            f["status"],
            f["action"],
            _endpoint(f),
            who,
            f["rule"],
            f.get("reason") or "",
        )
        if f.get("reachable") and f["reachable"] != "not probed":
            line += " (from outside: %s)" % f["reachable"]
        if f.get("note"):
            line += " [%s]" % f["note"]
        lines.append(terminal_safe(line))
    return lines or ["no findings"]


def unremediated(findings):
    """Findings this run should have fixed and did not: failed ones, and open changes."""
    return [
        terminal_safe(
            "%d/%s %s (%s)" % (f["port"], f["protocol"], f["action"], f.get("note") or f["status"])
        )
        for f in findings
        if f["status"] == "failed" or (f["status"] == "open" and f["action"] != "report")
    ]


CHANGING = ("disable", "block", "restrict")


def _exposure_now(finding):
    if finding.get("exposure") == "restricted" and finding.get("exposed_to"):
        return "reachable from %s" % ", ".join(finding["exposed_to"])
    return "reachable from everyone"


def rule_key(text):
    # firewalld prints a rule's attributes in its own order (priority before family).
    try:
        return tuple(sorted(shlex.split(text)))
    except (AttributeError, ValueError):
        return None


def firewall_outlook(firewall, rich_rules, zone="", install=False, enable=True):
    """What the role's firewall step can change on this run, as exposure_diff reads it.

    ``firewall`` is the host's firewall as the policy reads it (state, default_zone, zones with
    their rich_rules); ``rich_rules`` the plan's; ``zone`` the zone the role writes to (empty:
    the default zone); ``install`` and ``enable`` the role's exposed_ports_firewall_install and
    exposed_ports_firewall_enable.  As in the role's firewall step: an absent firewalld is
    installed only with ``install``, a stopped one started only with ``enable``.

    Returns {"reason": why no port changes at all, or None; "in_place": {(protocol, port):
    reason} for the ports whose every rule the zone already holds}.
    """
    state = firewall.get("state")
    if state == "absent" and not install:
        reason = "firewalld is not installed and exposed_ports_firewall_install is false"
        return {"reason": reason, "in_place": {}}
    if state == "stopped" and not enable:
        reason = "firewalld is stopped and exposed_ports_firewall_enable is false"
        return {"reason": reason, "in_place": {}}
    if state != "running":
        return {"reason": None, "in_place": {}}
    name = zone or firewall.get("default_zone")
    held = set()
    for entry in firewall.get("zones") or []:
        if entry.get("name") == name:
            held.update(rule_key(text) for text in entry.get("rich_rules") or [])
    missing = {}
    for text in rich_rules:
        parsed = parse_rich_rule(text)
        for protocol, low, _high in parsed["ports"] if parsed else ():
            key = (protocol, low)
            missing[key] = missing.get(key, False) or rule_key(text) not in held
    reason = "its rules are already in firewalld zone %s" % name
    return {"reason": None, "in_place": dict((key, reason) for key, m in missing.items() if not m)}


def _unchanged(finding, outlook):
    """Why remediation leaves this finding as it is on this run, or None when it changes it."""
    if finding["status"] != "open" or finding["action"] not in CHANGING:
        return "nothing to do"
    if outlook is None or finding["action"] == "disable":
        return None
    return outlook["reason"] or outlook["in_place"].get((finding["protocol"], finding["port"]))


def _exposure_after(finding, unchanged):
    if unchanged == "nothing to do":
        return _exposure_now(finding)
    if unchanged:
        return "%s (unchanged: %s)" % (_exposure_now(finding), unchanged)
    if finding["action"] == "disable":
        units = [finding.get("unit")] + list(finding.get("activated_by") or [])
        return "closed: %s stopped, disabled and masked" % ", ".join(u for u in units if u)
    if finding["action"] == "block":
        return "closed to every outside source by %s" % (finding.get("backend") or "firewalld")
    return "reachable only from %s" % ", ".join(finding.get("sources") or [])


def exposure_diff(findings, outlook=None):
    """Before and after texts of what remediation changes, one line per finding, for --diff.

    ``outlook`` is firewall_outlook()'s; without it every open block and restrict is taken to be
    applied.  changed is whether this run's remediation changes anything: an open finding the
    run cannot fix (firewalld absent and not to be installed, its rules already in place) is not
    a change, nor is a kept one.
    """
    before, after = [], []
    changed = False
    for f in findings:
        unchanged = _unchanged(f, outlook)
        changed = changed or unchanged is None
        where = _endpoint(f) + " (%s)" % owner_label(f, "?")
        before.append(terminal_safe("%s %s" % (where, _exposure_now(f))) + "\n")
        after.append(terminal_safe("%s %s" % (where, _exposure_after(f, unchanged))) + "\n")
    return {"changed": changed, "before": "".join(before), "after": "".join(after)}
