# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The netfilter ruleset as ``nft -j list ruleset`` prints it (libnftables-json(5)).

parse_ruleset() checks the document and returns a Ruleset: tables, chains (base chains with
their hook, priority, policy, type and devices) holding their rules in order, and named sets and
maps.  Rule expressions are kept as the JSON has them; compile.py gives them meaning.  Objects
that cannot filter a packet (flowtables, counters, quotas, helpers) are skipped.  A malformed
document raises RulesetError naming every offending object, and nothing is returned.

Public: parse_ruleset, Ruleset, Table, Chain, Rule, NamedSet, RulesetError, chain_key,
paused_gc.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import gc
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from ansible_collections.portguard.hardening.plugins.module_utils._values import (
    PolicyError,
    is_int,
    is_list,
    show,
)

FAMILIES = ("ip", "ip6", "inet", "arp", "bridge", "netdev")
_FAMILY_SET = frozenset(FAMILIES)
# nft's named priorities (ip, ip6, inet and netdev families), as nft(8) lists them.
NAMED_PRIORITIES = {
    "raw": -300,
    "mangle": -150,
    "dstnat": -100,
    "filter": 0,
    "security": 50,
    "srcnat": 100,
}
_SKIPPED = frozenset(
    (
        "metainfo",
        "flowtable",
        "counter",
        "quota",
        "ct helper",
        "ct timeout",
        "ct expectation",
        "limit",
        "secmark",
        "synproxy",
        "tunnel",
        "element",
    )
)


