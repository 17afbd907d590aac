# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Who can open a new connection, or send a new datagram, to a listening socket from outside.

Netfilter semantics on the input hook: every base chain of type filter on the hook runs in
priority order (``inet`` chains for both families); accept ends one base chain and the packet
goes on to the next, drop and reject end it all; jump, goto and return move between chains; a
base chain's policy decides what falls off its end.  A socket is reachable through the families
its clients can use (a dual-stack socket through either), on every interface but ``lo``, at
its own address or, bound to a wildcard, at every address of the host.

The source address is evaluated as a set, twice when an expression is not modelled: once
letting every such expression go the attacker's way (what may get in) and once the other way
(what surely gets in).  When both agree the unmodelled expressions did not decide; when they
differ the answer is ``unknown``, with their names, and the socket counts as exposed.

Answers: ``everyone`` (more than half of all addresses, ``excluded`` lists those kept out),
``some`` (``sources`` lists the networks), ``nobody`` or ``unknown``; ``rules`` and ``reason``
say which rules or policies decided.

Public: Evaluator, evaluate_sockets, EXPOSURES, GUEST_BRIDGES.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
from collections.abc import Mapping

from ansible_collections.portguard.hardening.plugins.module_utils._firewall_model import (
    _client_families as client_families,
)
from ansible_collections.portguard.hardening.plugins.module_utils._values import is_int, show
from ansible_collections.portguard.hardening.plugins.plugin_utils._ruleset import intervals as iv
from ansible_collections.portguard.hardening.plugins.plugin_utils._ruleset.compile import (
    iif_matches,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._ruleset.model import (
    RulesetError,
    paused_gc,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._ruleset.text import rule_text
from ansible_collections.portguard.hardening.plugins.plugin_utils._ruleset.walk import Kind, Sweep

EXPOSURES = ("nobody", "some", "unknown", "everyone")  # in rising order of exposure
MAX_REASONS = 6
# Bridges that Docker, podman, libvirt and LXC make for the host's own guests: what comes in on
# them comes from a guest of this host, not from another host. nft-style "*" wildcards.
GUEST_BRIDGES = ("docker0", "br-*", "cni-podman*", "podman*", "virbr*", "veth*", "lxcbr*", "lxdbr*")


def _check_interfaces(interfaces, inside):
    if not isinstance(interfaces, Mapping):
        raise RulesetError(
            [f"interfaces: expected a mapping of names to addresses, got {show(interfaces)}"]
        )
    errors, addresses = [], {"ipv4": [], "ipv6": []}
    for name, addrs in interfaces.items():
        if not isinstance(name, str) or not name:
            errors.append(f"interfaces: {show(name)} is not an interface name")
            continue
        if not isinstance(addrs, (list, tuple)):
            errors.append(
                f"interfaces[{show(name)}]: expected a list of addresses, got {show(addrs)}"
            )
            continue
        for addr in addrs:
            try:
                value = ipaddress.ip_interface(addr).ip
            except (TypeError, ValueError):
                errors.append(f"interfaces[{show(name)}]: {show(addr)} is not an address")
                continue
            if name != "lo" and not value.is_loopback:
                addresses[f"ipv{value.version}"].append(int(value))
    if errors:
        raise RulesetError(errors)
    # No interface facing outside: "" stands for one that matches no name a rule gives.
    outside = tuple(
        sorted(n for n in interfaces if n != "lo" and not any(iif_matches(p, n) for p in inside))
    ) or ("",)
    return outside, {f: tuple(sorted(set(a))) for f, a in addresses.items()}


def _check_socket(sock, where):
    errors = []
    if not isinstance(sock, Mapping):
        raise RulesetError([f"{where}: expected a mapping, got {show(sock)}"])
    if sock.get("protocol") not in ("tcp", "udp"):
        errors.append(f"{where}.protocol: expected tcp or udp, got {show(sock.get('protocol'))}")
    if sock.get("family") not in ("ipv4", "ipv6"):
        errors.append(f"{where}.family: expected ipv4 or ipv6, got {show(sock.get('family'))}")
    device = sock.get("interface")
    if device is not None and (not isinstance(device, str) or not device):
        errors.append(f"{where}.interface: expected an interface name, got {show(device)}")
    port = sock.get("port")
    if not is_int(port) or not 0 <= port <= 65535:
        errors.append(f"{where}.port: expected a port number, got {show(port)}")
    address = _address(sock.get("address"))
    if address is None:
        errors.append(f"{where}.address: expected an address, got {show(sock.get('address'))}")
    if errors:
        raise RulesetError(errors)
    return address


def _address(text):
    """The ipaddress object of a socket's address, or None."""
    if not isinstance(text, str):
        return None
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _where(chain, rule):
    if rule is None:
        return {
            "table": f"{chain.chain.family} {chain.chain.table}",
            "chain": chain.chain.name,
            "handle": None,
            "index": None,
        }
    return {
        "table": f"{chain.chain.family} {chain.chain.table}",
        "chain": chain.chain.name,
        "handle": rule.rule.handle,
        "index": rule.rule.index,
    }


def _decision(cache, verdict, chain, rule, family):
    """A read-only entry of an answer's ``rules``; answers share them.  The rule's text is
    made once per rule (cache[id(rule)], the rule kept with it)."""
    key = (verdict, chain, rule, family)
    found = cache.get(key)
    if found is not None:
        return found
    entry = cache[key] = _where(chain, rule)
    entry["family"] = family
    entry["verdict"] = verdict
    if rule is None:
        entry["text"] = verdict
    else:
        text = cache.get(id(rule.rule))
        if text is None:
            text = cache[id(rule.rule)] = (rule.rule, rule_text(rule.rule))
        entry["text"] = text[1]
    return entry


def _reason_text(entry):
    place = f"{entry['table']} {entry['chain']}"
    if entry["index"] is None:
        return f"{entry['verdict']} of {place}"
    handle = entry["handle"]  # iptables-legacy rules have a line of the save text instead
    at = f"rule {entry['index']} ({handle if isinstance(handle, str) else f'handle {handle}'})"
    return f"{entry['verdict']} by {place} {at}: {entry['text']}"


class _Context:
    """What one family's packets to a socket meet, but for the port: the Kind, and one
    interface and destination address per class of them that no rule tells apart.  Contexts
    that no rule tells apart share ``answers``, the family answer per port class."""

    __slots__ = ("kind", "key", "iifs", "dests", "answers")

    def __init__(self, kind, key, iifs, dests, answers):
        self.kind, self.key, self.iifs, self.dests, self.answers = kind, key, iifs, dests, answers


class Evaluator:
    """Answers for sockets against one parsed ruleset and the host's interfaces.

    ``interfaces`` maps each interface name to its addresses ("10.0.0.5/24", "fe80::1").
    Packets from another host come in by any of them but ``lo`` and those ``inside`` names
    (by default the bridges of the host's own containers and virtual machines); the
    addresses of all of them can be a packet's destination.  Results are cached: ask for
    many sockets at once.  Sockets alike but for the port (same protocol, family, address,
    interface) share one plan, and ports of one class one answer: each answer is built once
    and the very same object, parts and all, is every such socket's answer.  Treat answers
    as read-only (copy one to change it).
    """

    def __init__(self, ruleset, interfaces, inside=GUEST_BRIDGES):
        iv.forget()
        self.ruleset = ruleset
        self.outside_ifaces, self.addresses = _check_interfaces(interfaces, inside)
        self.kinds = {}
        self.compiled = {"ipv4": {}, "ipv6": {}}  # per family: rules compiled once for both
        self.contexts = {}
        self.plans = {}  # socket shape -> ((family, fixed answer or None, context), ...)
        self.runs = {}
        self.answers = {}
        self.signatures = {}
        self.decisions = {}
        self.reasons = {}  # id(decision entry) -> its line of a reason
        self.reaches = {}  # (family, id(reach)) -> (reach, exposure, sources, excluded)
        self.judged = {}
        self.fixed = {}
        self.combined = {}

    def _kind(self, family, protocol):
        kind = self.kinds.get((family, protocol))
        if kind is None:
            kind = Kind(self.ruleset, family, protocol, self.compiled[family])
            self.kinds[(family, protocol)] = kind
        return kind

    def _classes(self, kind, what, values):
        """{signature: value}: one value per class of values that no rule tells apart."""
        key = (kind.family, kind.protocol, what, values)
        found = self.signatures.get(key)
        if found is None:
            found = {}
            for value in values:
                if what == "iif":
                    sig = tuple(iif_matches(p, value) for p in sorted(kind.iif_patterns))
                else:
                    sig = tuple(iv.contains(r, value) for r in kind.daddr_ranges)
                found.setdefault(sig, value)
            self.signatures[key] = found
        return found

    def _context(self, family, protocol, daddrs, interfaces):
        key = (family, protocol, daddrs, interfaces)
        found = self.contexts.get(key)
        if found is None:
            kind = self._kind(family, protocol)
            iifs = self._classes(kind, "iif", interfaces or self.outside_ifaces)
            dests = self._classes(kind, "daddr", daddrs)
            same = (family, protocol, tuple(iifs), tuple(dests))
            answers = self.answers.setdefault(same, {})
            found = self.contexts[key] = _Context(kind, same, iifs, dests, answers)
        return found

    def _sweep(self, kind, iif, daddr, key):
        """The Sweep of one context, walked once."""
        found = self.runs.get(key)
        if found is None:
            found = self.runs[key] = Sweep(kind, iif, daddr)
        return found

    def family_answer(self, family, protocol, port, daddrs, interfaces=None):
        """The answer for one client family, given the destination addresses it can use and
        the interfaces it can come in by (all but lo unless given)."""
        if not daddrs:
            return self._fixed(family, f"no {family} address on an interface other than lo")
        return self._answer_at(self._context(family, protocol, daddrs, interfaces), port)

    def _answer_at(self, context, port):
        pclass = context.kind.port_class(port)
        answer = context.answers.get(pclass)
        if answer is None:
            answer = context.answers[pclass] = self._compute(context, pclass)
        return answer

    def _compute(self, context, pclass):
        kind = context.kind
        family, protocol = context.key[:2]
        reach = sure = iv.EMPTY
        events, unknown = [], []
        for isig, iif in context.iifs.items():
            for dsig, daddr in context.dests.items():
                found = self._sweep(kind, iif, daddr, (family, protocol, isig, dsig)).get(pclass)
                if found is None:
                    continue
                reach, sure = iv.union(reach, found[0]), iv.union(sure, found[1])
                events.extend(found[2])
                unknown.extend(found[3])
        return self._judge(family, reach, sure, events, unknown)

    def _fixed(self, family, reason):
        """A "nobody" answer that needs no walk (loopback, no address of the family)."""
        found = self.fixed.get((family, reason))
        if found is None:
            found = self.fixed[(family, reason)] = _answer("nobody", family, iv.EMPTY, [], [],
                                                           reason)  # fmt: skip
        return found

    def _judge(self, family, reach, sure, events, unknown):
        if reach is not sure and reach != sure:
            names = []
            for name, _place in unknown:
                if name not in names:
                    names.append(name)
            where = [
                _decision(self.decisions, "unknown", *place, family)
                for _n, place in unknown
                if place
            ]
            where = _unique(where)[:MAX_REASONS]
            text = "not modelled: " + "; ".join(names)
            return self._answer("unknown", family, reach, where, names, text)
        # Port classes that met the same rules with the same sources share one answer.
        key = (family, id(reach), tuple([event[0] for event in events]))
        found = self.judged.get(key)
        if found is None:
            # Holding reach and the events keeps the objects whose ids make the key alive.
            found = (self._decide(family, reach, [event[1] for event in events]), reach, events)
            self.judged[key] = found
        return found[0]

    def _decide(self, family, reach, events):
        decided = []
        seen = set()
        for verdict, chain, rule, sources in events:
            if reach:
                wanted = verdict in ("accept", "policy accept") and iv.intersect(sources, reach)
            else:
                wanted = verdict in ("drop", "reject", "policy drop")
            if wanted:
                entry = _decision(self.decisions, verdict, chain, rule, family)
                key = (entry["table"], entry["chain"], entry["index"], verdict)
                if key not in seen:
                    seen.add(key)
                    decided.append(entry)
        decided = decided[:MAX_REASONS]
        text = "; ".join(self._reason(e) for e in decided)
        if not decided:
            text = f"no {family} filter chain on the input hook"
        return self._answer(None, family, reach, decided, [], text)

    def _reason(self, entry):
        found = self.reasons.get(id(entry))  # entries live as long as self.decisions
        if found is None:
            found = self.reasons[id(entry)] = _reason_text(entry)
        return found

    def _answer(self, exposure, family, reach, rules, unknown, reason):
        """_answer(), with the networks of each distinct reach worked out once and shared."""
        found = self.reaches.get((family, id(reach)))
        if found is None:
            parts = _answer(None, family, reach, [], [], "")
            found = (reach, parts["exposure"], parts["sources"], parts["excluded"])
            self.reaches[(family, id(reach))] = found
        answer = {
            "exposure": exposure or found[1],
            "sources": found[2],
            "excluded": found[3],
            "unknown": list(unknown),
            "rules": rules,
            "reason": reason,
        }
        if exposure == "unknown":
            answer["at_most"] = found[1]
        return answer

    def exposure(self, sock, where="socket"):
        """The answer for one socket (the shape listening_facts reports)."""
        with paused_gc():
            return self._exposure(sock, where)

    def _exposure(self, sock, where, index=None):
        try:
            shape = (
                sock.get("protocol"),
                sock.get("family"),
                sock.get("address"),
                sock.get("interface"),
                sock.get("v6only") is False,
            )
            plan = self.plans.get(shape)
            port = sock.get("port")
        except (AttributeError, TypeError):  # not a mapping, or values that are not keys
            shape = plan = port = None
        if plan is None or port.__class__ is not int or not 0 <= port <= 65535:
            plan = self._plan(sock, where if index is None else f"{where}[{index}]", shape)
            port = sock["port"]
        if len(plan) == 1:
            family, answer, context = plan[0]
            if answer is None:
                answer = self._answer_at(context, port)
            found = self.combined.get(id(answer))
            if found is None:
                found = self.combined[id(answer)] = (dict(answer, families={family: answer}),
                                                     answer)  # fmt: skip
            return found[0]
        answers = {
            family: self._answer_at(context, port) if answer is None else answer
            for family, answer, context in plan
        }
        key = tuple(id(a) for a in answers.values())
        found = self.combined.get(key)
        if found is None:
            found = self.combined[key] = (_combine(answers), answers)
        return found[0]

    def _plan(self, sock, where, shape):
        """How to answer sockets of this shape, checked (RulesetError names what is wrong)."""
        address = _check_socket(sock, where)
        device = sock.get("interface")  # SO_BINDTODEVICE: only packets that came in by it
        plan = []
        for family in client_families(sock):
            if address.is_loopback or _mapped_loopback(address) or device == "lo":
                why = "bound to the loopback interface" if device == "lo" else None
                plan.append((family, self._fixed(family, why or "bound to a loopback address"),
                             None))  # fmt: skip
                continue
            daddrs = self._destinations(family, address)
            if not daddrs:
                why = f"no {family} address on an interface other than lo"
                plan.append((family, self._fixed(family, why), None))
                continue
            interfaces = (device,) if device else None
            plan.append((family, None, self._context(family, sock["protocol"], daddrs,
                                                     interfaces)))  # fmt: skip
        plan = tuple(plan)
        if shape is not None:
            self.plans[shape] = plan
        return plan

    def _destinations(self, family, address):
        if address.version == 6 and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if address.is_unspecified or (family == "ipv4" and address.version == 6):
            return self.addresses[family]
        return (int(address),)


def _mapped_loopback(address):
    return (
        address.version == 6 and address.ipv4_mapped is not None and address.ipv4_mapped.is_loopback
    )


def _answer(exposure, family, reach, rules, unknown, reason):
    outside = iv.outside(family)
    widest = (
        "nobody" if not reach else ("everyone" if 2 * iv.size(reach) > iv.size(outside) else "some")
    )
    answer = {
        "exposure": exposure or widest,
        "sources": iv.networks(reach, family) if widest == "some" else [],
        "excluded": iv.networks(iv.subtract(outside, reach), family)
        if widest == "everyone"
        else [],
        "unknown": list(unknown),
        "rules": rules,
        "reason": reason,
    }
    if exposure == "unknown":
        answer["at_most"] = widest
    return answer


def _combine(answers):
    """One answer for a socket from the answers of its client families ({family: answer})."""
    if len(answers) == 1:
        ((family, only),) = answers.items()
        return dict(only, families={family: only})
    worst = max(answers.values(), key=lambda a: EXPOSURES.index(a["exposure"]))
    items = list(answers.items())
    combined = {
        "exposure": worst["exposure"],
        "sources": []
        if worst["exposure"] == "everyone"
        else [s for _f, a in items for s in a["sources"]],
        "excluded": [s for _f, a in items if a["exposure"] == "everyone" for s in a["excluded"]],
        "unknown": [n for _f, a in items for n in a["unknown"]],
        "rules": _unique(r for _f, a in items for r in a["rules"]),
        "reason": "; ".join(f"{f}: {a['reason']}" for f, a in items),
        "families": dict(answers),
    }
    if worst["exposure"] == "unknown":
        combined["at_most"] = max(
            (a.get("at_most", a["exposure"]) for a in answers.values()), key=EXPOSURES.index
        )
    return combined


def _unique(entries):
    out = []
    for entry in entries:
        if entry not in out:
            out.append(entry)
    return out


def evaluate_sockets(ruleset, sockets, interfaces, inside=GUEST_BRIDGES):
    """The answer for each socket, in order; RulesetError names every malformed one."""
    errors, answers = [], []
    with paused_gc():
        exposure = Evaluator(ruleset, interfaces, inside)._exposure
        for index, sock in enumerate(sockets):
            try:
                answers.append(exposure(sock, "sockets", index))
            except RulesetError as exc:
                errors.extend(exc.errors)
        # The evaluator's walks and caches go now, before the collector is back: it would
        # otherwise look through all of them once, for nothing (nothing here forms cycles).
        del exposure
        iv.forget()
    if errors:
        raise RulesetError(errors)
    return answers
