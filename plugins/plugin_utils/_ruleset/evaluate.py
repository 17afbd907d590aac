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
say which rules or policies decided.  Work is done once per class, not per socket: sockets
alike but for the port share a plan (their contexts), ports that no rule tells apart share a
port class, and each distinct answer, with its texts, is built once; sockets of one class get
the very same answer object, so answers are read-only.

Public: Evaluator, evaluate_sockets, EXPOSURES, GUEST_BRIDGES.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re
from bisect import bisect_right
from collections.abc import Mapping
from operator import itemgetter

from ansible_collections.portguard.hardening.plugins.module_utils._values import is_int, show
from ansible_collections.portguard.hardening.plugins.plugin_utils._policy.firewall_model import (
    _client_families as client_families,
)
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
# The names those tools really give (Docker's br-<12 hex digits of the network id>, veth<hex>,
# numbered bridges): a name such as br-ex or br-lan is an uplink's, and counts as outside.
GUEST_BRIDGE_NAMES = re.compile(
    r"(docker\d+|br-[0-9a-f]{12}|cni-podman\d+|podman\d+|virbr\d+|veth[0-9a-f]+|lxcbr\d+|lxdbr\d+)"
)


def is_inside(name, inside=GUEST_BRIDGES):
    """Whether an interface only carries the host's own guests (never another host)."""
    if inside is GUEST_BRIDGES:
        return GUEST_BRIDGE_NAMES.fullmatch(name) is not None
    return any(iif_matches(p, name) for p in inside)


_FIRST = itemgetter(0)
_RANKS = {exposure: rank for rank, exposure in enumerate(EXPOSURES)}


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
    outside = tuple(sorted(n for n in interfaces if n != "lo" and not is_inside(n, inside))) or (
        "",
    )
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


def _where(chain, rule, family, verdict, text):
    """An entry of an answer's ``rules``."""
    return {
        "table": chain.label,
        "chain": chain.chain.name,
        "handle": None if rule is None else rule.rule.handle,
        "index": None if rule is None else rule.rule.index,
        "family": family,
        "verdict": verdict,
        "text": text,
    }


def _reason_text(entry):
    if entry["index"] is None:
        return f"{entry['verdict']} of {entry['table']} {entry['chain']}"
    handle = entry["handle"]  # iptables-legacy rules have a line of the save text instead
    handle = handle if isinstance(handle, str) else f"handle {handle}"
    return (
        f"{entry['verdict']} by {entry['table']} {entry['chain']} rule {entry['index']}"
        f" ({handle}): {entry['text']}"
    )


