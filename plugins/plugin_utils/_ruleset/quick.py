# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The commonest rules compiled in one pass, without compile.py's general machinery.

Most of a large ruleset is rules such as ``tcp dport 22 counter accept`` or ``ip saddr
10.0.0.0/8 tcp dport 8080 accept``: matches of a destination port or a source address with
``==``, counters and logs, then a plain verdict.  quick_compile() reads such a rule in one
pass, once for every protocol, and builds the very Compiled that compile.compile_rule()
builds; for any other rule (or anything unusual in one, which compile.py then names) it
returns None and the caller compiles it in full.  Rules compiled here test nothing per run,
so they share one env.

Public: quick_compile.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.portguard.hardening.plugins.plugin_utils._ruleset import intervals as iv
from ansible_collections.portguard.hardening.plugins.plugin_utils._ruleset.compile import (
    PORTED,
    Compiled,
)

# compile._PASSIVE without the statements that may stop a rule (meters, set updates).
_PASSIVE = frozenset(
    ("counter", "log", "mangle", "notrack", "ct helper", "ct timeout", "ct expectation")
    + ("secmark", "dup", "flow")
)
_VERDICTS = {"accept": ("accept",), "drop": ("drop",), "return": ("return",), "reject": ("reject",)}
_OWN_HEADER = {"ipv4": "ip", "ipv6": "ip6"}
_OTHER_HEADER = ("ip", "ip6")  # the own one is matched first
_NONE = frozenset()
_ONE = {p: frozenset((p,)) for p in PORTED}


class _Plain:
    """The env of a rule that tests nothing per run (what walk.Kind reads of an env)."""

    __slots__ = ("by_protocol", "iif_patterns", "daddr_ranges", "sport_ranges", "dport_ranges",
                 "targets")  # fmt: skip

    def __init__(self, by_protocol):
        self.by_protocol = by_protocol
        self.iif_patterns = self.daddr_ranges = self.sport_ranges = ()
        self.dport_ranges = self.targets = ()


_ENVS = {True: _Plain(True), False: _Plain(False)}


def quick_compile(rule, family):
    """(named, Compiled or None, env) for a rule this reads, else None.

    named is compile.protocols_named(rule.expr).  The Compiled (None: it never matches) is
    what compile.compile_rule() gives for every protocol that named allows (all of them when
    it names none); a rule naming two protocols' headers matches no packet."""
    ports = saddr = verdict = None
    named = _NONE
    own = _OWN_HEADER[family]
    expr = rule.expr
    for position, stmt in enumerate(expr):
        if stmt.__class__ is not dict or len(stmt) != 1:
            return None
        body = stmt.get("match", stmt)
        if body is stmt:  # not a match
            if "counter" in stmt:
                continue
            kind = next(iter(stmt))
            if kind in _PASSIVE:
                continue
            verdict = _VERDICTS.get(kind)
            if verdict is not None:
                if position + 1 < len(expr):
                    named = _named_after(expr[position + 1 :], named)
                break  # what follows a verdict never runs
            body = stmt[kind]
            if kind == "limit" and body.__class__ is dict and not body.get("inv"):
                continue  # one new connection is under the rate
            return None
        if body.__class__ is not dict or body.get("op", "==") != "==":
            return None
        left = body.get("left")
        payload = left.get("payload") if left.__class__ is dict and len(left) == 1 else None
        if payload.__class__ is not dict:
            return None
        proto = payload.get("protocol")
        if proto in PORTED:
            if not named:
                named = _ONE[proto]
            elif proto not in named:
                return named | {proto}, None, None  # two protocols' headers: never matches
        elif proto == own:
            if payload.get("field") != "saddr":
                return None
            ranges = _source(body.get("right"), family)
            if ranges is None:
                return None
            saddr = ranges if saddr is None else iv.intersect(saddr, ranges)
            continue
        elif proto in _OTHER_HEADER:  # the other family's header: this packet has none
            named = _named_after(expr[position + 1 :], named)
            return named, None, _ENVS[bool(named)] if len(named) < 2 else None
        elif proto != "th":
            return None
        right = body.get("right")
        if payload.get("field") != "dport" or right.__class__ is not int:
            return None
        ranges = ((right, right),)
        ports = ranges if ports is None else iv.intersect(ports, ranges)
    env = _ENVS[bool(named)]
    if len(named) > 1:
        return named, None, None
    if saddr == () or ports == ():
        return named, None, env
    return named, Compiled.plain(rule, ports, saddr, verdict), env


def _named_after(rest, named):
    """compile.protocols_named() over what follows a verdict, added to named."""
    for stmt in rest:
        body = stmt.get("match") if stmt.__class__ is dict else None
        left = body.get("left") if body.__class__ is dict else None
        pay = left.get("payload") if left.__class__ is dict else None
        if pay.__class__ is dict:
            proto = pay.get("protocol")
            if proto in PORTED and proto not in named:
                named = _ONE[proto] if not named else named | {proto}
    return named


def _source(right, family):
    """The ranges of a source address or prefix, or None for anything else."""
    if right.__class__ is str:
        if right.startswith("@") or "/" in right:
            return None
        try:
            value = iv.address_value(right, family)
        except ValueError:
            return None
        return ((value, value),)
    prefix = right.get("prefix") if right.__class__ is dict and len(right) == 1 else None
    if prefix.__class__ is not dict:
        return None
    return iv.prefix_range(prefix.get("addr"), prefix.get("len"), family)
