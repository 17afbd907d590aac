# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The walk of the input hook, for every destination port at once.

Destination ports fall into classes that no rule tells apart (Kind.port_bounds).  A walk
carries groups: a set of port classes with the set of source addresses still in flight for
them.  A rule on some ports splits only those classes off their group, so one walk over the
ruleset answers for every port: its cost grows with rules plus classes, not their product.
The walker owns the groups it is given and hands new ones back; class sets are mutated only
by their owner, and copied into the events that remember them.

Netfilter semantics: base chains in priority order; accept ends one base chain, drop and
reject end the walk; jump returns, goto does not; a base chain's policy takes what falls off.

Public: Kind, Walk, MAX_DEPTH.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import bisect

from ansible_collections.portguard.hardening.plugins.plugin_utils._ruleset import intervals as iv
from ansible_collections.portguard.hardening.plugins.plugin_utils._ruleset.compile import (
    DPORT,
    IIF,
    compile_rule,
)

CHAIN_FAMILIES = {"ipv4": ("ip", "inet"), "ipv6": ("ip6", "inet")}
MAX_DEPTH = 16  # the kernel's jump stack


class Chain:
    """One chain compiled for a family and protocol."""

    __slots__ = ("chain", "rules")

    def __init__(self, chain, rules):
        self.chain = chain
        self.rules = rules


class Kind:
    """Everything compiled for one family and protocol: chains and what their rules test."""

    def __init__(self, ruleset, family, protocol):
        self.family = family
        self.protocol = protocol
        self.ruleset = ruleset
        self.chains = {}
        self.iif_patterns = set()
        self.daddr_ranges = []
        self.sport_uses = []
        self._points = points = {0}  # port range bounds, filled as chains compile
        families = CHAIN_FAMILIES[family]
        self.bases = [
            self.chain(c.key) for c in ruleset.base_chains("input", families) if c.type == "filter"
        ]
        # Ingress runs before conntrack and is not evaluated: a chain there that may drop
        # makes an answer other than nobody unknown.
        self.ingress = [
            c
            for c in ruleset.chains.values()
            if c.is_base
            and c.hook == "ingress"
            and (c.family == "netdev" or c.family in families)
            and self._may_drop(c)
        ]
        for chain in self.ingress:
            self.iif_patterns.update(chain.devices)
        self.port_bounds = sorted(p for p in points if p <= 65535)
        self.classes = len(self.port_bounds)
        for chain in self.chains.values():
            for rule in chain.rules if chain else ():
                rule.classes = self._class_set(rule.ports)
        self.sensitive = self._sport_sensitive()

    def chain(self, key):
        if key in self.chains:
            return self.chains[key]
        chain = self.ruleset.chains.get(key)
        self.chains[key] = None  # missing, or a loop back here while it compiles
        if chain is None:
            return None
        rules, targets = [], []
        for rule in chain.rules:
            compiled, env = compile_rule(rule, self.ruleset, self.family, self.protocol)
            if compiled is None or compiled.verdict is None:
                continue  # never matches this packet, or only counts and logs
            rules.append(compiled)
            compiled.per_port = bool(env.dport_ranges)
            self.iif_patterns.update(env.iif_patterns)
            self.daddr_ranges.extend(env.daddr_ranges)
            self.sport_uses.extend((compiled.ports, r) for r in env.sport_ranges)
            for ranges in [compiled.ports or ()] + env.dport_ranges:
                for low, high in ranges:
                    self._points.update((low, high + 1))
            targets.extend(env.targets)
        compiled_chain = self.chains[key] = Chain(chain, rules)
        for target in targets:
            self.chain(target)
        return compiled_chain

    def _may_drop(self, chain):
        if chain.policy == "drop":
            return True
        for rule in chain.rules:
            compiled, _env = compile_rule(rule, self.ruleset, self.family, self.protocol)
            if compiled is not None and compiled.verdict not in (None, ("accept",), ("return",)):
                return True
        return False

    def _class_set(self, ports):
        if ports is None:
            return None
        found = set()
        for low, high in ports:
            first = bisect.bisect_right(self.port_bounds, low) - 1
            last = bisect.bisect_right(self.port_bounds, high) - 1
            found.update(range(first, last + 1))
        return frozenset(found)

    def _sport_sensitive(self):
        """The port classes whose rules test the source port, or None for all of them."""
        found = set()
        for ports, _ranges in self.sport_uses:
            if ports is None:
                return None
            found |= self._class_set(ports)
        return found

    def port_class(self, port):
        return bisect.bisect_right(self.port_bounds, port) - 1

    def sport_values(self):
        """One source port per class of source ports that some rule tells apart."""
        points = {0}
        for _ports, ranges in self.sport_uses:
            for low, high in ranges:
                points.update((low, high + 1))
        return sorted(p for p in points if p <= 65535)


