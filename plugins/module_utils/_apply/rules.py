# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rules a backend applies, as the controller's plan hands them over: checked and put in
one normal form before anything on the host is touched.

A rule closes one port: ``block`` for everyone, ``restrict`` for everyone but its sources.
``keep`` names the ports that must never be closed (the management connection); a rule on one
of them is refused, a second check behind the plan's own.

Public: validate, ACTIONS, PROTOCOLS, RULE_KEYS, ID_RE.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test boilerplate

import ipaddress
import re
from collections.abc import Mapping

from ansible_collections.portguard.hardening.plugins.module_utils._sources import (
    canonical_source,
)
from ansible_collections.portguard.hardening.plugins.module_utils._values import (
    PolicyError,
    is_list,
    is_port,
    show,
)

ACTIONS = ("block", "restrict")
PROTOCOLS = ("tcp", "udp")
RULE_KEYS = ("port", "protocol", "action", "sources", "ids", "forwarded")
# What may stand in a comment on the host: no quotes, spaces or line breaks.
ID_RE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


def _port_errors(value, where):
    if is_port(value):
        return []
    return [f"{where}: expected an integer from 1 to 65535, got {show(value)}"]


def _choice_errors(value, choices, where):
    if isinstance(value, str) and value in choices:
        return []
    return ["{}: expected one of {}, got {}".format(where, ", ".join(choices), show(value))]


def _entry_errors(entry, keys, required, where):
    if not isinstance(entry, Mapping):
        return [f"{where}: expected a mapping, got {show(entry)}"]
    errors = []
    unknown = sorted(str(k) for k in entry if k not in keys)
    if unknown:
        errors.append(
            "{}: unknown key(s) {} (known: {})".format(where, ", ".join(unknown), ", ".join(keys))
        )
    missing = [k for k in required if k not in entry]
    if missing:
        errors.append("{}: missing {}".format(where, ", ".join(missing)))
    return errors


def _sources(value, where, errors):
    """(ipv4 networks, ipv6 networks), each collapsed and sorted, from a restrict's sources."""
    if not is_list(value) or not value:
        errors.append(
            f"{where}: expected a non-empty list of addresses or networks, got {show(value)}"
        )
        return [], []
    nets = []
    for index, item in enumerate(value):
        try:
            nets.append(ipaddress.ip_network(canonical_source(item)))
        except ValueError as e:
            errors.append(f"{where}[{index}]: {e}")
    # Overlapping prefixes in one nft set are an error; merging them admits the same addresses.
    v4 = list(ipaddress.collapse_addresses(n for n in nets if n.version == 4))
    v6 = list(ipaddress.collapse_addresses(n for n in nets if n.version == 6))
    return [_network_text(n) for n in v4], [_network_text(n) for n in v6]


def _network_text(net):
    if net.prefixlen == net.max_prefixlen:
        return str(net.network_address)
    return str(net)


def _ids(value, where, errors, warnings):
    if value is None:
        return []
    if not is_list(value):
        errors.append(f"{where}: expected a list of rule ids, got {show(value)}")
        return []
    kept = []
    for index, item in enumerate(value):
        if isinstance(item, str) and ID_RE.fullmatch(item):
            if item not in kept:
                kept.append(item)
        else:
            warnings.append(
                f"{where}[{index}]: {show(item)} left out of the table's comments (an id is 1 "
                "to 64 letters, digits or _ . : -)"
            )
    return kept


def _rule(entry, where, errors, warnings):
    """One normalized rule, or None when the entry is not a mapping with the required keys."""
    problems = _entry_errors(entry, RULE_KEYS, ("port", "protocol", "action"), where)
    if problems:
        errors.extend(problems)
        return None
    errors_before = len(errors)
    errors.extend(_port_errors(entry["port"], where + ".port"))
    errors.extend(_choice_errors(entry["protocol"], PROTOCOLS, where + ".protocol"))
    errors.extend(_choice_errors(entry["action"], ACTIONS, where + ".action"))
    v4, v6 = [], []
    sources = entry.get("sources")
    if entry["action"] == "restrict":
        v4, v6 = _sources(sources, where + ".sources", errors)
    elif sources not in (None, [], ()):
        errors.append(f"{where}.sources: only a restrict rule takes sources, got {show(sources)}")
    ids = _ids(entry.get("ids"), where + ".ids", errors, warnings)
    forwarded = entry.get("forwarded", False)
    if not isinstance(forwarded, bool):
        errors.append(f"{where}.forwarded: expected true or false, got {show(forwarded)}")
    if len(errors) > errors_before:
        return None
    return {
        "port": entry["port"],
        "protocol": entry["protocol"],
        "action": entry["action"],
        "sources": v4 + v6,
        "ipv4": v4,
        "ipv6": v6,
        "ids": ids,
        "forwarded": forwarded,
    }


def _keep(keep, errors):
    if not is_list(keep):
        errors.append(f"keep: expected a list, got {show(keep)}")
        return set()
    kept = set()
    for index, entry in enumerate(keep):
        where = f"keep[{index}]"
        problems = _entry_errors(entry, ("port", "protocol"), ("port", "protocol"), where)
        if not problems:
            problems = _port_errors(entry["port"], where + ".port")
            problems += _choice_errors(entry["protocol"], PROTOCOLS, where + ".protocol")
        errors.extend(problems)
        if not problems:
            kept.add((entry["port"], entry["protocol"]))
    return kept


def validate(rules, keep=()):
    """(rules, warnings): the rules normalized and sorted by (port, protocol).

    Raises PolicyError naming every bad field (``rules[2].sources[0]: ...``), a port given two
    rules, and every rule that would close a port ``keep`` names (the management connection).
    A normalized rule has port, protocol, action, sources (canonical, IPv4 then IPv6, merged
    where they overlap), ipv4, ipv6, ids (only those matching ID_RE; the others give a
    warning) and forwarded (the port is also forwarded to a container or elsewhere: its DNAT'd
    packets are closed as well; false when not given).
    """
    errors, warnings = [], []
    if not is_list(rules):
        raise PolicyError([f"rules: expected a list, got {show(rules)}"])
    kept = _keep(keep, errors)
    seen = {}
    normalized = []
    for index, entry in enumerate(rules):
        where = f"rules[{index}]"
        rule = _rule(entry, where, errors, warnings)
        if rule is None:
            continue
        key = (rule["port"], rule["protocol"])
        label = "{}/{}".format(*key)
        if key in seen:
            errors.append(f"{where}: {label} is also closed by {seen[key]}; give a port one rule")
        seen.setdefault(key, where)
        if key in kept:
            errors.append(
                f"{where}: refusing to close {label}, which keep names (the management connection)"
            )
        normalized.append(rule)
    if errors:
        raise PolicyError(errors)
    normalized.sort(key=lambda r: (r["port"], r["protocol"]))
    return normalized, warnings
