# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet reports: every host's exposed_ports_report of one run, in four views.

Pure functions over plain data; the fleet_report action writes their output.
fleet_data() checks and assembles the machine-readable document; render_json,
render_markdown, render_html and render_junit turn it into text, host_document
into one host's part.  Every view counts findings from the same document, so
they agree on hosts and counts.  Names in findings come from the hosts: JSON
keeps them exact, the other views encode them for their destination (_encode).

Public: fleet_data, fleet_errors, host_document, verdict, render_json,
render_markdown, render_html, render_junit and FleetError.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test boilerplate

import html
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping

from ansible_collections.portguard.hardening.plugins.module_utils._values import (
    PolicyError,
    is_name,
    is_port,
    list_errors,
    optional_str,
    port_label,
    show,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._policy.firewall_model import (
    FIREWALL_STATES,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._report.encode import (
    markdown_prose,
    markdown_text,
    terminal_lines,
    terminal_safe,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._report.findings import (
    STATUSES,
    finding_lines,
    findings_errors,
    owner_label,
    summarize,
)

VERSION = 1
HOST_STATES = ("ok", "unreachable", "failed")
PLAYBOOKS = ("audit", "harden", "baseline")
HOST_KEYS = ("error", "report", "state")
RUN_KEYS = ("check_mode", "playbook", "policy", "started")
POLICY_KEYS = ("default_action", "rules")
# Worst first: a matrix cell takes the colour of its worst finding.
SEVERITY = ("failed", "open", "kept", "remediated")
# Findings a CI system must flag: exposed now, or still exposed after remediation.
FAILING = ("open", "failed")
JUNIT_SUITE = "portguard.exposed_ports"


class FleetError(PolicyError):
    """The hosts or run given to fleet_data are invalid; ``errors`` lists every problem."""


# ---------------------------------------------------------------------------
# Validation


def _choice(value, choices, where):
    if isinstance(value, str) and value in choices:
        return []
    return ["{}: {} is not one of {}".format(where, show(value), ", ".join(choices))]


def _key_problems(mapping, required, known, where):
    problems = []
    missing = [key for key in required if key not in mapping]
    if missing:
        problems.append("{}: missing {}".format(where, ", ".join(missing)))
    for key in sorted(mapping, key=str):
        if key not in known:
            problems.append(
                "{}: unknown key {} (known: {})".format(where, show(key), ", ".join(known))
            )
    return problems


def _str_list_problem(value, where):
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return []
    return [f"{where}: expected a list of strings, got {show(value)}"]


def _run_errors(run):
    if not isinstance(run, Mapping):
        return [
            "run: expected a mapping with playbook, check_mode, started and policy, "
            f"got {show(run)}"
        ]
    errors = _key_problems(run, RUN_KEYS, RUN_KEYS, "run")
    if "playbook" in run:
        errors.extend(_choice(run["playbook"], PLAYBOOKS, "run.playbook"))
    if "check_mode" in run and not isinstance(run["check_mode"], bool):
        errors.append(f"run.check_mode: expected true or false, got {show(run['check_mode'])}")
    if "started" in run and not is_name(run["started"]):
        errors.append(f"run.started: expected an ISO 8601 time, got {show(run['started'])}")
    policy = run.get("policy")
    if "policy" not in run:
        return errors
    if not isinstance(policy, Mapping):
        return errors + [
            f"run.policy: expected a mapping with default_action and rules, got {show(policy)}"
        ]
    errors.extend(_key_problems(policy, POLICY_KEYS, POLICY_KEYS, "run.policy"))
    if "default_action" in policy and not is_name(policy["default_action"]):
        errors.append(
            f"run.policy.default_action: expected an action, got {show(policy['default_action'])}"
        )
    if "rules" in policy:
        errors.extend(_str_list_problem(policy["rules"], "run.policy.rules"))
    return errors


# What the views read of an allowed listener, as in _report.FINDING_CHECKS.
_ALLOWED_CHECKS = (
    ("protocol", True, is_name, "a protocol"),
    ("port", True, is_port, "a port (1-65535)"),
    ("unit", False, optional_str, "a string or null"),
    ("rule", False, optional_str, "a string or null"),
)


def _report_errors(report, name, where):
    # The role writes the report; only what the views read is checked, and extra keys pass.
    if not isinstance(report, Mapping):
        return [f"{where}: expected an exposed_ports_report mapping or null, got {show(report)}"]
    if "findings" not in report:
        return [f"{where}: missing findings (is it an exposed_ports_report?)"]
    errors = []
    if "host" in report and report["host"] != name:
        errors.append(f"{where}.host: {show(report['host'])} is another host's report")
    errors.extend(findings_errors(report["findings"], where + ".findings"))
    if report.get("allowed") is not None:
        errors.extend(list_errors(report["allowed"], _ALLOWED_CHECKS, where + ".allowed"))
    if report.get("firewall") is not None:
        errors.extend(_choice(report["firewall"], FIREWALL_STATES, where + ".firewall"))
    for key in ("nfs_in_use", "check_mode"):
        if report.get(key) is not None and not isinstance(report[key], bool):
            errors.append(f"{where}.{key}: expected true or false, got {show(report[key])}")
    return errors


def _host_errors(name, entry):
    if not is_name(name):
        return [f"hosts: a host name must be a non-empty string, got {show(name)}"]
    where = "hosts." + name
    if not isinstance(entry, Mapping):
        return [f"{where}: expected a mapping with state, report and error, got {show(entry)}"]
    errors = _key_problems(entry, ("state",), HOST_KEYS, where)
    if "state" in entry:
        errors.extend(_choice(entry["state"], HOST_STATES, where + ".state"))
    error = entry.get("error")
    if not optional_str(error):
        errors.append(f"{where}.error: expected a message or null, got {show(error)}")
    elif error and entry.get("state") == "ok":
        errors.append(f"{where}.error: an ok host has no error, got {show(error)}")
    report = entry.get("report")
    if report is None:
        if entry.get("state") == "ok":
            errors.append(f"{where}.report: an ok host needs its exposed_ports_report")
    else:
        errors.extend(_report_errors(report, name, where + ".report"))
    return errors


def fleet_errors(hosts, run):
    """Every problem with fleet_data's arguments, as messages naming the argument; [] if none."""
    errors = _run_errors(run)
    if not isinstance(hosts, Mapping):
        return errors + [
            "hosts: expected a mapping of inventory host names to {state, report, error}, "
            f"got {show(hosts)}"
        ]
    for name in sorted(hosts, key=str):
        errors.extend(_host_errors(name, hosts[name]))
    return errors


# ---------------------------------------------------------------------------
# The document


def _plain(value):
    """A copy made of dict, list, str, int, float, bool and None only.

    Ansible hands the action tagged and lazily templated subclasses of these;
    plain copies keep the document free of them and of aliasing.
    """
    if isinstance(value, Mapping):
        return dict((str(k), _plain(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        # Not str(value): before 2.19, AnsibleUnsafeText.__str__ returns the subclass itself.
        return str.__str__(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return value


def _outside(value):
    if not isinstance(value, Mapping) or not value.get("address"):
        return None
    return {
        "address": str(value["address"]),
        "from": str(value.get("from") or "the controller"),
        "disagreements": [str(d) for d in value.get("disagreements") or []],
        "unexpected": [str(u) for u in value.get("unexpected") or []],
    }


def _host_entry(entry):
    report = entry.get("report") or {}
    findings = list(report.get("findings") or [])
    return {
        "state": entry["state"],
        "error": entry.get("error") or None,
        "findings": findings,
        "allowed": list(report.get("allowed") or []),
        # Recounted rather than copied so that every view counts the same findings.
        "summary": summarize(findings),
        "firewall": report.get("firewall"),
        # The firewalls the host runs and what closes its ports (reports of 0.2 on).
        "firewalls": [
            str(f.get("name"))
            for f in report.get("firewalls") or []
            if isinstance(f, Mapping) and f.get("state") == "active"
        ],
        "backend": (
            (report.get("backend") or {}).get("name")
            if isinstance(report.get("backend"), Mapping)
            else None
        ),
        "nfs_in_use": report.get("nfs_in_use"),
        # What a probe from outside saw (reports of 0.3 on; {} when none ran).
        "outside": _outside(report.get("outside")),
        # Approved listeners that no longer listen: information, not findings.
        "baseline_missing": list((report.get("baseline") or {}).get("missing") or []),
    }


def _fleet_summary(entries):
    summary = {"hosts": len(entries)}
    for state in HOST_STATES:
        summary[state] = sum(1 for e in entries.values() if e["state"] == state)
    for status in ("open", "remediated", "kept"):
        summary[status] = sum(e["summary"][status] for e in entries.values())
    # "failed" counts hosts; findings that failed remediation have their own key.
    summary["failed_findings"] = sum(e["summary"]["failed"] for e in entries.values())
    by_action = {}
    for entry in entries.values():
        for action, count in entry["summary"]["by_action"].items():
            by_action[action] = by_action.get(action, 0) + count
    summary["by_action"] = dict(sorted(by_action.items()))
    return summary


def fleet_data(hosts, run):
    """The fleet document of one run: its run, fleet-wide counts and every host, sorted by name.

    ``hosts`` maps inventory host names to {"state": "ok"|"unreachable"|"failed",
    "report": exposed_ports_report or None, "error": message or None}; ``run``
    is {"playbook", "check_mode", "started", "policy": {"default_action", "rules"}}.
    A host that is not ok keeps its findings when it has a report (a harden
    run fails a host whose remediation failed, after the report is written).
    Raises FleetError listing every problem with the arguments.
    """
    errors = fleet_errors(hosts, run)
    if errors:
        raise FleetError(errors)
    hosts = _plain(hosts)
    entries = dict((name, _host_entry(hosts[name])) for name in sorted(hosts))
    return {
        "version": VERSION,
        "run": _plain(run),
        "summary": _fleet_summary(entries),
        "hosts": entries,
    }


def host_document(name, entry, run):
    """One host's JSON object: its entry of fleet_data's "hosts", with "host" and "run"."""
    document = {"host": name, "run": run}
    document.update(entry)
    return document


# A lone surrogate (an INI inventory's host name with a byte that is not UTF-8) has no UTF-8 form.
_SURROGATE = re.compile("[\ud800-\udfff]")


def render_json(document):
    """Stable JSON text (sorted keys, two-space indent, UTF-8 kept) ending in a newline.

    Lone surrogates, which can only be in strings, are written as JSON escapes (\\udcff): the
    same text to a JSON reader, and the file stays UTF-8.
    """
    text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return _SURROGATE.sub(lambda m: "\\u%04x" % ord(m.group()), text)


# ---------------------------------------------------------------------------
# Shared by the views


def _plural(count, word):
    return "%d %s%s" % (count, word, "" if count == 1 else "s")


def verdict(doc):
    """(good, sentence): whether the run needs no attention, and why, in one line."""
    s = doc["summary"]
    hosts_open = sum(1 for h in doc["hosts"].values() if h["summary"]["open"])
    problems = []
    if s["failed_findings"]:
        problems.append(_plural(s["failed_findings"], "finding") + " failed remediation")
    if s["open"]:
        problems.append(
            "{} open on {}".format(_plural(s["open"], "finding"), _plural(hosts_open, "host"))
        )
    if s["failed"]:
        problems.append(_plural(s["failed"], "host") + " failed")
    if s["unreachable"]:
        problems.append(_plural(s["unreachable"], "host") + " unreachable")
    if problems:
        return False, "Action needed: " + "; ".join(problems) + "."
    if not s["hosts"]:
        return False, "No hosts were reported."
    done = ["%d %s" % (s[status], status) for status in ("remediated", "kept") if s[status]]
    return True, "No open findings on {}{}.".format(
        _plural(s["hosts"], "host"), " (%s)" % ", ".join(done) if done else ""
    )


def _mode(run):
    return "check mode, nothing changed" if run["check_mode"] else "changes applied"


def _port_label(finding):
    return port_label(finding["port"], finding["protocol"])


def _address(finding):
    if finding.get("interface"):
        return "{}%{}".format(finding["address"], finding["interface"])
    return finding["address"]


def _owner(finding):
    if finding.get("container"):
        return owner_label(finding)
    return finding.get("unit") or ", ".join(finding.get("processes") or []) or "-"


def _action(finding):
    """The action taken, and the rule's when a safety rule changed it (NFS, management)."""
    policy = finding.get("policy_action")
    if policy and policy != finding["action"]:
        return "{} (policy: {})".format(finding["action"], policy)
    return finding["action"]


def _groups(findings, key):
    """Findings grouped by key(finding), groups in order of first appearance."""
    groups = {}
    for finding in findings:
        groups.setdefault(key(finding), []).append(finding)
    return groups


def _worst(findings):
    return min((f["status"] for f in findings), key=SEVERITY.index)


def _columns(doc):
    """(port, protocol) of every finding in the fleet, sorted, with the rules that flagged it."""
    columns = {}
    for host in doc["hosts"].values():
        for finding in host["findings"]:
            rules = columns.setdefault((finding["port"], finding["protocol"]), [])
            if finding["rule"] not in rules:
                rules.append(finding["rule"])
    return sorted(columns.items())


def _rules(doc):
    """{rule id: (policy action, reason)} of every rule with a finding, in column order."""
    rules = {}
    for _column, _host, finding in _findings_by_column(doc):
        if finding["rule"] not in rules:
            action = finding.get("policy_action") or finding["action"]
            rules[finding["rule"]] = (action, finding.get("reason") or "")
    return rules


def _findings_by_column(doc):
    items = []
    for name, host in doc["hosts"].items():
        for finding in host["findings"]:
            items.append(((finding["port"], finding["protocol"]), name, finding))
    return sorted(items, key=lambda item: item[0])


def _host_facts(host):
    """What the report says about the host besides its findings, as short phrases."""
    facts = []
    if host["firewall"] is not None:
        facts.append("firewall " + host["firewall"])
    if host.get("firewalls"):
        facts.append("filtering " + ", ".join(host["firewalls"]))
    if host.get("backend"):
        facts.append("ports closed by " + _BACKENDS.get(host["backend"], host["backend"]))
    if host["nfs_in_use"] is not None:
        facts.append("NFS in use" if host["nfs_in_use"] else "NFS not in use")
    outside = host.get("outside")
    if outside:
        seen = "probed {} from {}".format(outside["address"], outside["from"])
        if outside["disagreements"]:
            seen += ": {} where the probe and the model differ".format(
                _plural(len(outside["disagreements"]), "port")
            )
        if outside["unexpected"]:
            seen += "; reached unknown ports " + ", ".join(outside["unexpected"])
        facts.append(seen)
    allowed = _allowed_labels(host)
    if allowed:
        facts.append("allowed " + ", ".join(allowed))
    return facts


_BACKENDS = {"firewalld": "firewalld", "nftables": "table inet portguard"}


def _allowed_labels(host):
    labels = set((a["port"], a["protocol"]) for a in host["allowed"])
    return ["%d/%s" % label for label in sorted(labels)]


# ---------------------------------------------------------------------------
# Markdown


def _md(value):
    """A name in Markdown: shown as it is, control characters written out, never markup."""
    return markdown_text(value) or "-"


def _md_prose(value):
    """A sentence in Markdown (an error, a note): its lines joined, then as _md."""
    return markdown_prose(value) or "-"


def _md_row(cells):
    """A table row of cells already encoded with _md or _md_prose."""
    return "| " + " | ".join(cells) + " |"


def _md_names(values):
    return [_md(v) for v in values]


def render_markdown(doc):
    """A summary for a terminal or a merge request: verdict, hosts table, findings per host."""
    run, s = doc["run"], doc["summary"]
    policy = run["policy"]
    lines = [
        "# Exposed ports: {}, {}".format(_md(run["playbook"]), _mode(run)),
        "",
        "Started {}. Policy: default action {}; rules {}.".format(
            _md(run["started"]),
            _md(policy["default_action"]),
            ", ".join(_md(r) for r in policy["rules"]) or "none",
        ),
        "",
        "**%s**" % _md_prose(verdict(doc)[1]),
        "",
        _md_row(["host", "state", "open", "remediated", "kept", "failed"]),
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for name, host in doc["hosts"].items():
        counts = [host["summary"][status] for status in STATUSES]
        lines.append(_md_row(_md_names([name, host["state"]] + counts)))
    states = ", ".join("%d %s" % (s[state], state) for state in HOST_STATES if s[state])
    totals = [states or "no hosts", s["open"], s["remediated"], s["kept"], s["failed_findings"]]
    # Bold, so that a host named "total" cannot pass for this row.
    lines.append("| **total** " + _md_row(_md_names(totals)))
    for name, host in doc["hosts"].items():
        lines.extend(["", "## " + _md(name), ""] + _md_host(host))
    rules = _rules(doc)
    if rules:
        lines.extend(["", "## Rules", "", _md_row(["rule", "action", "reason"])])
        lines.append("| --- | --- | --- |")
        for rule, (action, reason) in rules.items():
            lines.append(_md_row([_md(rule), _md(action), _md_prose(reason)]))
    return "\n".join(lines) + "\n"


def _md_host(host):
    blocks = []
    if host["state"] != "ok":
        error = host["error"] or "no message recorded"
        blocks.append(["**{}**: {}".format(host["state"], _md_prose(error))])
    facts = _host_facts(host)
    if facts:
        blocks.append([_md_prose("; ".join(facts)) + "."])
    if host["findings"]:
        table = [
            _md_row(["status", "port", "address", "unit", "action", "rule", "reason / note"]),
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for f in host["findings"]:
            # The note says what became of this finding; the rule's reason is in the rules table.
            why = f.get("note") or f.get("reason")
            names = [f["status"], _port_label(f), _address(f), _owner(f), _action(f), f["rule"]]
            table.append(_md_row(_md_names(names) + [_md_prose(why)]))
        blocks.append(table)
    elif host["state"] == "ok":
        blocks.append(["No exposed violations."])
    lines = []
    for block in blocks:
        lines.extend(([""] if lines else []) + block)
    return lines


# ---------------------------------------------------------------------------
# HTML


_CSS = """
:root { --open: #d1242f; --failed: #82071e; --kept: #bf8700; --remediated: #1a7f37;
  --none: #f6f8fa; --line: #d0d7de; --muted: #59636e; }
* { box-sizing: border-box; }
body { margin: 0; padding: 24px 32px 48px; color: #1f2328; background: #fff;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; }
h1 { font-size: 22px; margin: 0 0 4px; }
h1 .mode { font-weight: normal; color: var(--muted); }
h2 { font-size: 17px; margin: 28px 0 10px; padding-bottom: 4px;
  border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 22px 0 6px; }
.meta { color: var(--muted); margin: 0 0 12px; }
.verdict { display: inline-block; margin: 4px 0 14px; padding: 8px 14px; border-radius: 6px;
  font-weight: 600; }
.verdict.bad { background: #ffebe9; color: var(--failed); border: 1px solid #ffcecb; }
.verdict.good { background: #dafbe1; color: #116329; border: 1px solid #aceebb; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 8px 14px; min-width: 104px; }
.card b { display: block; font-size: 22px; line-height: 1.2; }
.card span { color: var(--muted); font-size: 12px; }
.card.open b { color: var(--open); } .card.failed b { color: var(--failed); }
.card.kept b { color: var(--kept); } .card.remediated b { color: var(--remediated); }
.card.down b { color: var(--muted); }
.card.zero b { color: #afb8c1; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; }
th, td { border: 1px solid var(--line); padding: 5px 8px; vertical-align: top; }
thead th { background: #f6f8fa; font-weight: 600; text-align: left; }
.matrix th, .matrix td { text-align: center; vertical-align: middle; }
.matrix thead th small { display: block; font-weight: normal; color: var(--muted);
  font-size: 11px; }
.matrix tbody th { text-align: left; white-space: nowrap; background: #fff; }
/* A wide matrix scrolls sideways inside .scroll; its host column stays put, with its own
   borders (collapsed borders would scroll away from it). */
.matrix { border-collapse: separate; border-spacing: 0; }
.matrix th, .matrix td { border-width: 0 1px 1px 0; }
.matrix thead th { border-top-width: 1px; }
.matrix tr > :first-child { position: sticky; left: 0; z-index: 1; border-left-width: 1px; }
.matrix td { min-width: 92px; height: 38px; }
.matrix td.allowed { color: var(--muted); font-size: 12px; text-align: left; min-width: 0; }
td.c-none { background: var(--none); }
td.c-open { background: var(--open); } td.c-failed { background: var(--failed); }
td.c-kept { background: var(--kept); } td.c-remediated { background: var(--remediated); }
.f { display: inline-block; margin: 1px; padding: 0 6px; border-radius: 9px; color: #fff;
  font-size: 12px; font-weight: 600; border: 1px solid rgba(255, 255, 255, .65); }
.s-open { background: var(--open); } .s-failed { background: var(--failed); }
.s-kept { background: var(--kept); } .s-remediated { background: var(--remediated); }
.state { display: inline-block; margin-left: 6px; padding: 0 6px; border-radius: 9px;
  font-size: 11px; font-weight: 600; background: #ddf4ff; color: #0969da; }
.state.unreachable, .state.failed { background: #6e7781; color: #fff; }
tr.down th, tr.down td { background: #eaeef2; color: var(--muted); }
tr.down td.error { text-align: left; font-family: ui-monospace, monospace; font-size: 12px; }
.legend { display: flex; flex-wrap: wrap; gap: 16px; margin: 10px 0 0; color: var(--muted);
  font-size: 12px; align-items: center; }
.legend i { display: inline-block; width: 14px; height: 14px; border-radius: 3px;
  vertical-align: -2px; margin-right: 5px; border: 1px solid var(--line); }
.legend i.c-none { background: var(--none); } .legend i.down { background: #eaeef2; }
.rules td:first-child, .mono { font-family: ui-monospace, monospace; font-size: 12px; }
/* Short columns stay on one line; names wrap so the table fits a laptop screen. */
.details tr.finding td:nth-child(-n+3) { white-space: nowrap; }
.details tr.noted td { border-bottom: 0; }
.details tr.note td { border-top: 0; padding-top: 0; white-space: normal; }
.matrix tbody th a { color: inherit; text-decoration: none; }
.matrix tbody th a:hover { text-decoration: underline; }
.matrix td .st { display: block; color: #fff; font-size: 10px; font-weight: 700;
  letter-spacing: .06em; text-transform: uppercase; opacity: .9; }
.rules td:nth-child(3) { max-width: 760px; }
.badge { display: inline-block; padding: 0 7px; border-radius: 9px; color: #fff; font-size: 12px;
  font-weight: 600; }
.facts { color: var(--muted); margin: 0 0 8px; }
p.error { margin: 0 0 8px; padding: 6px 10px; background: #eaeef2; border-left: 4px solid #6e7781;
  font-family: ui-monospace, monospace; font-size: 12px; white-space: pre-wrap; }
.none { color: var(--muted); }
footer { margin-top: 32px; color: var(--muted); font-size: 12px; }
"""


def _h(value):
    """HTML text of a value, its control characters written out as in the terminal."""
    return html.escape(terminal_safe(value))


def _h_lines(value):
    """_h for messages shown with their line breaks (an unreachable host's error)."""
    return html.escape(terminal_lines(value))


def render_html(doc):
    """One self-contained page: verdict, a hosts x ports matrix, the rules, details per host."""
    run = doc["run"]
    good, sentence = verdict(doc)
    title = "Exposed ports: %s" % run["playbook"]
    anchors = dict((name, "host-%d" % i) for i, name in enumerate(doc["hosts"], 1))
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>%s</title>" % _h(title),
        "<style>%s</style>" % _CSS,
        "</head>",
        "<body>",
        '<h1>%s <span class="mode">(%s)</span></h1>' % (_h(title), _h(_mode(run))),
        '<p class="meta">Started %s &middot; default action %s &middot; rules: %s</p>'
        % (
            _h(run["started"]),
            _h(run["policy"]["default_action"]),
            _h(", ".join(run["policy"]["rules"]) or "none"),
        ),
        '<div class="verdict %s">%s</div>' % ("good" if good else "bad", _h(sentence)),
        _html_cards(doc["summary"]),
        "<h2>Exposure by host</h2>",
    ]
    parts.extend(_html_matrix(doc, anchors))
    parts.extend(_html_legend())
    rules = _rules(doc)
    if rules:
        parts.append("<h2>Rules</h2>")
        parts.append('<table class="rules"><thead><tr><th>rule</th><th>action</th>')
        parts.append("<th>reason</th></tr></thead><tbody>")
        for rule, (action, reason) in rules.items():
            parts.append(
                "<tr><td>%s</td><td>%s</td><td>%s</td></tr>" % (_h(rule), _h(action), _h(reason))
            )
        parts.append("</tbody></table>")
    parts.append("<h2>Hosts</h2>")
    for name, host in doc["hosts"].items():
        parts.extend(_html_host(name, host, anchors[name]))
    parts.append(
        "<footer>portguard.hardening fleet report, document version %d</footer>" % doc["version"]
    )
    parts.extend(["</body>", "</html>"])
    return "\n".join(parts) + "\n"


def _html_cards(s):
    cards = (
        ("hosts", s["hosts"], ""),
        ("ok", s["ok"], ""),
        ("unreachable", s["unreachable"], "down"),
        ("failed hosts", s["failed"], "down"),
        ("open", s["open"], "open"),
        ("failed findings", s["failed_findings"], "failed"),
        ("kept", s["kept"], "kept"),
        ("remediated", s["remediated"], "remediated"),
    )
    return (
        '<div class="cards">'
        + "".join(
            '<div class="card %s"><b>%d</b><span>%s</span></div>'
            % (cls if count else "zero", count, _h(label))
            for label, count, cls in cards
        )
        + "</div>"
    )


# A socket on every address is labelled by its family; any other by its address.
_WILDCARDS = ("0.0.0.0", "::")  # noqa: S104 - compared with, never bound


def _chip_label(finding):
    if finding["address"] in _WILDCARDS:
        return {"ipv4": "IPv4", "ipv6": "IPv6"}.get(finding.get("family") or "", "any")
    return _address(finding)


def _html_matrix(doc, anchors):
    columns = _columns(doc)
    head = "".join(
        "<th>%s<small>%s</small></th>" % (_h("%d/%s" % key), _h(", ".join(rules)))
        for key, rules in columns
    )
    rows = [
        '<div class="scroll"><table class="matrix">',
        "<thead><tr><th>host</th>%s<th>allowed</th></tr></thead><tbody>" % head,
    ]
    for name, host in doc["hosts"].items():
        state = host["state"]
        label = '<th title="%s"><a href="#%s">%s</a>%s</th>' % (
            _h_lines(host["error"] or ""),
            anchors[name],
            _h(name),
            "" if state == "ok" else '<span class="state %s">%s</span>' % (state, state),
        )
        if state != "ok" and not host["findings"]:
            rows.append(
                '<tr class="host down" data-host="%s" data-state="%s">%s'
                '<td class="error" colspan="%d">%s</td></tr>'
                % (
                    _h(name),
                    state,
                    label,
                    len(columns) + 1,
                    _h_lines(host["error"] or "no message recorded"),
                )
            )
            continue
        by_port = _groups(host["findings"], lambda f: (f["port"], f["protocol"]))
        cells = [_html_cell(by_port.get(key, [])) for key, _label in columns]
        allowed = _h(" ".join(_allowed_labels(host))) or "&ndash;"
        rows.append(
            '<tr class="host %s" data-host="%s" data-state="%s">%s%s<td class="allowed">%s</td>'
            "</tr>" % (state, _h(name), state, label, "".join(cells), allowed)
        )
    rows.append("</tbody></table></div>")
    return rows


def _chip_title(f):
    where = "%s on %s" % (_port_label(f), _address(f))
    return "%s: %s (%s), %s" % (f["status"], where, _owner(f), _action(f))


def _html_cell(findings):
    if not findings:
        return '<td class="c-none"></td>'
    chips = "".join(
        '<span class="f s-%s" title="%s">%s</span>'
        % (
            f["status"],
            _h(_chip_title(f)),
            _h(_chip_label(f)),
        )
        for f in findings
    )
    # The status in words too, for readers who cannot tell the colours apart.
    worst = _worst(findings)
    return '<td class="c-%s"><span class="st">%s</span>%s</td>' % (worst, worst, chips)


def _html_legend():
    items = ['<span><i class="s-%s"></i>%s</span>' % (status, status) for status in SEVERITY]
    items.append('<span><i class="c-none"></i>not exposed</span>')
    items.append('<span><i class="down"></i>host not reported</span>')
    return [
        '<div class="legend">%s<span>Each chip is one listening socket; a cell takes the colour '
        "of its worst.</span></div>" % "".join(items)
    ]


def _html_host(name, host, anchor):
    s = host["summary"]
    facts = _host_facts(host)
    if host["state"] == "ok" or host["findings"]:
        counts = "%d open, %d remediated, %d kept, %d failed" % tuple(s[k] for k in STATUSES)
        facts.insert(0, counts)
    state = host["state"]
    parts = [
        '<section id="%s">' % anchor,
        '<h3>%s<span class="state %s">%s</span></h3>' % (_h(name), state, state),
    ]
    if facts:
        parts.append('<p class="facts">%s</p>' % " &middot; ".join(_h(f) for f in facts))
    if state != "ok":
        parts.append('<p class="error">%s</p>' % _h_lines(host["error"] or "no message recorded"))
    if host["findings"]:
        heads = ("status", "port", "address", "unit", "processes", "activated by", "action", "rule")
        parts.append(
            '<div class="scroll"><table class="details"><thead><tr>%s</tr></thead><tbody>'
            % "".join("<th>%s</th>" % h for h in heads)
        )
        for f in host["findings"]:
            cells = [
                '<span class="badge s-%s">%s</span>' % (f["status"], f["status"]),
                _h(_port_label(f)),
                '<span class="mono">%s</span>' % _h(_address(f)),
                _h(owner_label(f) if f.get("container") else f.get("unit") or "-"),
                _h(", ".join(f.get("processes") or []) or "-"),
                _h(", ".join(f.get("activated_by") or []) or "-"),
                _h(_action(f)),
                _h(f["rule"]),
            ]
            note = f.get("note")
            parts.append(
                '<tr class="finding%s">%s</tr>'
                % (" noted" if note else "", "".join("<td>%s</td>" % c for c in cells))
            )
            if note:
                # The sentence that says what to do gets the table's whole width.
                parts.append(
                    '<tr class="note"><td></td><td colspan="%d">%s</td></tr>'
                    % (len(heads) - 1, _h(note))
                )
        parts.append("</tbody></table></div>")
    elif state == "ok":
        parts.append('<p class="none">No exposed violations.</p>')
    parts.append("</section>")
    return parts


# ---------------------------------------------------------------------------
# JUnit


def _x(value):
    """An attribute value: as in the terminal, which also writes out every character XML 1.0
    cannot carry (C0 controls, lone surrogates, U+FFFE and U+FFFF)."""
    return terminal_safe(value)


def _indent(elem, level=0):
    # ElementTree.indent needs Python 3.9; none of these elements mixes text and children.
    children = list(elem)
    if children:
        pad = "\n" + "  " * level
        elem.text = pad + "  "
        for child in children:
            _indent(child, level + 1)
            child.tail = pad + "  "
        children[-1].tail = pad


def _junit_case(suite, host, name):
    return ET.SubElement(suite, "testcase", classname=_x(host), name=_x(name))


def _junit_failure(findings):
    bad = [f for f in findings if f["status"] in FAILING]
    first = bad[0]
    message = "{} {} on {} ({}): {}".format(
        _port_label(first),
        "/".join(sorted(set(f["status"] for f in bad), key=SEVERITY.index)),
        ", ".join(_address(f) for f in bad),
        ", ".join(sorted(set(_owner(f) for f in bad))),
        ", ".join(sorted(set(_action(f) for f in bad))),
    )
    notes = [f["note"] for f in bad if f.get("note")]
    if notes:
        message += "; " + "; ".join(notes)
    kind = "failed" if any(f["status"] == "failed" for f in bad) else "open"
    return kind, message


def render_junit(doc):
    """JUnit XML: a testcase per host and rule+port/protocol; open and failed findings fail."""
    run = doc["run"]
    suite = ET.Element("testsuite", name=JUNIT_SUITE)
    properties = ET.SubElement(suite, "properties")
    for key, value in (
        ("playbook", run["playbook"]),
        ("check_mode", "true" if run["check_mode"] else "false"),
        ("started", run["started"]),
        ("default_action", run["policy"]["default_action"]),
    ):
        ET.SubElement(properties, "property", name=key, value=_x(value))
    counts = {"tests": 0, "failures": 0, "errors": 0}
    for host_name, host in doc["hosts"].items():
        if host["state"] != "ok":
            # The brief's name for an unreachable host; a failed one was reached but broke.
            what = "reachable" if host["state"] == "unreachable" else "completed"
            case = _junit_case(suite, host_name, "%s %s" % (host_name, what))
            error = host["error"] or "no message recorded"
            ET.SubElement(
                case, "error", type=host["state"], message=_x("%s: %s" % (host["state"], error))
            ).text = terminal_lines(error)
            counts["tests"] += 1
            counts["errors"] += 1
        elif not host["findings"]:
            _junit_case(suite, host_name, "%s no exposed violations" % host_name)
            counts["tests"] += 1
        groups = _groups(host["findings"], lambda f: (f["rule"], f["port"], f["protocol"]))
        for (rule, port, protocol), findings in groups.items():
            case = _junit_case(suite, host_name, "%s %d/%s" % (rule, port, protocol))
            text = terminal_lines("\n".join(finding_lines(findings)))
            counts["tests"] += 1
            if any(f["status"] in FAILING for f in findings):
                kind, message = _junit_failure(findings)
                ET.SubElement(case, "failure", type=kind, message=_x(message)).text = text
                counts["failures"] += 1
            else:
                ET.SubElement(case, "system-out").text = text
    for key in ("tests", "failures", "errors"):
        suite.set(key, str(counts[key]))
    suite.set("skipped", "0")
    suite.set("timestamp", _x(run["started"]))
    _indent(suite)
    text = ET.tostring(suite, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + text + "\n"
