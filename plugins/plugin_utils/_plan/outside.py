# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The attacker's view: which ports to probe from outside, and the plan's verdicts checked
against what the probe (module_utils/_probe, run by the exposed_ports_probe action) saw.

A verdict is evidence only where the probe agrees: a finding the model calls closed that the
probe reached is ``failed``, with both views; a port the model calls exposed that the probe
found closed stays as the model says, with a note (the probe sees what its own network sees);
a port the probe reached that the model does not list is named in ``unexpected``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
from collections.abc import Mapping

from ansible_collections.portguard.hardening.plugins.module_utils._values import (
    PolicyError,
    is_port,
    show,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._policy.rules import _within

MODES = ("listeners", "all")
ADDRESSES = ("host", "global")
FIELD = "exposed_ports_probe_ports"
# What a finding says the probe saw, by protocol and probe state.
REACHABLE = {
    "tcp": {"open": "yes", "refused": "refused", "filtered": "filtered"},
    "udp": {
        "open": "yes",
        "closed": "refused",
        "filtered": "filtered",
        "open|filtered": "open|filtered",
    },
}
NOT_PROBED = "not probed"
MAX_LISTED = 50


def _entry_ports(entries):
    found = {"tcp": set(), "udp": set()}
    for entry in entries:
        if entry.get("scope") == "loopback" or entry.get("why") == "loopback":
            continue
        if entry.get("protocol") in found and is_port(entry.get("port")):
            found[entry["protocol"]].add(entry["port"])
    return found


def probe_ports(plan, wanted="listeners"):
    """{"tcp": [...], "udp": [...]}: the ports to probe for a plan.

    ``listeners`` (the default): every port the host listens on or publishes, except loopback;
    ``all``: every TCP port and the listeners' UDP ports; a list: those ports (numbers, both
    protocols, or labels such as ``53/udp``) besides the listeners. PolicyError names the field.
    """
    known = _entry_ports(
        list(plan.get("findings") or [])
        + list(plan.get("allowed") or [])
        + list(plan.get("compliant") or [])
    )
    if wanted == "all":
        known["tcp"] = set(range(1, 65536))
    elif isinstance(wanted, list):
        errors = []
        for index, item in enumerate(wanted):
            port, protocols = item, ("tcp", "udp")
            if isinstance(item, str) and "/" in item:
                number, _slash, protocol = item.partition("/")
                port = int(number) if number.isdigit() else None
                protocols = (protocol,) if protocol in ("tcp", "udp") else ()
            elif isinstance(item, str) and item.isdigit():
                port = int(item)
            if not is_port(port) or not protocols:
                errors.append(
                    f"{FIELD}[{index}]: {show(item)} is not a port (80) or a port label (53/udp)"
                )
                continue
            for protocol in protocols:
                known[protocol].add(port)
        if errors:
            raise PolicyError(errors)
    elif wanted != "listeners":
        raise PolicyError(
            [f"{FIELD}: {show(wanted)} is not listeners, all or a list of ports"]
        )  # fmt: skip
    return {"tcp": sorted(known["tcp"]), "udp": sorted(known["udp"])}


def _family(address):
    return "ipv6" if ipaddress.ip_address(address).version == 6 else "ipv4"


def _covers(entry, address, family):
    """Whether a probe of ``address`` reaches the socket ``entry`` describes."""
    bound = entry.get("address")
    if entry.get("family") != family:
        # [::] without IPV6_V6ONLY takes IPv4 connections as well.
        return family == "ipv4" and bound == "::" and entry.get("v6only") is False
    if bound in ("0.0.0.0", "::"):  # noqa: S104 - addresses read from the host
        return True
    try:
        return ipaddress.ip_address(bound) == ipaddress.ip_address(address)
    except ValueError:
        return False


def _seen(probe, protocol, port):
    state = (probe.get(protocol) or {}).get(str(port))
    if isinstance(state, Mapping):
        return state.get("state"), state
    return state, None


def _view(probe, entry, origin):
    """(reachable, what the probe saw) for one entry."""
    address = probe["address"]
    if not _covers(entry, address, _family(address)):
        return NOT_PROBED, None
    state, detail = _seen(probe, entry["protocol"], entry["port"])
    reachable = REACHABLE.get(entry["protocol"], {}).get(state, NOT_PROBED)
    seen = {"from": origin, "address": address, "state": state or NOT_PROBED}
    if detail and detail.get("service"):
        seen["service"] = detail["service"]
    return reachable, seen


CLOSING = ("block", "disable", "restrict")


def _failed_from(item, reachable, seen, why):
    """A failed finding for a compliant entry whose closure the probe contradicts."""
    entry = dict(item)
    entry.update(
        rule=item.get("policy_rule") or item.get("rule") or "default",
        action="block" if item.get("policy_action") == "disable" else item["policy_action"],
        status="failed",
        note=why,
        reason=item.get("why"),
        sources=list(item.get("policy_sources") or []),
        reachable=reachable,
        probe=seen,
        # The plan called it compliant: closed already.
        was_compliant=True,
    )
    return entry


def _admits(sources, source):
    """Whether a restriction to ``sources`` admits the probe's own address ``source``."""
    return bool(source) and _within(source, sources or [])


def _label(entry):
    return "{}/{}".format(entry["port"], entry["protocol"])


def check(findings, allowed, compliant, probe, origin="the controller", source=None):
    """(findings, allowed, outside): each entry with ``reachable`` and ``probe``, findings whose
    closure the probe contradicts marked failed, and {"address", "from", "disagreements",
    "unexpected", "notes"}.

    ``probe`` is probe_host()'s result; ``source`` the address the probe came from, when known
    (a restricted port that admits it is meant to answer).
    """
    notes = list(probe.get("notes") or []) + list(probe.get("errors") or [])
    disagreements = []
    checked = []
    for finding in findings:
        entry = dict(finding)
        reachable, seen = _view(probe, entry, origin)
        entry["reachable"], entry["probe"] = reachable, seen
        label = _label(entry)
        if reachable == "yes" and entry.get("status") == "remediated":
            admitted = entry.get("action") == "restrict" and _admits(entry.get("sources"), source)
            if not admitted:
                why = (
                    f"{label}: the model says closed, but a probe from {origin} reached "
                    f"{probe['address']}"
                )
                entry["status"] = "failed"
                entry["note"] = "; ".join(n for n in (entry.get("note"), why) if n)
                disagreements.append(why)
        elif (
            reachable in ("refused", "filtered")
            and entry.get("status") == "open"
            and entry.get("exposure") == "everyone"
        ):
            disagreements.append(
                f"{label} on {entry['address']}: the model says exposed to everyone, a probe "
                f"from {origin} found it {reachable} (a filter the model does not read, or "
                f"{origin} is not on the path an attacker takes)"
            )
        checked.append(entry)
    shown = []
    for item in allowed:
        entry = dict(item)
        entry["reachable"], entry["probe"] = _view(probe, entry, origin)
        shown.append(entry)
    for item in compliant:
        if item.get("why") == "loopback":
            continue
        reachable, seen = _view(probe, item, origin)
        if reachable == "yes" and item.get("why") in ("firewalled", "restricted"):
            why = (
                f"{_label(item)} on {item['address']}: the model says the firewall closes it, "
                f"but a probe from {origin} reached {probe['address']}"
            )
            admitted = item.get("why") == "restricted" and _admits(
                item.get("exposed_to") or item.get("policy_sources"), source
            )
            if admitted:
                continue
            disagreements.append(why)
            if item.get("policy_action") in CLOSING:
                # A closure that does not hold is a failed finding on every run, not only on
                # the one that made it.
                checked.append(_failed_from(item, reachable, seen, why))
    known = set(
        (e.get("protocol"), e.get("port")) for e in list(findings) + list(allowed) + list(compliant)
    )
    unexpected = []
    for protocol in ("tcp", "udp"):
        for port, state in (probe.get(protocol) or {}).items():
            value = state.get("state") if isinstance(state, Mapping) else state
            if value == "open" and (protocol, int(port)) not in known:
                unexpected.append(f"{port}/{protocol}")
    if len(unexpected) > MAX_LISTED:
        more = len(unexpected) - MAX_LISTED
        unexpected = unexpected[:MAX_LISTED] + [f"... and {more} more"]
    if unexpected:
        notes.append(
            "a probe from {} reached ports no listener of the host read explains: {}".format(
                origin, ", ".join(unexpected)
            )
        )
    outside = {
        "address": probe["address"],
        "from": origin,
        "source": source,
        "elapsed": probe.get("elapsed"),
        "disagreements": disagreements,
        "unexpected": unexpected,
        "notes": notes,
    }
    return checked, shown, outside


# The host names its own addresses: a hostile one could name anybody's. At most this many are
# probed besides the inventory's address.
MAX_ADDRESSES = 8


def global_addresses(interfaces, is_inside, limit=MAX_ADDRESSES):
    """The host's own globally routable addresses, from ``ip -j addr`` (kernel.interface_addresses()
    shape: {name: ["address/prefix"]}), leaving out loopback and the bridges of its guests; the
    first ``limit`` only."""
    found = []
    for name, addrs in sorted((interfaces or {}).items()):
        if name == "lo" or is_inside(name):
            continue
        for text in addrs:
            try:
                ip = ipaddress.ip_address(text.partition("/")[0])
            except ValueError:
                continue
            if ip.is_global and str(ip) not in found:
                found.append(str(ip))
    return found[:limit]


_BEST = ("yes", "refused", "filtered", "open|filtered")


def _rank(entry):
    """Which view of an entry counts: one that failed it, then the most reachable."""
    reach = entry.get("reachable")
    return (
        entry.get("status") != "failed",
        _BEST.index(reach) if reach in _BEST else len(_BEST),
    )


def combine(views):
    """One (findings, allowed, outside) of several check() answers, one per probed address and
    prober: each entry as the view that failed it or reached it saw it (else the first that
    covered it); ``from`` names every prober, ``addresses`` every address probed."""
    findings, allowed, outside = views[0]
    findings, allowed = list(findings), list(allowed)
    # Entries a view adds (closures that do not hold) come after the plan's own.
    size = sum(1 for f in findings if not f.get("was_compliant"))
    outside = dict(outside, addresses=[outside["address"]])
    for more_findings, more_allowed, more in views[1:]:
        for index, entry in enumerate(more_findings):
            if index >= size:
                key = (entry["protocol"], entry["family"], entry["address"], entry["port"])
                if all(
                    (f["protocol"], f["family"], f["address"], f["port"]) != key for f in findings
                ):
                    findings.append(entry)
            elif _rank(entry) < _rank(findings[index]):
                findings[index] = entry
        for index, entry in enumerate(more_allowed):
            if _rank(entry) < _rank(allowed[index]):
                allowed[index] = entry
        if more["address"] not in outside["addresses"]:
            outside["addresses"].append(more["address"])
        if more["from"] not in outside["from"].split(", "):
            outside["from"] = "{}, {}".format(outside["from"], more["from"])
        for key in ("disagreements", "notes"):
            outside[key] = outside[key] + [f"{more['address']}: {line}" for line in more[key]]
        outside["unexpected"] = outside["unexpected"] + [
            f"{u} on {more['address']}" for u in more["unexpected"]
        ]
        outside["elapsed"] = round((outside.get("elapsed") or 0) + (more.get("elapsed") or 0), 3)
    return findings, allowed, outside