@contextlib.contextmanager
def paused_gc():
    """Keep the cyclic garbage collector out of a burst of allocations.

    A decoded ruleset is a large heap of small objects; each collection would scan all of it,
    over and over, while the answers are built.  Nothing made here forms cycles."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class RulesetError(PolicyError):
    """The ruleset document is malformed; ``errors`` names every offending object."""


def chain_key(family, table, name):
    return (family, table, name)


@dataclass
class Table:
    family: str
    name: str
    handle: object = None
    origin: str = "nftables"


@dataclass
class Rule:
    family: str
    table: str
    chain: str
    index: int
    handle: object
    expr: list
    comment: object = None


@dataclass
class Chain:
    family: str
    table: str
    name: str
    handle: object = None
    type: object = None
    hook: object = None
    prio: object = None
    policy: object = None
    devices: tuple = ()
    rules: list = field(default_factory=list)

    @property
    def key(self):
        return chain_key(self.family, self.table, self.name)

    @property
    def is_base(self):
        return self.hook is not None


@dataclass
class NamedSet:
    family: str
    table: str
    name: str
    kind: str  # "set" or "map"
    type: object = None
    map: object = None
    flags: tuple = ()
    elements: list = field(default_factory=list)


@dataclass
class Ruleset:
    tables: dict = field(default_factory=dict)
    chains: dict = field(default_factory=dict)
    sets: dict = field(default_factory=dict)
    version: object = None
    # Notes on what was read but is not modelled (for example iptables-legacy tables).
    notes: list = field(default_factory=list)
    # Named sets converted for evaluation, by set, field and family.
    cache: dict = field(default_factory=dict, repr=False, compare=False)

    def base_chains(self, hook, families):
        """Base chains on a hook of the given families, in the order netfilter runs them."""
        found = [
            c for c in self.chains.values() if c.is_base and c.hook == hook and c.family in families
        ]
        return sorted(found, key=lambda c: c.prio)

    def named_set(self, family, table, name):
        return self.sets.get(chain_key(family, table, name))


def _load(data):
    """(the list of objects, whether this reader owns it: decoded here from text)."""
    owned = isinstance(data, (str, bytes))
    if isinstance(data, bytes):
        data = data.decode("utf-8", "replace")
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise RulesetError([f"ruleset: not JSON ({exc})"]) from None
    if not isinstance(data, Mapping) or not is_list(data.get("nftables")):
        raise RulesetError(["ruleset: expected an object with an 'nftables' list"])
    return data["nftables"], owned


def _prio(value, where, errors):
    if is_int(value):
        return value
    if isinstance(value, str) and value in NAMED_PRIORITIES:
        return NAMED_PRIORITIES[value]
    errors.append(f"{where}.prio: expected an integer, got {show(value)}")
    return 0


def _required(obj, keys, where, errors):
    ok = True
    for key in keys:
        value = obj.get(key)
        if value.__class__ is str and value:
            continue
        if not isinstance(value, str) or value == "":
            errors.append(f"{where}.{key}: expected a non-empty string, got {show(obj.get(key))}")
            ok = False
    if ok and obj["family"] not in FAMILIES:
        errors.append(f"{where}.family: unknown family {show(obj['family'])}")
        ok = False
    return ok


class _Where:
    """Names an object of the document in an error; the text is made only when needed."""

    __slots__ = ("index", "kind", "obj")

    def __init__(self, index, kind, obj):
        self.index, self.kind, self.obj = index, kind, obj

    def __str__(self):
        obj = self.obj
        keys = ("family", "table", "chain", "name")
        label = " ".join(obj.get(k) for k in keys if isinstance(obj.get(k), str))
        if label:
            return f"nftables[{self.index}] ({self.kind} {label})"
        return f"nftables[{self.index}] ({self.kind})"

    def __format__(self, spec):
        return format(str(self), spec)


def _chain(obj, where, errors):
    devices = obj.get("dev", ())
    if isinstance(devices, str):
        devices = (devices,)
    elif is_list(devices) and all(isinstance(d, str) for d in devices):
        devices = tuple(devices)
    else:
        errors.append(f"{where}.dev: expected a device name or a list, got {show(devices)}")
        devices = ()
    chain = Chain(
        family=obj["family"],
        table=obj["table"],
        name=obj["name"],
        handle=obj.get("handle"),
        devices=devices,
    )
    if "hook" in obj:
        chain.hook = obj["hook"]
        chain.type = obj.get("type", "filter")
        chain.prio = _prio(obj.get("prio", 0), where, errors)
        chain.policy = obj.get("policy", "accept")
        if chain.policy not in ("accept", "drop"):
            errors.append(f"{where}.policy: expected accept or drop, got {show(chain.policy)}")
    return chain


def _named_set(kind, obj, where, errors):
    elements = obj.get("elem", [])
    if not is_list(elements):
        errors.append(f"{where}.elem: expected a list, got {show(elements)}")
        elements = []
    flags = obj.get("flags", ())
    if isinstance(flags, str):
        flags = (flags,)
    return NamedSet(
        family=obj["family"],
        table=obj["table"],
        name=obj["name"],
        kind=kind,
        type=obj.get("type"),
        map=obj.get("map"),
        flags=tuple(flags) if is_list(flags) else (),
        elements=list(elements),
    )


def parse_ruleset(data):
    """A Ruleset from ``nft -j list ruleset`` output (text, bytes or the decoded object)."""
    with paused_gc():
        return _parse(data)


def _parse(data):
    items, owned = _load(data)
    ruleset = Ruleset()
    errors = []
    rules = []
    for index, item in enumerate(items):
        if item.__class__ is dict and len(item) == 1:
            ((kind, obj),) = item.items()
            if kind == "rule" and obj.__class__ is dict:
                # Most of a ruleset: a rule named by plain strings is checked here, in one go.
                family, table, chain = obj.get("family"), obj.get("table"), obj.get("chain")
                if (
                    family.__class__ is str
                    and table.__class__ is str
                    and chain.__class__ is str
                    and table
                    and chain
                    and family in _FAMILY_SET
                ):
                    rules.append((index, obj))
                    continue
        elif not isinstance(item, Mapping) or len(item) != 1:
            errors.append(f"nftables[{index}]: expected an object with one key, got {show(item)}")
            continue
        else:
            ((kind, obj),) = item.items()
        _item(ruleset, index, kind, obj, rules, errors)
    chains = ruleset.chains
    for index, obj in rules:
        chain = chains.get((obj["family"], obj["table"], obj["chain"]))
        expr = obj.get("expr", [])
        if chain is None:
            where = _Where(index, "rule", obj)
            errors.append(f"{where}: chain {show(obj['chain'])} is not in the ruleset")
        elif expr.__class__ is not list and not is_list(expr):
            errors.append(f"{_Where(index, 'rule', obj)}.expr: expected a list, got {show(expr)}")
        else:
            found = chain.rules
            found.append(
                Rule(
                    chain.family,
                    chain.table,
                    chain.name,
                    len(found),
                    obj.get("handle"),
                    expr if owned and expr.__class__ is list else list(expr),
                    obj.get("comment"),
                )
            )
    if errors:
        raise RulesetError(errors)
    return ruleset


def _item(ruleset, index, kind, obj, rules, errors):
    """Read one object of the document other than a well-formed rule."""
    if kind in _SKIPPED:
        if kind == "metainfo" and isinstance(obj, Mapping):
            ruleset.version = obj.get("version")
        return
    if not isinstance(obj, Mapping):
        errors.append(f"nftables[{index}] ({kind}): expected an object, got {show(obj)}")
        return
    where = _Where(index, kind, obj)
    if kind == "table":
        if _required(obj, ("family", "name"), where, errors):
            key = (obj["family"], obj["name"])
            ruleset.tables[key] = Table(obj["family"], obj["name"], obj.get("handle"))
    elif kind == "chain":
        if _required(obj, ("family", "table", "name"), where, errors):
            chain = _chain(obj, where, errors)
            ruleset.chains[chain.key] = chain
    elif kind in ("set", "map"):
        if _required(obj, ("family", "table", "name"), where, errors):
            named = _named_set(kind, obj, where, errors)
            ruleset.sets[chain_key(named.family, named.table, named.name)] = named
    elif kind == "rule":
        if _required(obj, ("family", "table", "chain"), where, errors):
            rules.append((index, obj))
    else:
        # A kind newer than this reader: it cannot be judged, so say so.
        ruleset.notes.append(f"{where}: object kind {show(kind)} not read")
