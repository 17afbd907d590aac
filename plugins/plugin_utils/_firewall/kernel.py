# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Who reaches each listening socket, from the ruleset the kernel holds (host.ruleset of
portguard.hardening.exposed_ports_read), in the shape the policy judges."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections.abc import Mapping

from ansible_collections.portguard.hardening.plugins.module_utils._values import show
from ansible_collections.portguard.hardening.plugins.plugin_utils._policy import reach_key
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


_OWN_FORWARD = ("inet", "portguard")
_VERDICTS = ("accept", "reject", "drop")


def _source_text(right):
    """The sources a saddr match names, as the policy writes them; None when not modelled."""
    if isinstance(right, str):
        return [right]
    if isinstance(right, Mapping) and isinstance(right.get("prefix"), Mapping):
        prefix = right["prefix"]
        return ["{}/{}".format(prefix.get("addr"), prefix.get("len"))]
    if isinstance(right, Mapping) and isinstance(right.get("set"), list):
        found = []
        for item in right["set"]:
            part = _source_text(item)
            if part is None:
                return None
            found.extend(part)
        return found
    return None


def _forward_rule(expr):
    """(protocol, ports, sources, verdict) of one rule of the collection's forward chain, "skip"
    for its running-connections rule, None for anything it does not write."""
    protocol, ports, sources, verdict = None, None, None, None
    for stmt in expr if isinstance(expr, list) else []:
        if not isinstance(stmt, Mapping) or len(stmt) != 1:
            return None
        ((kind, body),) = stmt.items()
        if kind in _VERDICTS:
            verdict = kind
        elif kind == "counter":
            continue
        elif kind == "match" and isinstance(body, Mapping):
            left, right = body.get("left"), body.get("right")
            ct = left.get("ct") if isinstance(left, Mapping) else None
            meta = left.get("meta") if isinstance(left, Mapping) else None
            payload = left.get("payload") if isinstance(left, Mapping) else None
            if isinstance(ct, Mapping) and ct.get("key") == "state":
                return "skip"
            if isinstance(ct, Mapping) and ct.get("key") == "status":
                if right not in ("dnat", ["dnat"]):
                    return None
            elif isinstance(ct, Mapping) and ct.get("key") == "proto-dst":
                if ct.get("dir") != "original" or body.get("op") not in ("==", "in"):
                    return None
                ports = _ports_of(right)
            elif isinstance(meta, Mapping) and meta.get("key") == "l4proto":
                if right not in ("tcp", "udp"):
                    return None
                protocol = right
            elif isinstance(payload, Mapping) and payload.get("field") == "saddr":
                sources = _source_text(right)
                if sources is None or body.get("op") not in ("==", "in"):
                    return None
            else:
                return None
        else:
            return None
    if protocol is None or not ports or verdict is None:
        return None
    return protocol, ports, sources, verdict


def forward_closures(ruleset):
    """{(protocol, port): {"exposure": "closed"|"restricted", "sources"}} of the forwarded
    ports the collection's own table closes (its forward chain rejects DNAT'd packets by their
    original port). A rule it does not recognise there ends the reading: nothing counts as
    closed by a chain that holds something else."""
    closures = {}
    admitted = {}
    opened = set()
    for chain in ruleset.chains.values() if ruleset is not None else ():
        if (chain.family, chain.table) != _OWN_FORWARD or chain.hook != "forward":
            continue
        for rule in chain.rules:
            parsed = _forward_rule(rule.expr)
            if parsed == "skip":
                continue
            if parsed is None:
                return {}
            protocol, ports, sources, verdict = parsed
            for port in ports:
                key = (protocol, port)
                if key in closures or key in opened:
                    continue
                if verdict == "accept" and not sources:
                    # Accepted for everyone before any reject: this chain does not close it.
                    opened.add(key)
                elif verdict == "accept":
                    admitted.setdefault(key, []).extend(sources)
                elif verdict in ("reject", "drop") and not sources:
                    allowed = admitted.get(key) or []
                    closures[key] = {
                        "exposure": "restricted" if allowed else "closed",
                        "sources": list(allowed),
                    }
    return closures


_RANK = {"closed": 0, "restricted": 1, "everyone": 2}


def _forwarded_answer(sock, where, closure, answer):
    """The reach of a forwarded port: what the forward path admits, or what the input path
    admits to its listener when that is more."""
    if closure is None:
        return forwarded_reach(where)
    kernel = {
        "exposure": "nobody" if closure["exposure"] == "closed" else "some",
        "reason": "table inet portguard rejects its forwarded packets (chain forward)",
        "unknown": [],
        "excluded": [],
    }
    forward = {
        "exposure": closure["exposure"],
        "sources": list(closure["sources"]),
        "via": [],
        "kernel": kernel,
    }
    if answer is None:
        return forward
    listening = policy_reach(answer)
    return listening if _RANK[listening["exposure"]] > _RANK[forward["exposure"]] else forward


def kernel_reach(host, sockets, read=None):
    """({socket key: reach}, notes, ruleset or None) for the sockets of one host read.

    The key is _policy.reach_key(); a ruleset that cannot be read leaves every socket exposed, with
    the reason. ``read`` is read_ruleset()'s answer when the caller has it already.
    """
    ruleset, notes = read if read is not None else read_ruleset(host.get("ruleset") or {})
    notes = list(notes)
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
    closures = forward_closures(ruleset)
    reach = {}
    for sock, answer in zip(sockets, answers):
        key = (sock["protocol"], sock["port"])
        published = sock.get("published")
        where = forwarded.get(key)
        if published and not where and not published.get("listener"):
            reach[reach_key(sock)] = _unforwarded(sock)
        elif where:
            # An entry that stands for a publication nothing listens on has no input path.
            listening = answer if not published or published.get("listener") else None
            reach[reach_key(sock)] = _forwarded_answer(sock, where, closures.get(key), listening)
        else:
            reach[reach_key(sock)] = policy_reach(answer)
    return reach, notes, ruleset


def _unforwarded(sock):
    # An engine may write its forward in a shape forwarded_ports() does not read (a map, a
    # jump before the DNAT): what the engine says it publishes counts as exposed.
    why = (
        "published by its engine, but no port forward of the kernel's ruleset was recognised: "
        "counted as exposed"
    )
    return {
        "exposure": "everyone",
        "sources": [],
        "via": ["kernel: " + why],
        "kernel": {"exposure": "unknown", "reason": why, "unknown": ["dnat"], "excluded": []},
    }
