# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Judging listening sockets against the rules in effect, with the safety rules (management
connection, NFS, units that cannot be stopped), and the policy's plan of the remediation."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type
from collections.abc import Mapping

from ansible_collections.portguard.hardening.plugins.module_utils._firewalld import rich_rules
from ansible_collections.portguard.hardening.plugins.module_utils._unit_names import (
    disable_problem,
    is_user_manager,
    unit_name_problem,
)
from ansible_collections.portguard.hardening.plugins.module_utils._values import (
    PolicyError,
    is_list,
    show,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._policy.baseline import (
    baseline_index,
    in_baseline,
    missing_from,
    validate_listeners,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._policy.firewall_model import (
    _sorted_sources,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._policy.rules import (
    _CHANGING,
    _FINDING_ACTIONS,
    _OPEN_RANK,
    BASELINE_RULE_ID,
    DEFAULT_RULE_ID,
    DRIFT_RULE_ID,
    _check_sockets,
    _default_rule,
    _effective_rules,
    _first_match,
    _join_notes,
    _port_label,
    _process_names,
    _processes,
    _reach,
    _read_context,
    _socket_key,
    _unit_names,
    _within,
    validate_policy,
)

# ---------------------------------------------------------------------------
# Evaluation


def _is_loopback(sock):
    return sock.get("scope") == "loopback" or sock.get("interface") == "lo"


def _management(sock, ctx):
    """What makes this socket serve Ansible's connection, or None."""
    if (sock["protocol"], sock["port"]) in ctx["management_ports"]:
        return "{}/{}".format(sock["protocol"], sock["port"])
    for name in _system_unit_names(sock):
        if name in ctx["management_units"]:
            return name
    return None


def _system_unit_names(sock):
    """The socket's units that PID 1 vouches for: its unit once verified, its .socket units.

    A cgroup name alone proves nothing (a user may call a unit of their own ssh.service), so
    only these are matched against the management units.
    """
    names = list(sock.get("activated_by") or [])
    if sock.get("unit") and sock.get("unit_verified") is True:
        names.insert(0, sock["unit"])
    return names


def _is_rpcbind(sock):
    units = _unit_names(sock)
    return sock["port"] == 111 or "rpcbind.service" in units or "rpcbind.socket" in units


def _why_not_disableable(sock):
    """Why no systemd unit can be disabled to close this socket, or None when one can."""
    container = sock.get("engine_container")
    if sock.get("published"):
        if container:
            name = _container_name(container)
            return f"a port {name} publishes: its engine is never stopped for one container's port"
        return "a port forward of the kernel's ruleset ({}), with no unit of its own".format(
            sock["published"].get("forward") or "DNAT"
        )
    if container:
        name = _container_name(container)
        return f"held by {name}: its engine is never stopped for one container"
    unit = sock.get("unit")
    if unit:
        return _why_not_stoppable(sock, unit)
    if sock.get("holders") == "kernel":
        return "a kernel socket with no systemd unit"
    names = _process_names(sock)
    if not names:
        return "no visible process holds it"
    return "held by {} outside any systemd unit".format(", ".join(names))


def _why_not_stoppable(sock, unit):
    """Why systemctl may not stop and mask this socket's unit, or None when it may."""
    problem = unit_name_problem(unit)
    if problem:
        return f"its unit {show(unit)} is not a systemd unit name: it {problem}"
    if is_user_manager(unit):
        inner = sock.get("user_unit")
        what = f"the user unit {show(inner)}" if inner else "a process"
        return (
            f"held by {what} of the user manager {unit}, which runs every service of that "
            "user and is not the system's to stop"
        )
    if sock.get("container"):
        return "held by container {} ({})".format(show(sock["container"]), unit)
    if not unit.endswith((".service", ".socket")):
        return f"held by {unit}, which is not a service"
    if sock.get("unit_verified") is not True:
        why = sock.get("unit_problem") or "the facts do not say it was checked"
        return f"systemd (PID 1) has not confirmed {unit} ({why})"
    for name in sock.get("activated_by") or []:
        problem = unit_name_problem(name)
        if problem:
            return f"its socket unit {show(name)} is not a systemd unit name: it {problem}"
    return None


def _container_name(container):
    return "container {} ({})".format(show(container.get("name")), container.get("engine"))


def _protected_units(sockets, ctx):
    """Units (and socket units) behind Ansible's connection: disabling one would cut it."""
    return set(name for sock in sockets if _management(sock, ctx) for name in _unit_names(sock))


def _fallback_note(sock, ctx):
    """Why a disable of this socket becomes a block, or None when it can be disabled."""
    label = _port_label(sock["port"], sock["protocol"])
    protected = [name for name in _unit_names(sock) if name in ctx["protected_units"]]
    if protected:
        return (
            f"{protected[0]} also serves the connection Ansible is using, so it is not "
            f"disabled; port {label} blocked in {ctx['firewall_name']} instead"
        )
    if ctx["nfs_in_use"] and _is_rpcbind(sock):
        in_use = "NFS is in use"
        if ctx["nfs_reason"]:
            in_use += " ({})".format(ctx["nfs_reason"])
        return "rpcbind kept running: {}; port {} blocked in {} instead".format(
            in_use, sock["port"], ctx["firewall_name"]
        )
    why = _why_not_disableable(sock)
    if why:
        # Forwarded packets pass no input rule: only the collection's table closes them.
        where = "table inet portguard" if sock.get("published") else ctx["firewall_name"]
        return f"{why}, so it cannot be disabled; port {label} blocked in {where} instead"
    return None


def _decide(sock, rule, ctx):
    """{"action", "status", "note", "management"} after the safety checks."""
    action = rule["action"]
    served = _management(sock, ctx)
    if served and action not in _CHANGING:
        return {"action": "allow", "status": None, "note": None, "management": True}
    if served:
        note = f"serves the connection Ansible is using ({served})"
        return {"action": "report", "status": "kept", "note": note, "management": True}
    note = _fallback_note(sock, ctx) if action == "disable" else None
    if note:
        action = "block"
    status = None if action == "allow" else "open"
    return {"action": action, "status": status, "note": note, "management": False}


def _satisfied(action, rule, reach):
    """Whether a restricted socket already meets the action, so nothing has to change."""
    if reach["exposure"] != "restricted":
        return False
    if action == "block":
        return True
    return action == "restrict" and all(_within(s, rule["sources"]) for s in reach["sources"])


def _base_entry(sock, rule_id):
    entry = {
        "rule": rule_id,
        "protocol": sock["protocol"],
        "family": sock["family"],
        "address": sock["address"],
        "port": sock["port"],
        "unit": sock.get("unit"),
    }
    # A wildcard IPv6 socket that takes IPv4 too: an IPv4 probe reaches it.
    if sock["family"] == "ipv6" and sock.get("v6only") is False:
        entry["v6only"] = False
    # Only where there is one, so reports of hosts without containers keep their shape.
    if sock.get("engine_container"):
        entry["container"] = dict(sock["engine_container"])
    if sock.get("published"):
        entry["published"] = dict(sock["published"])
    return entry


def _compliant(sock, why, rule_id=None, sources=()):
    entry = _base_entry(sock, rule_id)
    entry.update({"why": why, "exposed_to": list(sources)})
    return entry


def _allowed(sock, rule, decision, reach):
    entry = _base_entry(sock, rule["id"])
    entry.update({"management": decision["management"], "exposure": reach["exposure"]})
    return entry


def _finding(sock, rule, decision, reach):
    entry = _base_entry(sock, rule["id"])
    entry.update(
        {
            "reason": rule["reason"],
            "scope": sock.get("scope"),
            "interface": sock.get("interface"),
            "processes": _process_names(sock),
            "pids": sorted(p["pid"] for p in _processes(sock) if "pid" in p),
            "activated_by": list(sock.get("activated_by") or []),
            "policy_action": rule["action"],
            "action": decision["action"],
            "status": decision["status"],
            "note": decision["note"],
            "sources": list(rule["sources"]) if decision["action"] == "restrict" else [],
            "exposure": reach["exposure"],
            "exposed_to": list(reach["sources"]),
        }
    )
    return entry


_BASELINE_RULE = {
    "id": BASELINE_RULE_ID,
    "action": "allow",
    "reason": "in the approved baseline",
    "sources": [],
}
_DRIFT_RULE = {
    "id": DRIFT_RULE_ID,
    "action": "report",
    "reason": "exposed listener not in the approved baseline",
    "sources": [],
}


def _baseline_rule(sock, rule, baseline):
    """The rule deciding an exposed socket once the approved baseline is known.

    A matching rule decides, allow included: an allow rule approves the
    listener on every host.  The baseline only replaces the default action.
    """
    if baseline is None or rule["id"] != DEFAULT_RULE_ID:
        return rule
    return _BASELINE_RULE if in_baseline(sock, baseline) else _DRIFT_RULE


def _judge(sock, rules, default, ctx):
    """("compliant"|"allowed"|"finding", entry) for one socket."""
    if _is_loopback(sock):
        return "compliant", _compliant(sock, "loopback")
    reach = _reach(sock, ctx)
    rule = _baseline_rule(sock, _first_match(rules, sock, default), ctx["baseline"])
    decision = _decide(sock, rule, ctx)
    if reach["exposure"] == "closed":
        return "compliant", _compliant_as(sock, "firewalled", rule, decision, ())
    if decision["action"] == "allow":
        return "allowed", _allowed(sock, rule, decision, reach)
    if decision["status"] == "open" and _satisfied(decision["action"], rule, reach):
        return "compliant", _compliant_as(sock, "restricted", rule, decision, reach["sources"])
    return "finding", _finding(sock, rule, decision, reach)


def _compliant_as(sock, why, rule, decision, sources):
    """A compliant entry that also says what its rule wants (so a closure is kept in place)."""
    entry = _compliant(sock, why, rule["id"] if why == "restricted" else None, sources)
    entry["policy_action"] = decision["action"]
    entry["policy_rule"] = rule["id"]
    entry["policy_sources"] = list(rule["sources"]) if decision["action"] == "restrict" else []
    return entry


def evaluate(
    sockets, rules, default_action="report", use_builtin=True, context=None, baseline=None
):
    """Judge listening sockets against the policy and plan the remediation.

    ``sockets`` is ansible_facts.listening_sockets; ``rules`` the user's rules
    (None for none).  ``context`` (every key optional):

    - management_ports: [{"port": 22, "protocol": "tcp"}], the connection
      Ansible uses; management_units: units serving it.  Such sockets are
      never disabled, blocked or restricted.
    - nfs_in_use (bool), nfs_reason (str): rpcbind is then blocked, not disabled.
    - socket_units: listening_sockets_meta.systemd.socket_units; socket units
      triggering a unit to disable are masked with it.
    - firewall: {"state": "running"|"stopped"|"absent", "zones": [zone, ...],
      "services": {"http": ["80/tcp"], ...}} where a zone is {"name",
      "active" (default true), "default" (firewalld's default zone, default
      false), "target", "ports": ["8080/tcp", "6000-6010/udp"],
      "services_ports": [...], "rich_rules": [...], "sources": [...],
      "interfaces": [...]}.  services resolves service names in rich rules.
      Without firewall, or when it is not running, every socket is reachable.

    ``baseline`` is the host's approved listeners, the ``listeners`` of a
    _baseline.baseline_document(), or None.  When given it takes the place of
    default_action: an exposed socket no rule matches is allowed (rule
    "baseline") when in the baseline, else a "drift" finding with action
    report.  A matching rule still decides, so a forbidding built-in rule (such
    as rpcbind's disable) wins over the baseline, and a user allow rule
    approves a listener the baseline lacks (it is allowed with the rule's id:
    the rule is the approval that applies to every host).  Safety overrides
    apply as to any rule, so a management socket is allowed even as drift.
    The user's rules may then not use the ids "baseline" and "drift".

    Raises PolicyError listing every problem with the rules or the inputs.
    Returns {"findings", "allowed", "compliant", "plan", "summary", "notes",
    "baseline"}; baseline is {"given": bool, "missing": entries no socket
    matches now} (information, not findings), and with a baseline the summary
    also counts "drift" findings.
    """
    if not isinstance(use_builtin, bool):
        raise PolicyError([f"use_builtin must be true or false, got {show(use_builtin)}"])
    errors = validate_policy(rules, default_action)
    if baseline is not None:
        errors.extend(_baseline_problems(rules, baseline))
    if errors:
        raise PolicyError(errors)
    _check_sockets(sockets, "sockets")
    ctx = _read_context(context)
    ctx["baseline"] = None if baseline is None else baseline_index(baseline)
    ctx["protected_units"] = _protected_units(sockets, ctx)
    policy = _effective_rules(rules, use_builtin)
    default = _default_rule(default_action)
    results = {"finding": [], "allowed": [], "compliant": []}
    judged = [(s,) + _judge(s, policy, default, ctx) for s in sorted(sockets, key=_socket_key)]
    _keep_shared_units(judged, ctx["socket_units"])
    for _sock, kind, entry in judged:
        results[kind].append(entry)
    findings = results["finding"]
    notes = list(ctx["firewall"]["notes"])
    plan = _plan(findings, results["allowed"], ctx, notes)
    summary = _summary(findings, results)
    if baseline is not None:
        summary["drift"] = sum(1 for f in findings if f["rule"] == DRIFT_RULE_ID)
    return {
        "findings": findings,
        "allowed": results["allowed"],
        "compliant": results["compliant"],
        "plan": plan,
        "summary": summary,
        "notes": notes,
        "baseline": {
            "given": baseline is not None,
            "missing": [] if baseline is None else missing_from(baseline, sockets),
        },
    }


def _baseline_problems(rules, baseline):
    problems = validate_listeners(baseline, "baseline")
    # A user rule named like them would make its findings read as the baseline's.
    for rule in rules if is_list(rules) else []:
        rule_id = rule.get("id") if isinstance(rule, Mapping) else None
        if rule_id in (BASELINE_RULE_ID, DRIFT_RULE_ID):
            problems.append(
                f"rule {show(rule_id)}: id {show(rule_id)} is reserved for the baseline when "
                "one is given; rename the rule"
            )
    return problems


def _summary(findings, results):
    by_action = dict((action, 0) for action in _FINDING_ACTIONS)
    for finding in findings:
        by_action[finding["action"]] += 1
    return {
        "open": sum(1 for f in findings if f["status"] == "open"),
        "kept": sum(1 for f in findings if f["status"] == "kept"),
        "allowed": len(results["allowed"]),
        "compliant": len(results["compliant"]),
        "by_action": by_action,
    }


# ---------------------------------------------------------------------------
# Plan


def _triggering_socket_units(unit, socket_units):
    return [u["unit"] for u in socket_units if unit in (u.get("triggers") or [])]


# How a listener the policy keeps is named in a note, by what keeps it.
_KEPT_AS = {"block": "blocked", "report": "reported", "restrict": "restricted"}
_KEPT_SHOWN = 5


def _units_taking_down(sock, triggered_by):
    """The units whose stop or mask takes this listener down: its own unit, the socket units
    that provide it and those that trigger its unit (a disable masks all of them)."""
    names = set(_unit_names(sock))
    names.update(triggered_by.get(sock.get("unit"), ()))
    return names


def _kept_label(sock, kind, entry):
    if kind == "allowed":
        why = "management" if entry["management"] else "allowed"
    elif kind == "compliant":
        why = entry["why"]
    elif entry["status"] == "kept":
        why = "management"
    else:
        why = _KEPT_AS.get(entry["action"], entry["action"])
    return (sock["port"], sock["protocol"], why)


def _shared_unit_note(sock, unit, mine, kept):
    """The note of a disable turned block: ``kept`` is (units, labels) of the listeners kept."""
    kept_units, labels = kept
    shown = ["{}/{}: {}".format(*label) for label in labels[:_KEPT_SHOWN]]
    if len(labels) > _KEPT_SHOWN:
        shown.append(f"{len(labels) - _KEPT_SHOWN} more")
    shared = sorted(mine & kept_units)
    if not shared:
        who = f"{unit} shares socket units with units that serve"
    elif len(shared) == 1:
        who = f"{shared[0]} also serves"
    else:
        who = "{} also serve".format(", ".join(shared))
    return (
        "{} listeners the policy keeps ({}), so {} not disabled; port {} blocked in firewalld "
        "instead".format(
            who,
            "; ".join(shown),
            "they are" if len(shared) > 1 else "it is",
            _port_label(sock["port"], sock["protocol"]),
        )
    )


def _keep_shared_units(judged, socket_units):
    """Turn into blocks the disables that would take down a listener the policy keeps.

    ``judged`` is [(socket, kind, entry)] for every socket, loopback and firewalled ones
    included.  Units are joined when one listener names several (its service, the socket units
    providing it, those triggering the service): a disable stops and masks all of them, so a
    group is disabled only when each of its listeners is an open disable finding.  Every other
    disable of the group becomes a block, with a note naming the listeners kept.  Changes the
    finding entries in place.
    """
    triggered_by = {}
    for unit in socket_units:
        for target in unit.get("triggers") or []:
            triggered_by.setdefault(target, []).append(unit["unit"])
    units = [_units_taking_down(sock, triggered_by) for sock, _kind, _entry in judged]
    parent = {}

    def root(name):
        while parent[name] != name:
            parent[name] = parent[parent[name]]
            name = parent[name]
        return name

    for names in units:
        ordered = sorted(names)
        for name in ordered:
            parent.setdefault(name, name)
        for name in ordered[1:]:
            parent[root(name)] = root(ordered[0])

    def disabling(kind, entry):
        return kind == "finding" and entry["action"] == "disable" and entry["status"] == "open"

    # One listener's names all share a root: the group is that of its first name.
    kept = {}
    for (sock, kind, entry), names in zip(judged, units):
        if names and not disabling(kind, entry):
            group = kept.setdefault(root(min(names)), (set(), set()))
            # The note names the units that serve a kept listener, not those it depends on.
            group[0].update(_unit_names(sock))
            group[1].add(_kept_label(sock, kind, entry))
    kept = dict((key, (names, sorted(labels))) for key, (names, labels) in kept.items())
    for (sock, kind, entry), names in zip(judged, units):
        group = kept.get(root(min(names))) if names and disabling(kind, entry) else None
        if group:
            entry["action"] = "block"
            note = _shared_unit_note(sock, entry["unit"], names, group)
            entry["note"] = _join_notes(entry["note"], note)


def _disable_units(findings, socket_units):
    units = {}
    for finding in findings:
        entry = units.setdefault(
            finding["unit"], {"socket_units": set(), "rules": set(), "ports": set()}
        )
        entry["socket_units"].update(finding["activated_by"])
        entry["rules"].add(finding["rule"])
        entry["ports"].add((finding["port"], finding["protocol"]))
    plan = []
    for unit in sorted(units):
        entry = units[unit]
        socket_names = entry["socket_units"] | set(_triggering_socket_units(unit, socket_units))
        socket_names.discard(unit)
        _refuse_to_stop([unit] + sorted(socket_names))
        plan.append(
            {
                "unit": unit,
                "socket_units": sorted(socket_names),
                "rules": sorted(entry["rules"]),
                "ports": [_port_label(p, proto) for p, proto in sorted(entry["ports"])],
            }
        )
    return plan


def _refuse_to_stop(names):
    """PolicyError unless every name may go to systemctl.

    The findings only ever plan a disable of verified system units, so this never fires; it
    stands between host data and the host, where exposed_ports_units checks every name again.
    """
    problems = []
    for name in names:
        problem = disable_problem(name)
        if problem:
            problems.append(f"plan.disable_units: refusing to stop {show(name)}: it {problem}")
    if problems:
        raise PolicyError(problems)


def _firewall_changes(findings):
    """{(port, protocol): {"rules": set, "sources": set}} for block and for restrict."""
    changes = {"block": {}, "restrict": {}}
    for finding in findings:
        key = (finding["port"], finding["protocol"])
        entry = changes[finding["action"]].setdefault(key, {"rules": set(), "sources": set()})
        entry["rules"].add(finding["rule"])
        entry["sources"].update(finding["sources"])
    return changes


def _ports_to_open(findings, allowed, management_ports):
    why = {}

    def add(key, reason):
        if key not in why or _OPEN_RANK[reason] < _OPEN_RANK[why[key]]:
            why[key] = reason

    for protocol, port in management_ports:
        add((port, protocol), "management")
    for entry in allowed:
        if entry["exposure"] == "everyone":
            add(
                (entry["port"], entry["protocol"]), "management" if entry["management"] else "allow"
            )
    for finding in findings:
        if finding["exposure"] == "everyone" and finding["action"] == "report":
            reason = "management" if finding["status"] == "kept" else "report"
            add((finding["port"], finding["protocol"]), reason)
    return why


def _plan(findings, allowed, ctx, notes):
    open_findings = [f for f in findings if f["status"] == "open"]
    changes = _firewall_changes(f for f in open_findings if f["action"] in ("block", "restrict"))
    block, restrict = changes["block"], changes["restrict"]
    for key in sorted(set(block) & set(restrict)):
        notes.append(
            "{}: rules {} restrict it but rules {} block it; it is blocked".format(
                _port_label(*key),
                ", ".join(sorted(restrict[key]["rules"])),
                ", ".join(sorted(block[key]["rules"])),
            )
        )
        del restrict[key]
    to_open = _ports_to_open(findings, allowed, ctx["management_ports"])
    # A firewall closes a port, not a listener: closing it would cut the listeners the policy
    # keeps (a process may bind a kept port's other family just to get it closed), the
    # management connection among them. The port stays open and its findings say why.
    for key in sorted(set(to_open) & (set(block) | set(restrict))):
        label = _port_label(*key)
        why = (
            f"not closed: {label} also serves listeners the policy keeps ({to_open[key]}), and "
            "a firewall rule would cut them too; stop this listener or move it to another port"
        )
        notes.append(f"{label}: {why}")
        block.pop(key, None)
        restrict.pop(key, None)
        for finding in open_findings:
            if (finding["port"], finding["protocol"]) == key and finding["action"] in (
                "block",
                "restrict",
            ):
                finding["status"] = "kept"
                finding["note"] = _join_notes(finding.get("note"), why)
    disable_units = _disable_units(
        [f for f in open_findings if f["action"] == "disable"], ctx["socket_units"]
    )
    plan = {
        "disable_units": disable_units,
        "firewall_block": [
            {"port": port, "protocol": protocol, "rules": sorted(block[(port, protocol)]["rules"])}
            for port, protocol in sorted(block)
        ],
        "firewall_restrict": [
            {
                "port": port,
                "protocol": protocol,
                "sources": _sorted_sources(restrict[(port, protocol)]["sources"]),
                "rules": sorted(restrict[(port, protocol)]["rules"]),
            }
            for port, protocol in sorted(restrict)
        ],
        "firewall_open": [
            {"port": port, "protocol": protocol, "why": to_open[(port, protocol)]}
            for port, protocol in sorted(to_open)
        ],
    }
    # The firewall step applies these as they are, so the role writes no rule in Jinja.
    plan["rich_rules"] = rich_rules(plan)
    return plan
