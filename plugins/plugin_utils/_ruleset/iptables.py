# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""iptables rules as ``iptables-save`` prints them, read into the ruleset.

Two uses, one reader.  add_legacy() adds the tables of ``iptables-legacy-save`` (or
``ip6tables-legacy-save``), which ``nft list ruleset`` does not show, beside the nftables
tables: each becomes one named "<table> (iptables-legacy)", its INPUT chain a base chain at
the priority the kernel gives it (mangle -150, filter 0, security 50).  explain_xt() reads
``iptables-nft-save``: iptables-nft loads some matches (conntrack, addrtype, multiport in
older releases) as iptables extensions, which nft prints by name only (``xt``); the save text
of the same tables holds their options, rule for rule in the same order, so those rules take
their meaning from it and keep nft's handles.

Rules are written as the expressions nft itself prints, so that one evaluator judges all:
interfaces, addresses, protocol, ports (tcp, udp, multiport), conntrack and state, addrtype,
the IPv6 routing header, comment and limit.  Any other match or target becomes an ``xt``
expression, which the evaluator names as not modelled.  A line it cannot read raises
RulesetError with its number, and nothing is added.

Public: add_legacy, explain_xt.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import shlex

from ansible_collections.portguard.hardening.plugins.plugin_utils._ruleset.model import (
    Chain,
    Rule,
    RulesetError,
    Table,
    chain_key,
)

INPUT_PRIORITY = {"mangle": -150, "filter": 0, "security": 50}
_TARGETS = {"ACCEPT": "accept", "DROP": "drop", "RETURN": "return"}
_PASSIVE_MATCHES = ("comment", "limit", "tcp", "udp", "icmp", "icmp6", "icmpv6")
_KNOWN_MATCHES = ("conntrack", "state", "multiport", "addrtype", "rt")


def _match(left, right, negate=False, op="=="):
    return {"match": {"op": "!=" if negate else op, "left": left, "right": right}}


def _ports(text):
    values = []
    for part in text.split(","):
        low, _sep, high = part.partition(":")
        if high:
            values.append({"range": [int(low or 0), int(high)]})
        else:
            values.append(int(low))
    return values[0] if len(values) == 1 else {"set": values}


def _address(text, family):
    net = ipaddress.ip_network(text, strict=False)
    if f"ipv{net.version}" != family:
        raise ValueError(f"{text!r} is not an {family} address")
    if net.prefixlen == net.max_prefixlen:
        return str(net.network_address)
    return {"prefix": {"addr": str(net.network_address), "len": net.prefixlen}}


class _Line:
    """One ``-A CHAIN ...`` line, read option by option into nft expressions."""

    def __init__(self, words, family, chains):
        self.words = words
        self.family = family
        self.chains = chains
        self.module = None  # the last -m, whose options follow it
        self.named = False  # that module is already named as not modelled
        self.proto = None
        self.expr = []
        self.verdict = None

    def read(self):
        words, negate, i = self.words, False, 0
        while i < len(words):
            word = words[i]
            if word == "!":
                negate, i = True, i + 1
                continue
            value = words[i + 1] if i + 1 < len(words) else None
            used = self._option(word, value, negate, words, i)
            if used is None:
                raise ValueError(f"option {word!r} not understood")
            negate, i = False, i + used
        return self.expr + ([self.verdict] if self.verdict else [])

    def _option(self, word, value, negate, words, i):
        ip = "ip" if self.family == "ipv4" else "ip6"
        if value is None and word not in ("-m",):
            return None
        if word in ("-i", "--in-interface"):
            name = value[:-1] + "*" if value.endswith("+") else value
            self.expr.append(_match({"meta": {"key": "iifname"}}, name, negate))
        elif word in ("-o", "--out-interface"):
            self.expr.append({"xt": {"type": "match", "name": "out-interface"}})
        elif word in ("-s", "--source", "-d", "--destination"):
            field = "saddr" if word in ("-s", "--source") else "daddr"
            for j, part in enumerate(value.split(",")):
                if j:
                    raise ValueError("several addresses in one rule")
                addr = _address(part, self.family)
                self.expr.append(
                    _match({"payload": {"protocol": ip, "field": field}}, addr, negate)
                )
        elif word in ("-p", "--protocol"):
            self.proto = value
            if value != "all":
                self.expr.append(_match({"meta": {"key": "l4proto"}}, value, negate))
        elif word in ("--dport", "--destination-port", "--sport", "--source-port"):
            field = "dport" if word.startswith("--d") else "sport"
            proto = self.proto if self.proto in ("tcp", "udp") else "th"
            left = {"payload": {"protocol": proto, "field": field}}
            self.expr.append(_match(left, _ports(value), negate))
        elif word in ("--dports", "--sports", "--destination-ports", "--source-ports"):
            field = "dport" if "d" in word[2:4] else "sport"
            proto = self.proto if self.proto in ("tcp", "udp") else "th"
            left = {"payload": {"protocol": proto, "field": field}}
            self.expr.append(_match(left, _ports(value), negate))
        elif word in ("--ctstate", "--state"):
            states = [s.lower() for s in value.split(",")]
            self.expr.append(_match({"ct": {"key": "state"}}, states, negate, "in"))
        elif word == "--rt-type" and self.module == "rt":
            left = {"exthdr": {"name": "rt", "field": "type"}}
            self.expr.append(_match(left, int(value), negate))
        elif word == "--dst-type":
            left = {"fib": {"flags": ["daddr"], "result": "type"}}
            self.expr.append(_match(left, value.lower(), negate))
        elif word == "-m":
            return self._module(value)
        elif word in ("-j", "--jump", "-g", "--goto"):
            return self._target(word, value, words, i)
        elif word.startswith("--"):
            # Any other option of a module: it takes the words up to the next option.
            if self.module in ("comment", "limit"):
                return _arity(words, i)
            if not self.named:
                owner = self.module or self.proto or "iptables"
                self.expr.append({"xt": {"type": "match", "name": f"{owner} {word}"}})
            return _arity(words, i)
        else:
            return None
        return 2

    def _module(self, name):
        self.module = name
        self.named = name not in _KNOWN_MATCHES + _PASSIVE_MATCHES
        if self.named:
            self.expr.append({"xt": {"type": "match", "name": name}})
        return 2

    def _target(self, word, value, words, i):
        used = 2
        while i + used < len(words) and words[i + used].startswith("--"):
            used += _arity(words, i + used)  # the target's own options
        if value in self.chains:
            kind = "goto" if word in ("-g", "--goto") else "jump"
            self.verdict = {kind: {"target": value}}
        elif value in _TARGETS:
            self.verdict = {_TARGETS[value]: None}
        elif value == "REJECT":
            self.verdict = {"reject": None}
        elif value in ("LOG", "NFLOG", "ULOG"):
            self.expr.append({"log": {}})
        else:
            self.verdict = {"xt": {"type": "target", "name": value}}
        return used


