# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side action: the task host's ports probed from the controller (see the module's
documentation)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
from collections.abc import Mapping

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.portguard.hardening.plugins.module_utils._probe import tcp, udp
from ansible_collections.portguard.hardening.plugins.module_utils._probe.scan import (
    DEFAULTS,
    ProbeError,
    check_settings,
    expand_ports,
    parse_address,
    probe_host,
)
from ansible_collections.portguard.hardening.plugins.module_utils._probe.scan import (
    SETTINGS as PACING,
)
from ansible_collections.portguard.hardening.plugins.module_utils._probe.udp import PROBES
from ansible_collections.portguard.hardening.plugins.module_utils._probe.vantage import (
    is_ip,
    own_address,
    resolve,
    source_address,
)
from ansible_collections.portguard.hardening.plugins.module_utils._values import (
    PolicyError,
    count_problems,
    show,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._hostvars import (
    refusal,
    set_by_host,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._plan.outside import (
    check,
    combine,
    probe_ports,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._report.host import (
    ReportError,
    checked_findings,
)

ARGUMENT_SPEC = {
    "address": {"type": "str"},
    "tcp_ports": {"type": "list", "elements": "raw"},
    "udp_ports": {"type": "list", "elements": "raw"},
    # The plan's entries: given findings, the probe checks the plan's verdicts.
    "ports": {"type": "raw", "default": "listeners"},
    "findings": {"type": "list", "elements": "dict"},
    "allowed": {"type": "list", "elements": "dict", "default": []},
    "compliant": {"type": "list", "elements": "dict", "default": []},
    # More of the host's own addresses to probe as well (the plan's global addresses).
    "addresses": {"type": "list", "elements": "str", "default": []},
    # Only addresses inside these networks are probed: the host names its own addresses.
    "networks": {"type": "list", "elements": "str", "default": []},
    "concurrency": {"type": "int", "default": DEFAULTS["concurrency"]},
    "rate": {"type": "float", "default": float(DEFAULTS["rate"])},
    "timeout": {"type": "float", "default": float(DEFAULTS["timeout"])},
    "budget": {"type": "float", "default": float(DEFAULTS["budget"])},
    "tries": {"type": "int", "default": DEFAULTS["tries"]},
    # The scanner hosts' views: the registered result of the role's exposed_ports_scan task.
    "scanned": {"type": "dict"},
    # Whether the controller probes as well (false: the scanners' views only).
    "here": {"type": "bool", "default": True},
    # The scanners this host names (its exposed_ports_probe_from): only their items count.
    "scanners": {"type": "list", "elements": "str"},
    # The host's plan (exposed_ports_plan): every option above but scanned comes from it.
    "plan": {"type": "dict"},
    # Verify's result when this run applied the plan: its findings are the ones probed.
    "verified": {"type": "dict"},
}
# The probe's pacing settings, as the probe itself names them.
SETTINGS = tuple(PACING)
# What a plan gives: with plan, none of these may be given as well.
FROM_PLAN = (
    "address", "tcp_ports", "udp_ports", "ports", "findings", "allowed", "compliant",
    "addresses", "networks", "here", "scanners",
) + SETTINGS  # fmt: skip
PLAN_PROBE = ("enabled", "here", "scanners", "address", "ports", "addresses", "networks",
              "settings")  # fmt: skip
DEFAULT_PORTS = {"tcp_ports": ["1-65535"], "udp_ports": sorted(PROBES)}
ORIGIN = "the controller"
# Connections whose host is reached some other way than by its address over the network.
UNPROBED_CONNECTIONS = {
    "local": "the host is the controller itself: a probe would not come from outside",
}


def from_plan(args, given):
    """``args`` with every option a plan gives taken from ``args["plan"]`` (its probe settings,
    its entries, the findings as verify left them), or AnsibleActionFail-worthy text in a
    ValueError. ``given`` is the task's own arguments: none of them may be one the plan gives."""
    both = [name for name in FROM_PLAN if name in given]
    if both:
        raise ValueError(
            "plan: %s come from the plan; leave %s out"
            % (", ".join(both), "it" if len(both) == 1 else "them")
        )
    plan = args["plan"]
    probe = plan.get("probe")
    missing = [key for key in PLAN_PROBE if key not in probe] if isinstance(probe, Mapping) else []
    if not isinstance(probe, Mapping) or missing or not isinstance(probe["settings"], Mapping):
        raise ValueError(
            "plan: not a plan of portguard.hardening.exposed_ports_plan (no probe settings%s)"
            % (": missing " + ", ".join(missing) if missing else "")
        )
    try:
        findings = checked_findings(plan, args["verified"])
    except ReportError as exc:
        raise ValueError(str(exc)) from None
    out = dict(args)
    out.update(
        address=probe["address"] or None,
        ports=probe["ports"],
        findings=findings,
        allowed=list(plan.get("allowed") or []),
        compliant=list(plan.get("compliant") or []),
        addresses=list(plan.get("addresses") or []) if probe["addresses"] == "global" else [],
        networks=list(probe["networks"] or []),
        here=bool(probe["here"]),
        scanners=list(probe["scanners"] or []),
    )
    out.update((name, probe["settings"].get(name, DEFAULTS[name])) for name in SETTINGS)
    # The scanners' task registers a result (an empty loop's) even when no scanner runs.
    if not out["scanners"]:
        out["scanned"] = None
    return out, bool(probe["enabled"])


class _NotHere(Exception):
    """The plan's host cannot be probed from the controller; the message says why."""


def _scanner_name(item):
    name = item.get("item")
    return name if isinstance(name, str) else "?"


# What a scanner may say of one host, at most: its answer is data, checked as such.
MAX_SCANNER_NOTES = 20
SERVICES = frozenset(probe.service for probe in PROBES.values())


def _scanner_ports(ports, states, detailed):
    """{port: state} of a scanner's answer for one protocol in the probe's own shape, or None
    when any part is not: ports as decimal text 1-65535, states the probe's own words (UDP's a
    mapping with ``state`` and an optional known ``service``)."""
    if not isinstance(ports, Mapping):
        return None
    clean = {}
    for port, state in ports.items():
        if not (isinstance(port, str) and port.isdigit() and 1 <= int(port) <= 65535):
            return None
        if not detailed:
            if not isinstance(state, str) or state not in states:
                return None
            clean[str(int(port))] = state
            continue
        if not isinstance(state, Mapping) or state.get("state") not in states:
            return None
        service = state.get("service")
        if service is not None and service not in SERVICES:
            return None
        clean[str(int(port))] = {"state": state["state"], "service": service}
    return clean


def scanner_probe(probe):
    """A scanner's probe of one host reduced to what check() reads, each part checked, or None
    when the answer is not a probe's: a scanner's output is data, as a host's is."""
    try:
        address = parse_address(probe.get("address"))[2]
    except ProbeError:
        return None
    source = probe.get("source")
    if source is not None and not is_ip(source):
        return None
    clean = {"address": address, "source": source}
    for protocol, module, detailed in (("tcp", tcp, False), ("udp", udp, True)):
        ports = _scanner_ports(probe.get(protocol) or {}, module.STATES, detailed)
        if ports is None:
            return None
        clean[protocol] = ports
    for key in ("notes", "errors"):
        lines = probe.get(key) or []
        if not isinstance(lines, list) or not all(isinstance(line, str) for line in lines):
            return None
        clean[key] = lines[:MAX_SCANNER_NOTES]
    elapsed = probe.get("elapsed") or 0
    if isinstance(elapsed, bool) or not isinstance(elapsed, (int, float)) or elapsed < 0:
        return None
    clean["elapsed"] = elapsed
    return clean


def scanner_views(scanned, host, wanted=None):
    """([(probe, origin)], notes): what each scanner host saw of ``host``, from the registered
    result of the role's exposed_ports_scan loop (one item per scanner). Only the scanners in
    ``wanted`` count, when it is given (the host's own exposed_ports_probe_from), and one that
    is missing from the loop is named. A scanner that failed or was unreachable, or that did
    not probe the host, is named in a note; an answer that is not a probe's shape is left out
    with a note, and a second answer for the same host is ignored."""
    views, notes = [], []
    items = scanned.get("results") if isinstance(scanned, Mapping) else None
    items = [item for item in items or [] if isinstance(item, Mapping)]
    answered = set()
    for item in items:
        name = _scanner_name(item)
        if wanted is not None and name not in wanted:
            continue
        origin = "scanner %s" % show(name)
        if item.get("skipped") or name in answered:
            continue
        answered.add(name)
        # The role's task does not fail on a scanner (failed_when: false): a result without
        # probes is one that failed.
        if (
            item.get("unreachable")
            or item.get("failed")
            or not isinstance(item.get("probes"), list)
        ):
            why = item.get("msg") or ("unreachable" if item.get("unreachable") else "failed")
            notes.append("not probed from %s: %s" % (origin, show(why)))
            continue
        mine = [p for p in item["probes"] if isinstance(p, Mapping) and p.get("host") == host]
        skipped = item.get("unprobed") if isinstance(item.get("unprobed"), list) else []
        skipped = [u for u in skipped if isinstance(u, Mapping) and u.get("host") == host]
        if len(mine) > 1:
            notes.append(
                "%s sent %d answers for this host; the first is taken" % (origin, len(mine))
            )
        if mine:
            probe = scanner_probe(mine[0])
            if probe is None:
                notes.append("%s sent an answer that is not a probe's; left out" % origin)
            else:
                views.append((probe, origin))
        elif skipped:
            why = skipped[0].get("why")
            notes.append("not probed from %s: %s" % (origin, show(why if why else "?")))
        else:
            notes.append("not probed from %s: the host was not among its targets" % origin)
    for name in wanted or []:
        if name not in answered:
            notes.append("not probed from scanner %s: it did not run for this batch" % show(name))
    return views, notes


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    # The probe runs here, on the controller: nothing runs on the host.
    _requires_connection = False
    _supports_check_mode = True
    _supports_diff = False
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        _validation, args = self.validate_argument_spec(ARGUMENT_SPEC)
        host = task_vars.get("inventory_hostname", "?")
        if args["plan"] is not None:
            try:
                args, enabled = from_plan(args, self._task.args)
            except ValueError as exc:
                raise AnsibleActionFail("%s: %s" % (show(host), exc)) from None
            if not enabled:
                return self._not_probed(result, args, "exposed_ports_probe is false")
        elif args["verified"] is not None:
            raise AnsibleActionFail("%s: verified: only with plan" % show(host))
        hostile = set_by_host(task_vars)
        if hostile:
            # Its address or its networks may be the host's own choice: nobody is probed.
            if args["findings"] is None:
                raise AnsibleActionFail("%s: %s; nothing was sent" % (show(host), refusal(hostile)))
            return self._not_probed(result, args, refusal(hostile))
        field = "address"
        target = args["address"]
        if target is None:
            field = "address (ansible_host)"
            target = task_vars.get("ansible_host") or host
            if self._templar is not None:
                target = self._templar.template(target)
        planned = args["findings"] is not None
        try:
            problems = []
            ports = {}
            if planned:
                plan = {k: args[k] for k in ("findings", "allowed", "compliant")}
                wanted = probe_ports(plan, args["ports"])
                ports = {"tcp_ports": wanted["tcp"], "udp_ports": wanted["udp"]}
            for name in ("tcp_ports", "udp_ports") if not planned else ():
                try:
                    given = args[name] if args[name] is not None else DEFAULT_PORTS[name]
                    ports[name] = expand_ports(given, name)
                except ProbeError as exc:
                    problems.extend(exc.errors)
            settings = dict((name, args[name]) for name in SETTINGS)
            try:
                check_settings(settings)
            except ProbeError as exc:
                problems.extend(exc.errors)
            nets = []
            for index, text in enumerate(args["networks"]):
                try:
                    nets.append(ipaddress.ip_network(text, strict=False))
                except ValueError:
                    problems.append("networks[%d]: %s is not a network" % (index, show(text)))
            for index, extra in enumerate(args["addresses"]):
                if not is_ip(extra):
                    problems.append("addresses[%d]: %s is not an IP address" % (index, show(extra)))
            if problems:
                raise ProbeError(problems)
            if not planned:
                probes, sources = self._probe_here(args, target, field, nets, ports, settings)
            elif not args["here"]:
                probes, sources, why_not = [], [], None
            else:
                why_not = UNPROBED_CONNECTIONS.get(task_vars.get("ansible_connection"))
                if why_not and args["address"] is not None:
                    why_not = None
                probes, sources = [], []
                if why_not is None:
                    try:
                        probes, sources = self._probe_here(
                            args, target, field, nets, ports, settings
                        )
                    except _NotHere as exc:
                        why_not = str(exc)
        except (ProbeError, PolicyError) as exc:
            raise AnsibleActionFail("%s: %s" % (show(host), count_problems(exc.errors))) from None
        if not planned:
            result.update(changed=False, probe=probes[0])
            if probes[1:]:
                result["probes"] = probes[1:]
            return result
        plan = (args["findings"], args["allowed"], args["compliant"])
        views = [
            check(*plan, probe=seen, origin=ORIGIN, source=from_here)
            for seen, from_here in zip(probes, sources)
        ]
        scanned, scanner_notes = scanner_views(args["scanned"], host, args["scanners"])
        views.extend(
            check(*plan, probe=seen, origin=origin, source=seen.get("source"))
            for seen, origin in scanned
        )
        lines = [] if why_not is None else ["not probed from the controller: " + why_not]
        lines.extend(scanner_notes)
        if not views:
            if why_not is not None and args["scanned"] is None:
                return self._not_probed(result, args, why_not)
            if not args["here"] and args["scanned"] is None:
                lines.append("no scanner host is named in exposed_ports_probe_from")
            return self._not_probed(result, args, lines)
        findings, allowed, outside = combine(views)
        outside["notes"] = lines + outside["notes"]
        result.update(changed=False, findings=findings, allowed=allowed, outside=outside)
        result["probe"] = probes[0] if probes else None
        if probes[1:]:
            result["probes"] = probes[1:]
        return result

    @staticmethod
    def _probe_here(args, target, field, nets, ports, settings):
        """([probe of the address, probes of the host's other addresses], [the controller's
        source address toward each]). Raises _NotHere when the plan's host cannot be
        probed from the controller, ProbeError when a given address cannot."""
        planned = args["findings"] is not None
        # Names are resolved only once everything else is known to be good.
        try:
            address, notes = resolve(target, field)
        except ProbeError as exc:
            if not planned:
                raise
            raise _NotHere("; ".join(exc.errors)) from None
        source = source_address(address)
        own = own_address(address, source)
        if planned and own and args["address"] is None:
            raise _NotHere(own)
        others, outside_nets = [], []
        for extra in args["addresses"]:
            if extra == address or extra in others:
                continue
            if any(ipaddress.ip_address(extra) in net for net in nets):
                others.append(extra)
            else:
                outside_nets.append(extra)
        if outside_nets:
            notes.append(
                "not probed: %s, outside exposed_ports_probe_networks (the host names its "
                "own addresses; only networks the operator lists are probed)"
                % ", ".join(outside_nets)
            )
        probes = [
            probe_host(each, ports["tcp_ports"], ports["udp_ports"], settings)
            for each in [address] + others
        ]
        probes[0]["notes"] = notes + probes[0]["notes"]
        return probes, [source] + [source_address(extra) for extra in others]

    @staticmethod
    def _not_probed(result, args, why):
        """The plan's entries as they are, each not probed, and why (a line, or lines)."""
        marked = []
        for entry in args["findings"]:
            marked.append(dict(entry, reachable="not probed", probe=None))
        allowed = [dict(entry, reachable="not probed", probe=None) for entry in args["allowed"]]
        outside = {
            "address": None,
            "addresses": [],
            # Nothing probed: nobody to name.
            "from": None,
            "source": None,
            "elapsed": 0,
            "disagreements": [],
            "unexpected": [],
            "notes": (["not probed from outside: " + why] if isinstance(why, str) else list(why)),
        }
        result.update(changed=False, probe=None, findings=marked, allowed=allowed, outside=outside)
        return result