class Walk:
    """One walk for a concrete interface, destination and source port, "may" or "must".

    ``events`` holds (verdict, chain, rule or None, frozenset of classes, sources) for every
    accept, drop and policy; ``unknown`` holds (name, (chain, rule) or None, classes)."""

    def __init__(self, kind, ctx, may):
        self.kind = kind
        self.ctx = ctx
        self.may = may
        self.events = []
        self.unknown = []

    def hook(self, classes, flow):
        """[(classes, sources)] that pass every base chain on the hook."""
        groups = [[set(classes), flow]]
        for chain in self.kind.ingress:
            if not chain.devices or self.ctx[IIF] in chain.devices:
                name = f"{chain.family} ingress chain {chain.name} may drop"
                self.unknown.append((name, None, frozenset(classes)))
                if not self.may:
                    return []
        for base in self.kind.bases:
            accepted, fell = self.walk(base, groups, 0)
            for group in fell:
                self.events.append(
                    (f"policy {base.chain.policy}", base, None, frozenset(group[0]), group[1])
                )
            groups = accepted + fell if base.chain.policy == "accept" else accepted
            if not groups:
                break
        return groups

    def walk(self, chain, groups, depth):
        """(accepted, returned) groups of a chain entered by the given groups."""
        accepted, returned = [], []
        for rule in chain.rules:
            if not groups:
                break
            kept = []
            wanted = rule.classes
            for group in groups:
                if wanted is not None and wanted.isdisjoint(group[0]):
                    kept.append(group)
                    continue
                hit = self._split(group, wanted)
                if hit is None:
                    kept.append(group)
                    continue
                if group[0]:
                    kept.append(group)
                self._rule(chain, rule, hit, accepted, returned, kept, depth)
            groups = kept
        return accepted, returned + groups

    @staticmethod
    def _split(group, wanted):
        """The part of a group a rule's ports cover, taken out of the group; None if none."""
        classes = group[0]
        if wanted is None:
            group[0] = set()
            return [classes, group[1]]
        if len(wanted) < len(classes):
            hit = {c for c in wanted if c in classes}
        else:
            hit = {c for c in classes if c in wanted}
        if not hit:
            return None
        classes -= hit
        return [hit, group[1]]

    def _rule(self, chain, rule, hit, accepted, returned, kept, depth):
        if rule.per_port:  # a test on the port itself (a verdict map, a concatenation)
            for port_class in hit[0]:
                self._rule_at(chain, rule, [{port_class}, hit[1]], accepted, returned, kept,
                              depth, self.kind.port_bounds[port_class])  # fmt: skip
            return
        self._rule_at(chain, rule, hit, accepted, returned, kept, depth, None)

    def _rule_at(self, chain, rule, hit, accepted, returned, kept, depth, port):
        ctx = self.ctx if port is None else self.ctx[:DPORT] + (port,)
        flow = hit[1]
        matched = flow if rule.saddr is None else iv.intersect(flow, rule.saddr)
        for test in rule.tests:
            if not matched:
                break
            got = test(ctx)
            if got is False:
                matched = iv.EMPTY
            elif got is not True:
                matched = iv.intersect(matched, got)
        if not matched:
            kept.append(hit)
            return
        if matched is not flow:
            rest = iv.subtract(flow, matched)
            if rest:
                kept.append([set(hit[0]), rest])
            hit[1] = matched
        if rule.unknown:
            self.unknown.append((", ".join(rule.unknown), (chain, rule), frozenset(hit[0])))
            if self.may:  # both ways: what the rule may do, and going on as if it had not
                mark = len(self.events)
                self.apply(chain, rule, rule.verdict, [set(hit[0]), matched], accepted,
                           returned, [], depth, ctx)  # fmt: skip
                del self.events[mark:]
                kept.append(hit)
            elif rule.verdict == ("accept",):
                kept.append(hit)
            return
        self.apply(chain, rule, rule.verdict, hit, accepted, returned, kept, depth, ctx)

    def apply(self, chain, rule, verdict, group, accepted, returned, kept, depth, ctx):
        """Send a group where a verdict takes it: accepted, returned, or kept going here."""
        kind = verdict[0]
        if kind in ("accept", "drop", "reject"):
            self.events.append((kind, chain, rule, frozenset(group[0]), group[1]))
            if kind == "accept":
                accepted.append(group)
        elif kind == "return":
            returned.append(group)
        elif kind in ("jump", "goto"):
            target = self.kind.chain(verdict[1])
            if target is None or depth >= MAX_DEPTH:
                why = "too deep" if target is not None else "missing"
                self.apply(chain, rule, ("unknown", f"{kind} to {why} chain"), group, accepted,
                           returned, kept, depth, ctx)  # fmt: skip
                return
            acc, ret = self.walk(target, [group], depth + 1) if target.rules else ([], [group])
            accepted.extend(acc)
            (kept if kind == "jump" else returned).extend(ret)
        elif kind == "vmap":
            rest = group[1]
            for saddr, inner in verdict[1](ctx):
                part = rest if saddr is None else iv.intersect(rest, saddr)
                if not part:
                    continue
                rest = iv.subtract(rest, part)
                sub = [set(group[0]), part]
                if inner is None:
                    kept.append(sub)
                else:
                    self.apply(chain, rule, inner, sub, accepted, returned, kept, depth, ctx)
            if rest:
                kept.append([group[0], rest])
        else:  # an unmodelled verdict (queue, an iptables target): in may mode it lets all in
            self.unknown.append((verdict[1], (chain, rule), frozenset(group[0])))
            if self.may:
                accepted.append(group)
