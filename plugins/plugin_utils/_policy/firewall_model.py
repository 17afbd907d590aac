# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Who can reach a listening socket through firewalld, as the policy engine models it.

parse_firewall() checks the description of firewalld that the role gathers (zones, their ports,
services and rich rules, the services' ports) and parses it once; exposure() answers for one
socket: everyone, some sources, or nobody.  parse_rich_rule() reads one rich rule.  Pure
functions; the policy (judge.py, reconcile.py) uses them to judge sockets and to check remediation.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test boilerplate

import ipaddress
import re
import shlex
from collections.abc import Mapping

from ansible_collections.portguard.hardening.plugins.module_utils._values import (
    PolicyError,
    is_list,
    show,
)

FIREWALL_STATES = ("absent", "running", "stopped")
_PORT_PROTO_RE = re.compile(r"([0-9]+)(?:-([0-9]+))?/([a-z]+)")


def _unique(items):
    seen = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


def _port_listed(entries, protocol, port):
    return any(p == protocol and low <= port <= high for p, low, high in entries)


def _network(text):
    """The ipaddress network for an address or CIDR, or None (hostnames, ipsets, MACs)."""
    try:
        return ipaddress.ip_network(text, strict=False)
    except (TypeError, ValueError):
        return None


def _sorted_sources(sources):
    def key(text):
        net = _network(text)
        if net is None:
            return (1, 0, 0, text)
        return (0, net.version, int(net.network_address), net.prefixlen)

    return sorted(_unique(sources), key=key)


def _is_everyone(source):
    net = _network(source)
    return net is not None and net.prefixlen == 0


def _parse_port_proto(text):
    """(protocol, low, high) for firewalld's "80/tcp" or "6000-6010/udp", else None."""
    m = _PORT_PROTO_RE.fullmatch(text) if isinstance(text, str) else None
    if not m:
        return None
    return (m.group(3), int(m.group(1)), int(m.group(2) or m.group(1)))


_RICH_ACTIONS = ("accept", "drop", "mark", "reject")
# Elements that never admit traffic to a listening port.
_RICH_IRRELEVANT = ("icmp-block", "icmp-type", "masquerade", "tcp-mss-clamp")
# Parts that change logging or rate, not who gets in.
_RICH_DECORATIONS = ("audit", "limit", "log", "nflog")


def _rich_groups(tokens):
    """[(keyword, [attribute, ...]), ...]: each keyword with the key=value/NOT tokens after it."""
    groups = []
    for word in tokens:
        if "=" in word or word == "NOT":
            if not groups:
                return None
            groups[-1][1].append(word)
        else:
            groups.append((word, []))
    return groups


def parse_rich_rule(text):
    """What a firewalld rich rule says about who may reach which port, or None.

    Returns a dict: text, family (ipv4, ipv6 or None), priority (int, default
    0), source (address, CIDR,
    "ipset:NAME" or MAC, or None), source_not, destination (bool),
    element ("any" when the rule names no port, service or protocol;
    "ports", "service", "protocol", or "other" for ICMP/masquerade elements
    that admit no listener), ports ([(protocol, low, high)]), service,
    protocol, and action (accept, reject, drop, mark or None).

    None means not understood: bad syntax, or elements such as forward-port
    and source-port whose effect on listeners is not modelled.
    """
    if not isinstance(text, str):
        return None
    try:
        groups = _rich_groups(shlex.split(text))
    except ValueError:
        return None
    if not groups or groups[0][0] != "rule":
        return None
    rule = {
        "text": text,
        "family": None,
        "priority": 0,
        "source": None,
        "source_not": False,
        "destination": False,
        "element": "any",
        "ports": [],
        "service": None,
        "protocol": None,
        "action": None,
    }
    for keyword, attrs in groups:
        if not _apply_rich_group(rule, keyword, attrs):
            return None
    return rule


def _apply_rich_group(rule, keyword, attrs):
    """Record one keyword of a rich rule; False when it is not understood."""
    values = dict(a.partition("=")[::2] for a in attrs if a != "NOT")
    if keyword == "rule":
        rule["family"] = values.get("family")
        priority = values.get("priority", "0")
        if not re.fullmatch(r"-?[0-9]{1,5}", priority):
            return False
        rule["priority"] = int(priority)
        return rule["family"] in (None, "ipv4", "ipv6")
    if keyword == "source":
        address = values.get("address") or values.get("mac")
        if values.get("ipset"):
            address = "ipset:" + values["ipset"]
        rule["source"], rule["source_not"] = address, "NOT" in attrs
        return bool(address)
    if keyword == "destination":
        rule["destination"] = True
        return True
    if keyword == "port":
        entry = _parse_port_proto("{}/{}".format(values.get("port"), values.get("protocol")))
        rule["element"], rule["ports"] = "ports", [entry]
        return entry is not None
    if keyword == "service":
        rule["element"], rule["service"] = "service", values.get("name")
        return bool(rule["service"])
    if keyword == "protocol":
        rule["element"], rule["protocol"] = "protocol", values.get("value")
        return bool(rule["protocol"])
    if keyword in _RICH_IRRELEVANT:
        rule["element"] = "other"
        return True
    if keyword in _RICH_ACTIONS:
        rule["action"] = keyword
        return True
    return keyword in _RICH_DECORATIONS


def _string_list(zone, key, where, errors):
    value = zone.get(key)
    if value is None:
        return []
    if not is_list(value):
        errors.append(f"{where}.{key} must be a list, got {show(value)}")
        return []
    return list(value)


def _port_entries(texts, label, notes):
    entries = []
    for text in texts:
        entry = _parse_port_proto(text)
        if entry is None:
            notes.append(f"{label}: port {show(text)} not understood, ignored")
        else:
            entries.append(entry)
    return entries


def _zone_rich_rules(texts, services, label, notes):
    rules = []
    for text in texts:
        rule = parse_rich_rule(text)
        if rule is None:
            notes.append(f"{label}: rich rule not understood, ignored: {text}")
            continue
        if rule["element"] == "service":
            if rule["service"] not in services:
                notes.append(
                    "{}: rich rule ignored, the ports of service {} are not known (add them to "
                    "firewall.services): {}".format(label, show(rule["service"]), text)
                )
                continue
            rule["element"] = "ports"
            rule["ports"] = _port_entries(services[rule["service"]], label, notes)
        rules.append(rule)
    return rules


def _zone_model(zone, index, services, where, errors, notes):
    name = zone.get("name") or f"#{index}"
    label = f"zone {show(name)}"
    zone_where = f"{where}.zones[{index}]"
    lists = dict(
        (key, _string_list(zone, key, zone_where, errors))
        for key in ("ports", "services_ports", "rich_rules", "sources", "interfaces")
    )
    sources = lists["sources"]
    default = zone.get("default", False)
    if not isinstance(default, bool):
        errors.append(f"{zone_where}.default must be true or false, got {show(default)}")
    # A zone bound only to sources admits nobody else; interfaces (or neither) mean everyone.
    # So does the default zone: it also takes every interface that no other zone claims.
    bound = (
        sources
        and not lists["interfaces"]
        and default is not True
        and not any(_is_everyone(s) for s in sources)
    )
    return {
        "label": label,
        "accept": zone.get("target") == "ACCEPT",
        "ports": _port_entries(lists["ports"], label, notes),
        "service_ports": _port_entries(lists["services_ports"], label, notes),
        "rich": _zone_rich_rules(lists["rich_rules"], services, label, notes),
        "audience": list(sources) if bound else None,
    }


def parse_firewall(firewall, where="firewall"):
    """Check a firewall description and parse it once for exposure().

    ``firewall`` is None (nothing known: treated as not filtering) or
    {"state": "running"|"stopped"|"absent", "zones": [...], "services": {...}};
    see _policy.evaluate() for the zones.  Returns {"running", "why_open", "zones",
    "notes"}: notes name what was ignored.  Raises PolicyError when the
    description itself is malformed.
    """
    if firewall is None:
        return {"running": False, "why_open": "no firewall state given", "zones": [], "notes": []}
    if not isinstance(firewall, Mapping):
        raise PolicyError([f"{where} must be a mapping, got {show(firewall)}"])
    errors, notes = [], []
    state = firewall.get("state")
    if state not in FIREWALL_STATES:
        errors.append(
            "{}.state {} is not one of {}".format(where, show(state), ", ".join(FIREWALL_STATES))
        )
    services = firewall.get("services")
    if services is None:
        services = {}
    elif not isinstance(services, Mapping):
        errors.append(f"{where}.services must be a mapping, got {show(services)}")
        services = {}
    zones = []
    for index, zone in enumerate(_string_list(firewall, "zones", where, errors)):
        if not isinstance(zone, Mapping):
            errors.append(f"{where}.zones[{index}] must be a mapping, got {show(zone)}")
        elif zone.get("active", True) is not False:
            zones.append(_zone_model(zone, index, services, where, errors, notes))
    if errors:
        raise PolicyError(errors)
    return {
        "running": state == "running",
        "why_open": f"firewalld is {state}",
        "zones": zones,
        "notes": notes,
    }


def _client_families(sock):
    """Address families clients can use to reach the socket."""
    address = sock["address"]
    if sock["family"] == "ipv4" or (address.startswith("::ffff:") and "." in address):
        return ("ipv4",)
    if address == "::" and sock.get("v6only") is False:
        return ("ipv4", "ipv6")
    return ("ipv6",)


def _rich_family(rule):
    if rule["family"]:
        return rule["family"]
    net = _network(rule["source"]) if rule["source"] else None
    return None if net is None else f"ipv{net.version}"


def _rich_applies(rule, protocol, port, family):
    rule_family = _rich_family(rule)
    if rule_family and rule_family != family:
        return False
    if rule["element"] == "any":
        return True
    if rule["element"] == "protocol":
        return rule["protocol"] == protocol
    return rule["element"] == "ports" and _port_listed(rule["ports"], protocol, port)


# Where firewalld applies the target: after every rule of the zone.
_TARGET_ORDER = (1 << 16, 0)


def _rich_step(rule, label):
    """(order, kind, source, text) for a rich rule, or None when it cannot widen or close a port.

    kind is "accept" or "deny"; source is None when the rule applies to everyone.
    """
    text = f"{label} rich rule: {rule['text']}"
    everyone = rule["source"] is None or rule["source_not"] or _is_everyone(rule["source"])
    if rule["action"] == "accept":
        # A NOT-source accept admits nearly everyone; a destination only narrows it.
        return ((rule["priority"], 1), "accept", None if everyone else rule["source"], text)
    if rule["action"] in ("reject", "drop") and rule["source"] is None and not rule["destination"]:
        return ((rule["priority"], 0), "deny", None, text)
    # Rejecting some sources still leaves the port open to the others.
    return None


def _zone_steps(zone, protocol, port, family):
    """The zone's decisions about protocol/port, in firewalld's order.

    Rich rules run by priority (default 0), at equal priority reject/drop before accept;
    the zone's ports and services are accepts at priority 0; the target comes last.
    """
    label = f"{port}/{protocol}"
    steps = []
    for rule in zone["rich"]:
        step = (
            _rich_step(rule, zone["label"]) if _rich_applies(rule, protocol, port, family) else None
        )
        if step:
            steps.append(step)
    if _port_listed(zone["ports"], protocol, port):
        steps.append(((0, 1), "accept", None, f"{zone['label']} opens {label}"))
    if _port_listed(zone["service_ports"], protocol, port):
        steps.append(((0, 1), "accept", None, f"{zone['label']} allows a service on {label}"))
    if zone["accept"]:
        steps.append((_TARGET_ORDER, "accept", None, f"{zone['label']} has target ACCEPT"))
    return sorted(steps, key=lambda step: step[0])


def _zone_reach(zone, protocol, port, family):
    """(via, sources): what lets everyone in, and the only sources let in, for one zone."""
    via, sources = [], []
    for _order, kind, source, text in _zone_steps(zone, protocol, port, family):
        if kind == "deny":
            # Nothing after a reject/drop for everyone is reached.
            break
        if source is None:
            via.append(text)
        else:
            sources.append(source)
    if zone["audience"] is not None:
        return [], sources + (zone["audience"] if via else [])
    return via, sources


def exposure(sock, model):
    """Who can reach a socket through the firewall now (``model`` from parse_firewall).

    Returns {"exposure": "everyone"|"restricted"|"closed", "sources": [...]
    (when restricted), "via": [what admits everyone]}.
    """
    if not model["running"]:
        return {"exposure": "everyone", "sources": [], "via": [model["why_open"]]}
    via, sources = [], []
    for family in _client_families(sock):
        for zone in model["zones"]:
            zone_via, zone_sources = _zone_reach(zone, sock["protocol"], sock["port"], family)
            via.extend(zone_via)
            sources.extend(zone_sources)
    if via:
        return {"exposure": "everyone", "sources": [], "via": _unique(via)}
    if sources:
        return {"exposure": "restricted", "sources": _sorted_sources(sources), "via": []}
    return {"exposure": "closed", "sources": [], "via": []}