class _Context:
    """What one family's packets to a socket meet, but for the port: the Kind, and one
    interface and destination address per class of them that no rule tells apart (their
    Sweeps, walked when first needed).  Contexts that no rule tells apart share ``answers``,
    the family answer per port class, and ``singles``, the socket answer per port class for
    sockets that only this family reaches."""

    __slots__ = (
        "kind",
        "key",
        "iifs",
        "dests",
        "answers",
        "singles",
        "sweeps",
        "starts",
        "bounds",
    ) + ("wanted",)

    def __init__(self, kind, key, iifs, dests, answers, singles):
        self.kind, self.key, self.iifs, self.dests = kind, key, iifs, dests
        self.answers, self.singles = answers, singles
        self.sweeps = None  # [(sweep key, interface, destination)]
        self.wanted = set()  # the port classes a batch of sockets asks for
        # port -> port class: a port a rule names starts its class, others are looked for
        self.starts, self.bounds = kind.class_starts, kind.port_bounds


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
        # socket shape -> its answer (the same for every port), a _Context (one family), or
        # ((family, answer or None, context or None), ...) for a socket both families reach
        self.plans = {}
        self.runs = {}
        self.wanted = {}  # sweep key -> the port classes a batch of sockets asks for
        self.answers = {}
        self.singles = {}
        self.signatures = {}
        self.decisions = {}
        self.texts = {}  # id(rule) -> (rule, its text)
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
            singles = self.singles.setdefault(same, {})
            found = self.contexts[key] = _Context(kind, same, iifs, dests, answers, singles)
        return found

    def family_answer(self, family, protocol, port, daddrs, interfaces=None):
        """The answer for one client family, given the destination addresses it can use and
        the interfaces it can come in by (all but lo unless given)."""
        if not daddrs:
            return self._fixed(family, f"no {family} address on an interface other than lo")
        context = self._context(family, protocol, daddrs, interfaces)
        return self._answer_at(context, context.kind.port_class(port))

    def _answer_at(self, context, pclass):
        answer = context.answers.get(pclass)
        if answer is None:
            answer = context.answers[pclass] = self._compute(context, pclass)
        return answer

    def _compute(self, context, pclass):
        """The family answer for a port class: what its Sweeps found, judged."""
        ways = context.sweeps
        if ways is None:
            ways = context.sweeps = self._ways(context)
        kind = context.kind
        if len(ways) == 1:
            found = self._sweep(kind, ways[0], pclass).results.get(pclass)
            if found is None:
                return self._judge(kind.family, iv.EMPTY, iv.EMPTY, (), ())
            return self._judge(kind.family, *found)
        reach = sure = iv.EMPTY
        items, unknown = [], []
        for way in ways:
            found = self._sweep(kind, way, pclass).results.get(pclass)
            if found is not None:
                reach, sure = iv.union(reach, found[0]), iv.union(sure, found[1])
                items += found[2]
                unknown += found[3]
        return self._judge(kind.family, reach, sure, items, unknown)

    @staticmethod
    def _ways(context):
        """(sweep key, interface, destination) per class of interfaces and destinations."""
        family, protocol = context.key[:2]
        return [
            ((family, protocol, isig, dsig), iif, daddr)
            for isig, iif in context.iifs.items()
            for dsig, daddr in context.dests.items()
        ]

    def _sweep(self, kind, way, pclass):
        """The Sweep that answers for this port class: walked once, over the port classes a
        batch of sockets asked for if it did, and again over all of them for another one."""
        key, iif, daddr = way
        found = self.runs.get(key)
        if found is None:
            found = self.runs[key] = Sweep(kind, iif, daddr, self.wanted.pop(key, None))
        if found.covered is not None and pclass not in found.covered:
            found = self.runs[key] = Sweep(kind, iif, daddr)
        return found

    def _fixed(self, family, reason):
        """A "nobody" answer that needs no walk (loopback, no address of the family)."""
        found = self.fixed.get((family, reason))
        if found is None:
            found = _answer("nobody", family, iv.EMPTY, [], [], reason)
            self.fixed[(family, reason)] = found
        return found

    def _judge(self, family, reach, sure, items, unknown):
        """The family answer from what a port class met: items are (key, event) pairs."""
        if reach is not sure and reach != sure:
            names = []
            for name, _place in unknown:
                if name not in names:
                    names.append(name)
            where = [self._decision("unknown", *place, family) for _n, place in unknown if place]
            where = _unique(where)[:MAX_REASONS]
            text = "not modelled: " + "; ".join(names)
            return self._answer("unknown", family, reach, where, names, text)
        # Port classes that met the same rules with the same sources share one answer.
        key = (family, id(reach), tuple(map(_FIRST, items)))
        found = self.judged.get(key)
        if found is None:
            # Holding reach and the events keeps the objects whose ids make the key alive.
            found = self.judged[key] = (self._decide(family, reach, items), reach, items)
        return found[0]

    def _decide(self, family, reach, items):
        decided = []
        seen = set()
        for _key, (verdict, chain, rule, sources) in items:
            if reach:
                wanted = verdict in ("accept", "policy accept") and (
                    sources is reach or iv.intersect(sources, reach)
                )
            else:
                wanted = verdict in ("drop", "reject", "policy drop")
            if wanted:
                # One entry per (verdict, chain, rule) of this family: seen by identity.
                entry = self._decision(verdict, chain, rule, family)
                if id(entry) not in seen:
                    seen.add(id(entry))
                    decided.append(entry)
        decided = decided[:MAX_REASONS]
        reasons = self.reasons
        text = "; ".join([reasons[id(entry)] for entry in decided])
        if not decided:
            text = f"no {family} filter chain on the input hook"
        return self._answer(None, family, reach, decided, [], text)

    def _decision(self, verdict, chain, rule, family):
        """A read-only entry of an answer's ``rules``; answers share them."""
        key = (verdict, chain, rule, family)
        found = self.decisions.get(key)
        if found is not None:
            return found
        if rule is None:
            text = verdict
        else:  # once per rule: an inet rule decides for both families
            text = self.texts.get(id(rule.rule))
            if text is None:
                text = self.texts[id(rule.rule)] = (rule.rule, rule_text(rule.rule))
            text = text[1]
        entry = self.decisions[key] = _where(chain, rule, family, verdict, text)
        # Its line of a reason; entries live as long as self.decisions, so ids stay theirs.
        self.reasons[id(entry)] = _reason_text(entry)
        return entry

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
            answers, errors = self._answers((sock,), where, False)
        if errors:
            raise RulesetError(errors)
        return answers[0]

    def _answers(self, sockets, where, indexed, batch=False):
        """(answers, errors) for sockets, in order; a malformed socket has no answer and
        its errors are named "<where>[<index>]" (indexed) or "<where>".  The sockets' port
        classes are found first; for a batch, walks then carry only those."""
        plans, todo, errors = self.plans, [], []
        for index, sock in enumerate(sockets):
            try:
                shape = (sock["protocol"], sock["family"], sock["address"],
                         sock.get("interface"), sock.get("v6only") is False)  # fmt: skip
                plan, port = plans[shape], sock["port"]
            except (KeyError, TypeError, AttributeError):
                plan = None
            if plan is None or port.__class__ is not int or not 0 <= port <= 65535:
                try:
                    plan = self._plan(sock, f"{where}[{index}]" if indexed else where)
                except RulesetError as exc:
                    errors.extend(exc.errors)
                    continue
                port = sock["port"]
            if plan.__class__ is _Context:
                pclass = plan.starts.get(port)
                if pclass is None:
                    pclass = bisect_right(plan.bounds, port) - 1
                todo.append((plan, pclass))
                if batch:
                    plan.wanted.add(pclass)
            else:
                todo.append((plan, port))
                if batch and plan.__class__ is tuple:
                    for _family, _answer, context in plan:
                        if context is not None:
                            context.wanted.add(context.kind.port_class(port))
        if batch:
            self._want()
        answers = []
        for plan, value in todo:
            if plan.__class__ is _Context:
                answer = plan.singles.get(value)
                if answer is None:
                    answer = plan.singles[value] = self._single(plan, value)
            elif plan.__class__ is dict:
                answer = plan
            else:
                answer = self._both(plan, value)
            answers.append(answer)
        return answers, errors

    def _want(self):
        """Hand the port classes the contexts were asked for to the sweeps not yet walked."""
        for context in self.contexts.values():
            if context.wanted:
                for key, _iif, _daddr in context.sweeps or self._ways(context):
                    if key not in self.runs:
                        self.wanted.setdefault(key, set()).update(context.wanted)
                context.wanted.clear()

    def _single(self, context, pclass):
        """The answer of a socket only one family reaches, from its family answer."""
        answer = self._answer_at(context, pclass)
        found = self.combined.get(id(answer))
        if found is None:
            family = context.kind.family
            found = self.combined[id(answer)] = (dict(answer, families={family: answer}),
                                                 answer)  # fmt: skip
        return found[0]

    def _both(self, plan, port):
        """The answer of a socket both families reach."""
        answers = {}
        for family, answer, context in plan:
            if answer is None:
                answer = self._answer_at(context, context.kind.port_class(port))
            answers[family] = answer
        key = tuple(map(id, answers.values()))
        found = self.combined.get(key)
        if found is None:
            found = self.combined[key] = (_combine(answers), answers)
        return found[0]

    def _plan(self, sock, where):
        """How to answer sockets of this one's shape, checked (RulesetError names what is
        wrong) and remembered when the shape can be a key."""
        address = _check_socket(sock, where)
        device = sock.get("interface")  # SO_BINDTODEVICE: only packets that came in by it
        parts = []
        for family in client_families(sock):
            if address.is_loopback or _mapped_loopback(address) or device == "lo":
                why = "bound to the loopback interface" if device == "lo" else None
                parts.append((family, self._fixed(family, why or "bound to a loopback address"),
                              None))  # fmt: skip
                continue
            daddrs = self._destinations(family, address)
            if not daddrs:
                why = f"no {family} address on an interface other than lo"
                parts.append((family, self._fixed(family, why), None))
                continue
            interfaces = (device,) if device else None
            context = self._context(family, sock["protocol"], daddrs, interfaces)
            parts.append((family, None, context))
        if len(parts) > 1:
            plan = tuple(parts)
        elif parts[0][1] is None:
            plan = parts[0][2]
        else:
            answer = parts[0][1]
            plan = self.combined.get(id(answer))
            if plan is None:
                plan = (dict(answer, families={parts[0][0]: answer}), answer)
                self.combined[id(answer)] = plan
            plan = plan[0]
        try:
            shape = (sock["protocol"], sock["family"], sock["address"],
                     sock.get("interface"), sock.get("v6only") is False)  # fmt: skip
            self.plans[shape] = plan
        except TypeError:  # a value that cannot be a key: checked again each time
            pass
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


def _rank(answer):
    return _RANKS[answer["exposure"]]


def _combine(answers):
    """One answer for a socket from the answers of its client families ({family: answer})."""
    if len(answers) == 1:
        ((family, only),) = answers.items()
        return dict(only, families={family: only})
    worst = max(answers.values(), key=_rank)
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
            (a.get("at_most", a["exposure"]) for a in answers.values()), key=_RANKS.__getitem__
        )
    return combined


def _unique(entries):
    out = []
    for entry in entries:
        if entry not in out:
            out.append(entry)
    return out


def evaluate_sockets(ruleset, sockets, interfaces, inside=GUEST_BRIDGES):
    """The answer for each socket, in order; RulesetError names every malformed one.
    Sockets of one class share one answer object: treat answers as read-only."""
    with paused_gc():
        evaluator = Evaluator(ruleset, interfaces, inside)
        answers, errors = evaluator._answers(sockets, "sockets", True, batch=True)
        del evaluator
        # The evaluator, with its walks and caches, is gone now, before the collector is
        # back: it would otherwise look through all of them once, for nothing.
        iv.forget()
    if errors:
        raise RulesetError(errors)
    return answers
