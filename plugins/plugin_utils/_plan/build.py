# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One host's plan: findings judged on what the kernel filters, and the operations that carry
out the policy through the backend detect.choose() picked."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.portguard.hardening.plugins.module_utils._apply.nftables import (
    RULES_PATH,
)
from ansible_collections.portguard.hardening.plugins.module_utils._apply.rules import (
    validate as validate_rules,
)
from ansible_collections.portguard.hardening.plugins.module_utils._firewalld import rich_rules
from ansible_collections.portguard.hardening.plugins.module_utils._values import PolicyError
from ansible_collections.portguard.hardening.plugins.plugin_utils._firewall import detect
from ansible_collections.portguard.hardening.plugins.plugin_utils._firewall.kernel import (
    forwarded_ports,
    interface_addresses,
    kernel_reach,
    read_ruleset,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._firewall.published import (
    published_sockets,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._firewall.zones import (
    outside_view,
    zones_for,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._plan.host import (
    FIREWALLD_STATE,
    context,
    split_read,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._plan.outside import (
    global_addresses,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._policy import (
    evaluate,
    reach_key,
    reconcile,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._policy.firewall_model import (
    exposure,
    parse_firewall,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._report.findings import (
    exposure_diff,
    rule_key,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._ruleset.evaluate import is_inside

# How notes and reports name the backend that closes a port.
LABELS = {"firewalld": "firewalld", "nftables": "table inet portguard", None: "the firewall"}
MAX_DISAGREEMENTS = 20
CLOSING = ("block", "restrict")


def _judged(read, options, connection, ansible_port):
    """(sockets, host, context, reach, ruleset, notes) of one host read."""
    sockets, meta, host = split_read(read)
    ctx, notes = context(
        host,
        meta,
        connection,
        ansible_port,
        options.get("management_ports") or [],
        options.get("management_units") or [],
    )
    read_rs = read_ruleset(host.get("ruleset") or {})
    sockets, published_notes = published_sockets(host, sockets, forwarded_ports(read_rs[0]))
    notes.extend(published_notes)
    reach, kernel_notes, ruleset = kernel_reach(host, sockets, read_rs)
    notes.extend(kernel_notes)
    notes.extend(str(e) for e in host.get("errors") or [])
    return sockets, host, ctx, reach, ruleset, notes


def _disagreements(sockets, reach, firewall):
    """Where firewalld's configuration and the kernel's ruleset answer differently."""
    model = parse_firewall(outside_view(firewall), "firewall")
    if not model["running"]:
        return []
    notes = []
    for sock in sockets:
        kernel = reach.get(reach_key(sock))
        if kernel is None or sock.get("scope") == "loopback":
            continue
        config = exposure(sock, model)
        if config["exposure"] != kernel["exposure"]:
            notes.append(
                "{}/{} on {}: firewalld's configuration says {}, the kernel's ruleset says {} "
                "({})".format(
                    sock["port"],
                    sock["protocol"],
                    sock["address"],
                    config["exposure"],
                    kernel["exposure"],
                    kernel["kernel"]["reason"],
                )
            )
    if len(notes) > MAX_DISAGREEMENTS:
        notes = notes[:MAX_DISAGREEMENTS] + [
            f"... and {len(notes) - MAX_DISAGREEMENTS} more where firewalld and the kernel differ"
        ]
    return notes


def _annotate(findings, reach, backend):
    for finding in findings:
        finding["exposed_via"] = list(reach.get(reach_key(finding), {}).get("via") or [])
        closing = finding["action"] in CLOSING
        name = "nftables" if finding.get("published") and backend["name"] else backend["name"]
        finding["backend"] = LABELS[name] if closing and name else None
        if closing and finding["status"] == "open" and backend["problem"]:
            finding["note"] = "; ".join(n for n in (finding.get("note"), backend["problem"]) if n)
    return findings


def _zone_rules(view, zone):
    return set(rule_key(t) for z in view.get("zones") or [] if z.get("name") == zone
               for t in z.get("rich_rules") or [])  # fmt: skip


def _firewalld_ops(plan, backend, view, zone):
    """Rich rules per zone (only those not yet in place), and whether to install or start."""
    entries = [("firewall_block", e) for e in plan["firewall_block"]]
    entries += [("firewall_restrict", e) for e in plan["firewall_restrict"]]
    keys = [(e["port"], e["protocol"]) for _k, e in entries]
    running = not backend["start"]
    where = zones_for(view, keys, zone) if running else {key: [zone] for key in keys}
    rules = []
    for kind, entry in entries:
        texts = rich_rules({"firewall_block": [], "firewall_restrict": [], kind: [entry]})
        for name in where[(entry["port"], entry["protocol"])]:
            held = _zone_rules(view, name) if running else set()
            label = "{}/{}".format(entry["port"], entry["protocol"])
            rules.extend(
                {"zone": name, "rule": text, "port": label}
                for text in texts
                if rule_key(text) not in held
            )
    return {
        "install": backend["install"],
        "start": backend["start"],
        "open": plan["firewall_open"] if backend["start"] else [],
        "rules": rules,
        # firewalld is started or installed only for rules to write.
        "changes": bool(rules),
    }


def _without(plan, keys):
    """The policy's plan without the firewall entries of ``keys`` (port, protocol)."""
    trimmed = dict(plan)
    for kind in ("firewall_block", "firewall_restrict"):
        trimmed[kind] = [e for e in plan[kind] if (e["port"], e["protocol"]) not in keys]
    return trimmed


def _entry(port, protocol, action, sources, ids, forwarded=False):
    return {
        "port": port,
        "protocol": protocol,
        "action": action,
        "sources": sorted(sources),
        "ids": sorted(set(ids)),
        "forwarded": bool(forwarded),
    }


def _recorded(host, keep, notes):
    """{(port, protocol): rule} the collection's table was last written with (its rules file).

    Each is checked as the module checks its rules: one that is not a rule (a hand edit) or that
    would close a port of the management connection now (sshd moved) is left out, with a note.
    """
    found = {}
    for index, rule in enumerate(host.get("portguard_rules") or []):
        try:
            (checked,), _warnings = validate_rules([rule], keep)
        except (PolicyError, ValueError) as exc:
            problems = "; ".join(getattr(exc, "errors", None) or [str(exc)])
            notes.append(
                f"{RULES_PATH}: recorded rule #{index + 1} is left out of the table: {problems}"
            )
            continue
        key = (checked["port"], checked["protocol"])
        found[key] = _entry(
            key[0],
            key[1],
            checked["action"],
            checked["sources"],
            checked["ids"],
            checked["forwarded"],
        )
    return found


def _nftables_ops(result, ctx, host, ruleset, notes, only=None, forwarded=frozenset()):
    """Every rule of table inet portguard after this run, and whether that changes the host.

    The table keeps what it holds (a port without a listener now stays closed for the day one
    comes back), gains the ports this plan closes and loses those whose listeners the policy
    now keeps open. ``only`` limits what it gains to those (port, protocol) keys: on a
    firewalld host the table closes only the forwarded ports, which firewalld's input rules
    never see. A rule of a ``forwarded`` key (or one recorded as forwarded: the container may
    come back) closes its DNAT'd packets too.
    """
    plan = result["plan"]
    keep = [dict(item) for item in ctx["management_ports"]]
    recorded = _recorded(host, keep, notes)
    desired = dict(recorded)
    closing = set()
    for kind, action in (("firewall_block", "block"), ("firewall_restrict", "restrict")):
        for entry in plan[kind]:
            key = (entry["port"], entry["protocol"])
            if only is not None and key not in only:
                continue
            closing.add(key)
            desired[key] = _entry(
                key[0], key[1], action, entry.get("sources") or [], entry["rules"]
            )
    new = set(closing)
    stays_open = set()
    for entry in result["compliant"]:
        key = (entry["port"], entry["protocol"])
        if only is not None and key not in only and key not in recorded:
            continue
        if entry.get("policy_action") in CLOSING:
            # Closed now, by the table or by the admin's firewall: what the table holds for it
            # follows the policy of today, not the one it was written with.
            if key in recorded and key not in new:
                desired[key] = _entry(
                    key[0],
                    key[1],
                    entry["policy_action"],
                    entry.get("policy_sources") or [],
                    [entry["policy_rule"]],
                )
            closing.add(key)
        elif entry.get("policy_action") is not None:
            stays_open.add(key)
    for entry in list(result["allowed"]) + [
        f for f in result["findings"] if f["action"] not in CLOSING
    ]:
        stays_open.add((entry["port"], entry["protocol"]))
    for key in (stays_open - closing) & set(desired):
        del desired[key]
    for key, rule in desired.items():
        was = recorded.get(key, {}).get("forwarded", False)
        desired[key] = dict(rule, forwarded=bool(rule.get("forwarded") or was or key in forwarded))
    loaded = ruleset is not None and ("inet", "portguard") in ruleset.tables
    return {
        "rules": [desired[k] for k in sorted(desired)],
        "keep": keep,
        # A port this run closes is exposed now: the table in the kernel lacks its rule, even
        # when the rules file holds it.
        "changes": bool(new) or desired != recorded or (bool(desired) and not loaded),
    }


def _outlook(backend, ops, plan, forwarded=()):
    """firewall_outlook()'s shape for exposure_diff: what this run's firewall step changes."""
    if backend["name"] is None:
        return {"reason": backend["problem"], "in_place": {}}
    if backend["name"] != "firewalld":
        return {"reason": None, "in_place": {}}
    # Every closing port without a pending rule is in place in firewalld's zones.
    pending = set()
    for item in ops["firewalld"]["rules"]:
        port, _slash, protocol = item["port"].partition("/")
        pending.add((protocol, int(port)))
    closing = [
        e for e in plan["firewall_block"] + plan["firewall_restrict"]
        if (e["port"], e["protocol"]) not in forwarded
    ]  # fmt: skip
    in_place = dict(
        ((e["protocol"], e["port"]), "its rules are already in firewalld")
        for e in closing
        if (e["protocol"], e["port"]) not in pending
    )
    return {"reason": None, "in_place": in_place}


def build(read, options, connection=None, ansible_port=None, baseline=None, diff=False):
    """The plan of one host; PolicyError names every problem of the policy or the read."""
    sockets, host, ctx, reach, ruleset, notes = _judged(read, options, connection, ansible_port)
    found = detect.seen(host, ruleset)
    backend = detect.choose(
        host,
        found,
        options.get("firewall_backend") or "auto",
        bool(options.get("firewall_install")),
        options.get("firewall_enable", True) is not False,
    )
    ctx["reach"] = reach
    ctx["firewall_name"] = LABELS[backend["name"]]
    firewall = ctx["firewall"]
    result = evaluate(
        sockets,
        options.get("rules") or [],
        options.get("default_action") or "report",
        options.get("builtin_rules_enabled", True) is not False,
        ctx,
        baseline,
    )
    notes = list(result["notes"]) + notes + _disagreements(sockets, reach, firewall)
    findings = _annotate(result["findings"], reach, backend)
    ops = {"units": result["plan"]["disable_units"], "firewalld": None, "nftables": None}
    forwarded = set(
        (s["port"], s["protocol"]) for s in sockets if isinstance(s, dict) and s.get("published")
    )
    if backend["name"] == "firewalld":
        ops["firewalld"] = _firewalld_ops(
            _without(result["plan"], forwarded),
            backend,
            firewall,
            options.get("firewall_zone") or "",
        )
        nft = _nftables_ops(result, ctx, host, ruleset, notes, only=forwarded, forwarded=forwarded)
        ops["nftables"] = nft if nft["rules"] or nft["changes"] else None
    elif backend["name"] == "nftables":
        ops["nftables"] = _nftables_ops(result, ctx, host, ruleset, notes, forwarded=forwarded)
    shown = exposure_diff(findings, _outlook(backend, ops, result["plan"], forwarded))
    firewall_changes = any((ops[kind] or {}).get("changes") for kind in ("firewalld", "nftables"))
    plan = {
        "findings": findings,
        "allowed": result["allowed"],
        "compliant": result["compliant"],
        "summary": result["summary"],
        "notes": notes,
        "baseline": result["baseline"],
        "nfs_in_use": ctx["nfs_in_use"],
        # The host's own global addresses, for a probe of each (exposed_ports_probe_addresses).
        "addresses": global_addresses(interface_addresses(host.get("interfaces")), is_inside),
        "firewall": {
            "state": FIREWALLD_STATE[detect.unit_state(host, "firewalld.service")],
            "seen": found,
            "backend": backend,
        },
        "operations": ops,
        "changes": shown["changed"] or firewall_changes,
        # The policy's own plan, as the role's earlier releases exposed it.
        "plan": result["plan"],
    }
    if diff:
        plan["diff"] = {"before": shown["before"], "after": shown["after"]}
    return plan


def verify(findings, read, options, connection=None, ansible_port=None):
    """(findings, notes, firewall): the findings reconciled with a read taken after the
    operations, and the host's firewalls as that read found them (firewalld may have started)."""
    sockets, host, ctx, reach, ruleset, notes = _judged(read, options, connection, ansible_port)
    checked = reconcile(
        findings, sockets, ctx["firewall"], {"socket_units": ctx["socket_units"], "reach": reach}
    )
    firewall = {
        "state": FIREWALLD_STATE[detect.unit_state(host, "firewalld.service")],
        "seen": detect.seen(host, ruleset),
    }
    return checked, notes, firewall
