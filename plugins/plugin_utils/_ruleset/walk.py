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

A Kind compiles only the chains the input hook reaches (base chains, then the targets of
their jumps, gotos and verdict maps), each rule once per family: quick.py reads the common
rules in one pass, and a rule that means the same for TCP and UDP is shared by both Kinds.
In a long chain, a group of few port classes waits for the next rule that wants one of them
instead of meeting every rule; its place in the order of groups goes with it as a key, so
that events come in the very order of a rule-by-rule walk.  A Sweep is the walks of one
interface and destination address, spread over the port classes.

Netfilter semantics: base chains in priority order; accept ends one base chain, drop and
reject end the walk; jump returns, goto does not; a base chain's policy takes what falls off.

Public: Kind, Walk, Sweep, MAX_DEPTH.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import bisect

from ansible_collections.portguard.hardening.plugins.plugin_utils._ruleset import intervals as iv
from ansible_collections.portguard.hardening.plugins.plugin_utils._ruleset.compile import (
    DPORT,
    IIF,
    compile_named,
    compile_rule,
    other_protocol,
    protocols_named,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._ruleset.quick import (
    quick_compile,
)

CHAIN_FAMILIES = {"ipv4": ("ip", "inet"), "ipv6": ("ip6", "inet")}
_NARROW = 16  # a rule wanting more port classes wakes every waiting group
_FEW = 8  # groups of at most this many port classes wait for the rules that want them


MAX_DEPTH = 16  # the kernel's jump stack
# Chain entries (jumps and gotos) one evaluator may walk for a family and protocol: a ruleset
# whose chains jump to each other many times over would otherwise take exponential time. Past
# it, a jump counts as an expression not modelled, so the answer is "unknown" (exposed).
MAX_JUMPS = 100000


def _KEY(item):
    return item[0]


class Chain:
    """One chain compiled for a family and protocol: its rules that can decide, and for each
    the frozenset of port classes it can match (None: every class).  ``uses`` maps a port
    class to the position (or the positions, in a list) of the rules that want it among few
    classes; ``broad`` lists the positions of the rules that want many (or every) class.
    ``label`` is "<family> <table>" as answers name it."""

    __slots__ = ("chain", "rules", "classes", "uses", "broad", "terminal", "label")

    def __init__(self, chain, rules):
        self.chain = chain
        self.rules = rules
        self.label = f"{chain.family} {chain.table}"
        self.classes = ()
        self.uses = {}
        self.broad = ()
        # Per rule, the verdict of a rule on ports alone that ends a group's way here
        # (accept, drop, reject), else None.
        self.terminal = [
            rule.verdict[0]
            if rule.verdict[0] in ("accept", "drop", "reject")
            and rule.saddr is None
            and not rule.tests
            and not rule.unknown
            and not rule.per_port
            else None
            for rule in rules
        ]

    def index(self, classes):
        """Take the rules' port classes, and index them for the groups that wait."""
        self.classes = classes
        uses, broad = {}, []
        for position, wanted in enumerate(classes):
            if wanted is None or len(wanted) > _NARROW:
                broad.append(position)
                continue
            for port_class in wanted:
                found = uses.get(port_class)
                if found is None:
                    uses[port_class] = position  # most classes: one rule wants them
                elif found.__class__ is int:
                    uses[port_class] = [found, position]
                else:
                    found.append(position)
        self.uses, self.broad = uses, broad

    def wake(self, classes, after):
        """The first position after ``after`` of a rule that may touch these classes."""
        broad = self.broad
        at = bisect.bisect_right(broad, after)
        first = broad[at] if at < len(broad) else len(self.rules)
        uses = self.uses
        for port_class in classes:
            found = uses.get(port_class)
            if found is None:
                continue
            if found.__class__ is int:
                if after < found < first:
                    first = found
                continue
            at = bisect.bisect_right(found, after)
            if at < len(found) and found[at] < first:
                first = found[at]
        return first


class Kind:
    """Everything compiled for one family and protocol: chains and what their rules test.

    Only chains the input hook reaches are compiled: its base chains and, from them, the
    targets of jumps, gotos and verdict maps.  ``shared`` holds, by chain key, the rules
    compiled for this family by the Kind of another protocol: a rule whose meaning does not
    depend on the protocol is compiled once and its Compiled shared."""

    def __init__(self, ruleset, family, protocol, shared=None):
        self.family = family
        self.protocol = protocol
        self.ruleset = ruleset
        self.shared = {} if shared is None else shared
        self.jumps = 0  # chain entries walked, against MAX_JUMPS
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
        self.port_bounds = bounds = sorted(p for p in points if p <= 65535)
        self.classes = len(bounds)
        self.class_starts = {p: i for i, p in enumerate(bounds)}
        sets = {}  # one frozenset per distinct port ranges
        for chain in self.chains.values():
            if chain:
                chain.index([self._class_set(rule.ports, sets) for rule in chain.rules])
        self.sensitive = self._sport_sensitive()

    def chain(self, key):
        if key in self.chains:
            return self.chains[key]
        chain = self.ruleset.chains.get(key)
        self.chains[key] = None  # missing, or a loop back here while it compiles
        if chain is None:
            return None
        rules, targets = [], []
        family, protocol, points = self.family, self.protocol, self._points
        for rule, named, compiled, env, holds in self._compiled(chain):
            if named and (len(named) > 1 or protocol not in named):
                continue  # a match on another protocol's header
            if holds is not None and holds != protocol:
                compiled, env = compile_named(rule, self.ruleset, family, protocol, named)
            if compiled is None or compiled.verdict is None:
                continue  # never matches this packet, or only counts and logs
            rules.append(compiled)
            if env.iif_patterns:
                self.iif_patterns.update(env.iif_patterns)
            if env.daddr_ranges:
                self.daddr_ranges.extend(env.daddr_ranges)
            if env.sport_ranges:
                self.sport_uses.extend((compiled.ports, r) for r in env.sport_ranges)
            for low, high in compiled.ports or ():
                points.add(low)
                points.add(high + 1)
            for ranges in env.dport_ranges:
                for low, high in ranges:
                    points.update((low, high + 1))
            if env.targets:
                targets.extend(env.targets)
        compiled_chain = self.chains[key] = Chain(chain, rules)
        for target in targets:
            self.chain(target)
        return compiled_chain

    def _compiled(self, chain):
        """Per rule of the chain: (rule, protocols named, compiled, env, the protocol they
        hold for: None for every protocol the rule does not exclude by naming another's
        header).  Made by the first Kind of the family to walk the chain, for all of them."""
        shared, family, protocol = self.shared, self.family, self.protocol
        found = shared.get(chain.key)
        if found is not None and found[0] is chain:
            return found[1]
        entries = []
        for rule in chain.rules:
            quick = quick_compile(rule, family)
            if quick is not None:
                entries.append((rule,) + quick + (None,))
                continue
            named = protocols_named(rule.expr)
            entry = (rule, named, None, None, "")
            if not other_protocol(named, protocol):
                compiled, env = compile_named(rule, self.ruleset, family, protocol, named)
                entry = (rule, named, compiled, env, protocol if env.by_protocol else None)
            entries.append(entry)
        shared[chain.key] = (chain, entries)  # the chain is kept: what it holds stays
        return entries

    def _may_drop(self, chain):
        if chain.policy == "drop":
            return True
        for rule in chain.rules:
            compiled, _env = compile_rule(rule, self.ruleset, self.family, self.protocol)
            if compiled is not None and compiled.verdict not in (None, ("accept",), ("return",)):
                return True
        return False

    def _class_set(self, ports, sets=None):
        if ports is None:
            return None
        index, bounds = self.class_starts, self.port_bounds
        if len(ports) == 1:  # most rules: one port or range, whose bounds are class bounds
            low, high = ports[0]
            first = index.get(low)
            last = index.get(high + 1, len(bounds) if high >= 65535 else None)
            if first is not None and last is not None:
                return frozenset(range(first, last))
        if sets is not None:
            found = sets.get(ports)
            if found is not None:
                return found
        classes = set()
        for low, high in ports:
            # Every bound of a compiled range is a class bound; bisect for what is not.
            first = index.get(low)
            if first is None:
                first = bisect.bisect_right(bounds, low) - 1
            last = index.get(high + 1)
            last = bisect.bisect_right(bounds, high) - 1 if last is None else last - 1
            classes.update(range(first, last + 1))
        classes = frozenset(classes)
        if sets is not None:
            sets[ports] = classes
        return classes

    def _sport_sensitive(self):
        """The port classes whose rules test the source port, or None for all of them."""
        found = set()
        for ports, _ranges in self.sport_uses:
            if ports is None:
                return None
            found |= self._class_set(ports)
        return found

    def port_class(self, port):
        found = self.class_starts.get(port)  # a port a rule names starts its class
        return bisect.bisect_right(self.port_bounds, port) - 1 if found is None else found

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
        """(accepted, returned) groups of a chain entered by the given groups.

        Rule by rule, each rule meets the groups in flight in their order (which orders the
        events): a group the rule's ports miss goes on as it is, one they touch is split,
        and what the rule leaves of it follows it.  Each group carries its place in that
        order as a key (a group's leftovers of rule i follow it as key + (-i, n)), so that a
        group of few classes can wait, out of the way, for the next rule that wants one of
        them (a long chain of port rules leaves many such groups behind)."""
        accepted, returned = [], []
        rules, wanted_by, count = chain.rules, chain.classes, len(chain.rules)
        live = []  # (key, group) met by every rule: groups of many classes
        waiting = {}  # position -> [(key, group)] for the rule that may touch them
        done = []  # (key, group) no rule of the chain touches any more
        for number, group in enumerate(groups):
            self._place(chain, (number,), group, -1, live, waiting, done)
        for position in range(count):
            batch = waiting.pop(position, None)
            if batch is None:
                if not live:
                    if not waiting:
                        break
                    continue
                batch, live = live, []
            else:
                batch += live
                live = []
                batch.sort(key=_KEY)
            rule, wanted = rules[position], wanted_by[position]
            terminal = chain.terminal[position]
            for key, group in batch:
                if wanted is not None and wanted.isdisjoint(group[0]):
                    self._place(chain, key, group, position, live, waiting, done)
                    continue
                hit = self._split(group, wanted)
                if hit is None:
                    self._place(chain, key, group, position, live, waiting, done)
                    continue
                if group[0]:
                    self._place(chain, key, group, position, live, waiting, done)
                if terminal is not None and hit[1]:
                    # A rule on ports alone that accepts, drops or rejects: _rule_at and
                    # apply, without their generality.
                    self.events.append((terminal, chain, rule, frozenset(hit[0]), hit[1]))
                    if terminal == "accept":
                        accepted.append(hit)
                    continue
                out = []
                self._rule(chain, rule, hit, accepted, returned, out, depth)
                for step, item in enumerate(out):
                    self._place(chain, key + (-position, step), item, position, live,
                                waiting, done)  # fmt: skip
        done += live
        for batch in waiting.values():
            done += batch
        done.sort(key=_KEY)
        return accepted, returned + [group for _key, group in done]

    @staticmethod
    def _place(chain, key, group, position, live, waiting, done):
        if len(group[0]) > _FEW:
            live.append((key, group))
            return
        wake = chain.wake(group[0], position)
        if wake >= len(chain.rules):
            done.append((key, group))
        else:
            found = waiting.get(wake)
            if found is None:
                waiting[wake] = [(key, group)]
            else:
                found.append((key, group))

    @staticmethod
    def _split(group, wanted):
        """The part of a group a rule's ports cover, taken out of the group; None if none."""
        classes = group[0]
        if wanted is None:
            group[0] = set()
            return [classes, group[1]]
        hit = classes & wanted  # a set, as classes is
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
            self.kind.jumps += 1
            if target is None or depth >= MAX_DEPTH or self.kind.jumps > MAX_JUMPS:
                if target is None or depth >= MAX_DEPTH:
                    name = "{} to {} chain".format(
                        kind, "missing" if target is None else "too deep"
                    )
                else:
                    name = f"{kind} past {MAX_JUMPS} chain entries (a ruleset too costly to walk)"
                self.apply(chain, rule, ("unknown", name), group, accepted,
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


class Sweep:
    """The walks of the input hook for one interface and destination address: over every port
    class with the first source port, and with each other class of source ports over the
    classes whose rules test it; what they found spread over the port classes.

    ``covered`` is the set of port classes walked (those a batch of sockets has), None for
    every class: what a walk finds for one class does not depend on the others it carries."""

    def __init__(self, kind, iif, daddr, covered=None):
        outside = iv.outside(kind.family)
        every = range(kind.classes) if covered is None else covered
        self.covered = covered
        self.results = {}
        sports = kind.sport_values()
        for sport in sports:
            # Other source ports matter only where a rule tests them.
            if sport == sports[0] or kind.sensitive is None:
                classes = every
            else:
                classes = kind.sensitive if covered is None else kind.sensitive & covered
            if not classes:
                continue
            ctx = (iif, daddr, sport, None)
            may = Walk(kind, ctx, True)
            reach = may.hook(classes, outside)
            doubtful = set()
            for _name, _place, where in may.unknown:
                doubtful |= where
            sure = Walk(kind, ctx, False).hook(doubtful, outside) if doubtful else []
            self._collect(reach, sure, doubtful, may.events, may.unknown)

    def get(self, port_class):
        """[may reach, sure reach, [(key, event)], [(name, place)] or ()] for a port class, None
        if no walk held it.  An event is (verdict, chain, rule, sources), and its key
        (verdict, id(chain), id(rule), id(sources)) tells events apart cheaply."""
        return self.results.get(port_class)

    def _collect(self, reach, sure, doubtful, events, unknown):
        """Spread a walk's groups and events over the port classes they hold."""
        results = self.results
        get = results.get
        for classes, flow in reach:
            for port_class in classes:
                entry = get(port_class)
                if entry is None:
                    entry = results[port_class] = [iv.EMPTY, iv.EMPTY, [], ()]
                entry[0] = iv.union(entry[0], flow)
                if port_class not in doubtful:
                    entry[1] = iv.union(entry[1], flow)
        for classes, flow in sure:
            for port_class in classes:
                entry = get(port_class)
                if entry is None:
                    entry = results[port_class] = [iv.EMPTY, iv.EMPTY, [], ()]
                entry[1] = iv.union(entry[1], flow)
        for verdict, chain, rule, classes, sources in events:
            item = ((verdict, id(chain), id(rule), id(sources)), (verdict, chain, rule, sources))
            for port_class in classes:
                entry = get(port_class)
                if entry is None:
                    entry = results[port_class] = [iv.EMPTY, iv.EMPTY, [], ()]
                entry[2].append(item)
        for name, place, classes in unknown:
            for port_class in classes:
                entry = get(port_class)
                if entry is None:
                    entry = results[port_class] = [iv.EMPTY, iv.EMPTY, [], ()]
                if entry[3]:
                    entry[3].append((name, place))
                else:  # most classes meet nothing unknown: their entry keeps ()
                    entry[3] = [(name, place)]