def _arity(words, i):
    """Words taken by the option at i: itself and its values, up to the next option."""
    used = 1
    while i + used < len(words) and not words[i + used].startswith("-") and words[i + used] != "!":
        used += 1
    return used


def _parse(text, family, where):
    tables, errors, table = [], [], None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        at = f"{where} line {number}"
        if line.startswith("*"):
            table = {"name": line[1:], "chains": {}, "rules": []}
            tables.append(table)
        elif line == "COMMIT":
            table = None
        elif table is None:
            errors.append(f"{at}: {line[:40]!r} outside a table")
        elif line.startswith(":"):
            parts = line[1:].split()
            if not parts:
                errors.append(f"{at}: a chain line without a name")
                continue
            policy = parts[1].lower() if len(parts) > 1 and parts[1] != "-" else None
            table["chains"][parts[0]] = policy
        elif line.startswith("-A "):
            try:
                words = shlex.split(line)
                chain = words[1]
                expr = _Line(words[2:], family, table["chains"]).read()
            except (ValueError, IndexError) as exc:
                errors.append(f"{at}: {exc}")
                continue
            if chain not in table["chains"]:
                errors.append(f"{at}: chain {chain!r} was not declared")
                continue
            table["rules"].append((chain, number, expr))
        else:
            errors.append(f"{at}: {line[:40]!r} not understood")
    return tables, errors


def add_legacy(ruleset, text, family="ipv4"):
    """Add the tables of an ``iptables-legacy-save`` (ipv4) or ``ip6tables-legacy-save``
    (ipv6) text to a Ruleset; returns it.  Empty text adds nothing."""
    if not isinstance(text, str):
        raise RulesetError(
            [f"iptables-legacy ({family}): expected text, got {type(text).__name__}"]
        )
    nft_family = "ip" if family == "ipv4" else "ip6"
    where = "iptables-legacy-save" if family == "ipv4" else "ip6tables-legacy-save"
    tables, errors = _parse(text, family, where)
    if errors:
        raise RulesetError(errors)
    for table in tables:
        name = f"{table['name']} (iptables-legacy)"
        ruleset.tables[(nft_family, name)] = Table(nft_family, name, origin="iptables-legacy")
        for chain_name, policy in table["chains"].items():
            chain = Chain(family=nft_family, table=name, name=chain_name)
            if chain_name == "INPUT" and table["name"] in INPUT_PRIORITY:
                chain.hook, chain.type = "input", "filter"
                chain.prio, chain.policy = INPUT_PRIORITY[table["name"]], policy or "accept"
            ruleset.chains[chain.key] = chain
        for chain_name, number, expr in table["rules"]:
            chain = ruleset.chains[chain_key(nft_family, name, chain_name)]
            chain.rules.append(
                Rule(nft_family, name, chain_name, len(chain.rules), f"line {number}", expr)
            )
    return ruleset


def explain_xt(ruleset, text, family="ipv4"):
    """Give the rules of iptables-nft tables that nft shows as ``xt`` their meaning from the
    ``iptables-nft-save`` (ipv4) or ``ip6tables-nft-save`` (ipv6) text of the same tables;
    returns the ruleset.  A chain whose rules do not pair up one for one is left as it was,
    with a note."""
    if not isinstance(text, str):
        raise RulesetError([f"iptables-nft ({family}): expected text, got {type(text).__name__}"])
    nft_family = "ip" if family == "ipv4" else "ip6"
    where = "iptables-nft-save" if family == "ipv4" else "ip6tables-nft-save"
    tables, errors = _parse(text, family, where)
    if errors:
        raise RulesetError(errors)
    for table in tables:
        by_chain = {}
        for chain_name, _number, expr in table["rules"]:
            by_chain.setdefault(chain_name, []).append(expr)
        for chain_name, saved in by_chain.items():
            chain = ruleset.chains.get(chain_key(nft_family, table["name"], chain_name))
            if chain is None or not any(_has_xt(r.expr) for r in chain.rules):
                continue
            if len(chain.rules) != len(saved):
                ruleset.notes.append(
                    f"{where}: {nft_family} {table['name']} {chain_name} has {len(saved)} rules "
                    f"where nft shows {len(chain.rules)}; its iptables extensions stay unknown"
                )
                continue
            for rule, expr in zip(chain.rules, saved):
                if _has_xt(rule.expr):
                    rule.expr = expr
    return ruleset


def _has_xt(expr):
    return any(isinstance(stmt, dict) and "xt" in stmt for stmt in expr)
