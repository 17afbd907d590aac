# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Who reaches each listening socket, from the ruleset the kernel holds (host.ruleset of
portguard.hardening.exposed_ports_read), in the shape the policy judges."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections.abc import Mapping

from ansible_collections.portguard.hardening.plugins.module_utils._policy import reach_key
from ansible_collections.portguard.hardening.plugins.module_utils._values import show
from ansible_collections.portguard.hardening.plugins.plugin_utils._ruleset.evaluate import (
    evaluate_sockets,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._ruleset.iptables import (
    add_legacy,
    explain_xt,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._ruleset.model import (
    Ruleset,
    RulesetError,
    parse_ruleset,
)

FAMILIES = ("ipv4", "ipv6")
# The policy's words for the evaluator's answers; an expression the evaluator does not model
# counts as exposed.
_POLICY_EXPOSURE = {
    "everyone": "everyone",
    "unknown": "everyone",
    "some": "restricted",
    "nobody": "closed",
}


def _text(value, where, errors):
    if value is None or isinstance(value, str):
        return value or None
    errors.append(f"{where}: expected text, got {show(value)}")
    return None


def _saves(ruleset_read, key, errors):
    saves = ruleset_read.get(key)
    if saves is None:
        return {f: None for f in FAMILIES}
    if not isinstance(saves, Mapping):
        errors.append(f"host.ruleset.{key}: expected a mapping of families, got {show(saves)}")
        return {}
    return {f: _text(saves.get(f), f"host.ruleset.{key}.{f}", errors) for f in FAMILIES}


def read_ruleset(ruleset_read):
    """(Ruleset or None, notes): the kernel's ruleset from what the host read returned.

    None when nothing could be read (no nft and no iptables save text): then nobody can say
    what the kernel filters. RulesetError names every malformed part.
    """
    if not isinstance(ruleset_read, Mapping):
        raise RulesetError([f"host.ruleset: expected a mapping, got {show(ruleset_read)}"])
    errors = []
    nft = _text(ruleset_read.get("nft"), "host.ruleset.nft", errors)
    xt = _saves(ruleset_read, "iptables_nft_save", errors)
    legacy = _saves(ruleset_read, "iptables_legacy_save", errors)
    if errors:
        raise RulesetError(errors)
    notes = []
    if nft is not None:
        ruleset = parse_ruleset(nft)
        for family in FAMILIES:
            if xt[family]:
                explain_xt(ruleset, xt[family], family)
    elif any(xt.values()) or any(legacy.values()):
        ruleset = Ruleset()
        for family in FAMILIES:
            if xt[family]:
                # Without nft the iptables-nft tables are read from their save text alone.
                add_legacy(ruleset, xt[family], family)
                notes.append(f"nft is not installed: the {family} iptables-nft tables were read "
                             "from iptables-nft-save")  # fmt: skip
    else:
        return None, [
            "the kernel's ruleset could not be read: no output of nft or iptables-nft-save"
        ]
    for family in FAMILIES:
        if legacy[family]:
            add_legacy(ruleset, legacy[family], family)
    notes.extend(ruleset.notes)
    return ruleset, notes


def interface_addresses(links):
    """{name: ["address/prefix", ...]} from ``ip -j addr``; links without a name are skipped."""
    found = {}
    for link in links or []:
        if not isinstance(link, Mapping) or not isinstance(link.get("ifname"), str):
            continue
        addrs = found.setdefault(link["ifname"], [])
        for info in link.get("addr_info") or []:
            if isinstance(info, Mapping) and isinstance(info.get("local"), str):
                addrs.append("{}/{}".format(info["local"], info.get("prefixlen", "")).rstrip("/"))
    return found


def policy_reach(answer):
    """The evaluator's answer as the policy reads a socket's reach."""
    exposure = _POLICY_EXPOSURE[answer["exposure"]]
    via = []
    if exposure == "everyone":
        reason = answer.get("reason") or "no rule keeps it out"
        via.append("kernel: " + reason)
    return {
        "exposure": exposure,
        "sources": list(answer.get("sources") or []) if exposure == "restricted" else [],
        "via": via,
        "kernel": {
            "exposure": answer["exposure"],
            "reason": answer.get("reason"),
            "unknown": list(answer.get("unknown") or []),
            "excluded": list(answer.get("excluded") or []),
        },
    }


def unread_reach(why):
    """The reach of every socket when the kernel's ruleset could not be read: exposed."""
    return {
        "exposure": "everyone",
        "sources": [],
        "via": [why],
        "kernel": {"exposure": "unknown", "reason": why, "unknown": [], "excluded": []},
    }


_FORWARDS = ("dnat", "redirect")
_FORWARD_TARGETS = ("DNAT", "REDIRECT")


def _ports_of(right):
    """The port numbers a match's right-hand side names (a number, a set, a range)."""
    if isinstance(right, bool):
        return []
    if isinstance(right, int):
        return [right]
    if isinstance(right, dict):
        if "set" in right:
            return [p for item in right["set"] for p in _ports_of(item)]
        if "range" in right and len(right["range"]) == 2:
            low, high = right["range"]
            if isinstance(low, int) and isinstance(high, int) and 0 <= high - low < 65536:
                return list(range(low, high + 1))
    return []


def forwarded_ports(ruleset):
    """{(protocol, port): "table chain"} of the ports a rule forwards elsewhere (DNAT, redirect):
    Docker's and podman's published ports. Their packets are rewritten before the input path,
    so no input rule decides who reaches them."""
    found = {}
    for chain in ruleset.chains.values() if ruleset is not None else ():
        for rule in chain.rules:
            stmts = [e for e in rule.expr if isinstance(e, dict)]
            forwards = any(
                k in _FORWARDS
                or (k == "xt" and isinstance(v, dict) and v.get("name") in _FORWARD_TARGETS)
                for e in stmts
                for k, v in e.items()
            )
            if not forwards:
                continue
            for stmt in stmts:
                match = stmt.get("match")
                left = match.get("left") if isinstance(match, dict) else None
                payload = left.get("payload") if isinstance(left, dict) else None
                if not isinstance(payload, dict) or payload.get("field") != "dport":
                    continue
                protocols = (
                    [payload["protocol"]] if payload.get("protocol") in ("tcp", "udp")
                    else ["tcp", "udp"]
                )  # fmt: skip
                for port in _ports_of(match.get("right")):
                    for protocol in protocols:
                        found.setdefault(
                            (protocol, port), f"{chain.family} {chain.table} {chain.name}"
                        )
    return found


def forwarded_reach(where):
    why = (
        f"kernel: a port forward (DNAT in {where}) rewrites its packets before the input path: "
        "no input rule decides who reaches it"
    )
    return {
        "exposure": "everyone",
        "sources": [],
        "via": [why],
        "kernel": {"exposure": "unknown", "reason": why, "unknown": ["dnat"], "excluded": []},
    }


def kernel_reach(host, sockets):
    """({socket key: reach}, notes, ruleset or None) for the sockets of one host read.

    The key is _policy.reach_key(); a ruleset that cannot be read leaves every socket exposed, with
    the reason.
    """
    ruleset, notes = read_ruleset(host.get("ruleset") or {})
    if ruleset is None:
        reach = unread_reach(notes[0])
        return {reach_key(s): reach for s in sockets}, notes, None
    interfaces = interface_addresses(host.get("interfaces"))
    if not any(addrs for name, addrs in interfaces.items() if name != "lo"):
        # Without the host's addresses every wildcard socket would look unreachable.
        why = (
            "the host's addresses could not be read (ip -j addr): every listener counts as exposed"
        )
        reach = unread_reach(why)
        return {reach_key(s): reach for s in sockets}, notes + [why], ruleset
    answers = evaluate_sockets(ruleset, sockets, interfaces)
    forwarded = forwarded_ports(ruleset)
    reach = {}
    for sock, answer in zip(sockets, answers):
        where = forwarded.get((sock["protocol"], sock["port"]))
        reach[reach_key(sock)] = forwarded_reach(where) if where else policy_reach(answer)
    return reach, notes, ruleset
