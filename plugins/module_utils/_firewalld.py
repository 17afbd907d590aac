# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What firewalld lets in, from ansible.posix.firewalld_info and `firewall-cmd --info-service`."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

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


def parse_service(text):
    """Ports and included services of one service, from `firewall-cmd --info-service=NAME` output.

    The output starts with the service name, then indented `key: values` lines. Only `ports`
    and `includes` matter for reachability (`protocols` and `source-ports` do not open listening
    ports); an included service's ports are opened with the service's own.
    """
    fields = {"ports": [], "includes": []}
    for line in text.splitlines():
        key, sep, value = line.strip().partition(":")
        if sep and key in fields:
            fields[key] = value.split()
    return service_entry(fields["ports"], fields["includes"])


def service_entry(ports, includes):
    """A service as resolve_services() keeps it: its `port/protocol` specs and includes, sorted."""
    return {"ports": sorted(ports, key=_port_sort_key), "includes": sorted(includes)}


def resolve_services(names, read, parse=parse_service):
    """Every port each named service opens, its includes followed to any depth.

    ``read(name)`` returns what ``parse`` turns into a service_entry() (by default the service's
    `firewall-cmd --info-service` text), or None when firewalld does not know it.  Returns
    (services, unknown): services maps each name that was read, asked for or included, to
    {"ports": its own, "includes": [...], "all_ports": its own and those of every service it
    includes}; unknown lists, sorted, the names firewalld did not know.
    Each service is read once; include cycles end where they close.
    """
    parsed, unknown = {}, set()
    pending = sorted(set(names))
    while pending:
        name = pending.pop()
        if name in parsed or name in unknown:
            continue
        text = read(name)
        if text is None:
            unknown.add(name)
            continue
        parsed[name] = parse(text)
        pending.extend(n for n in parsed[name]["includes"] if n not in parsed)
    services = {}
    for name, service in parsed.items():
        ports, seen, stack = set(), set(), [name]
        while stack:
            current = stack.pop()
            if current in seen or current not in parsed:
                continue
            seen.add(current)
            ports.update(parsed[current]["ports"])
            stack.extend(parsed[current]["includes"])
        services[name] = dict(service, all_ports=sorted(ports, key=_port_sort_key))
    return services, sorted(unknown)


def _port_sort_key(spec):
    port, _slash, protocol = spec.partition("/")
    return (int(port.split("-", 1)[0]) if port.split("-", 1)[0].isdigit() else 0, protocol, spec)


def firewall_view(state, info=None, service_ports=None):
    """The firewall as the policy engine reads it.

    ``state`` is `running`, `stopped` or `absent`; ``info`` is ansible.posix.firewalld_info's
    `firewalld_info` (running only); ``service_ports`` maps service names to port specs, and is
    passed on as `services` so the engine can resolve rich rules that name a service. A zone is
    active when it is the default zone (it applies to every interface no other zone claims) or has
    interfaces or sources.
    """
    if state != "running":
        return {"state": state, "default_zone": None, "zones": []}
    info = info or {}
    service_ports = service_ports or {}
    default_zone = info.get("default_zone")
    zones = []
    for name, zone in sorted((info.get("zones") or {}).items()):
        services = zone.get("services") or []
        ports = [
            "%s/%s" % (p[0], p[1]) if isinstance(p, (list, tuple)) else p
            for p in zone.get("ports") or []
        ]
        zones.append(
            {
                "name": name,
                "active": name == default_zone
                or bool(zone.get("interfaces") or zone.get("sources")),
                "default": name == default_zone,
                "target": zone.get("target") or "default",
                "ports": ports,
                "services": list(services),
                "services_ports": sorted(
                    set(p for s in services for p in service_ports.get(s, [])), key=_port_sort_key
                ),
                "rich_rules": list(zone.get("rich_rules") or []),
                "sources": list(zone.get("sources") or []),
                "interfaces": list(zone.get("interfaces") or []),
            }
        )
    return {
        "state": state,
        "default_zone": default_zone,
        "zones": zones,
        "services": dict(service_ports),
    }


_PROTOCOLS = ("tcp", "udp")


def _checked_port(item, where):
    """(port, protocol) of a plan entry, or PolicyError: they are written into a rich rule."""
    port, protocol = item.get("port"), item.get("protocol")
    problems = []
    if not is_port(port):
        problems.append(f"{where}: port {show(port)} is not a port (1-65535)")
    if not isinstance(protocol, str) or protocol not in _PROTOCOLS:
        problems.append(f"{where}: protocol {show(protocol)} is not tcp or udp")
    if problems:
        raise PolicyError(problems)
    return int(port), str(protocol)


def _checked_source(source, where):
    """(family, source) for a source already in canonical form, or PolicyError."""
    try:
        canonical = canonical_source(source)
    except ValueError as exc:
        raise PolicyError([f"{where}: {exc}"]) from None
    if canonical != source:
        raise PolicyError(
            [f"{where}: {show(source)} is not in canonical form (expected {show(canonical)})"]
        )
    return ("ipv6" if ":" in canonical else "ipv4"), canonical


def _entries(plan, key):
    """(label, entry) for the plan's `key` list, the label naming the entry and its rules."""
    entries = []
    for index, item in enumerate(plan.get(key) or []):
        where = f"plan.{key}[{index}]"
        if not isinstance(item, Mapping):
            raise PolicyError([f"{where}: expected a mapping, got {show(item)}"])
        rules = item.get("rules")
        if is_list(rules) and rules:
            where += " (rules {})".format(", ".join(show(r) for r in rules))
        entries.append((where, item))
    return entries


def rich_rules(plan):
    """firewalld rich rules that carry out a plan's `block` and `restrict` entries.

    Rules with a priority run before firewalld's zone ports and services, lowest first: the
    admitted sources (-20) come before the reject for everyone else (-10), so a port that a zone
    or service opens is still closed. Loopback traffic never passes through firewalld's zones,
    so local clients keep working.

    Every value is checked again before it is written into a rule, sources in the canonical
    form the policy gives them; PolicyError names the plan entry otherwise.
    """
    restrict = _entries(plan, "firewall_restrict")
    block = _entries(plan, "firewall_block")
    rules = []
    for where, item in restrict:
        port, protocol = _checked_port(item, where)
        sources = item.get("sources")
        if not is_list(sources) or not sources:
            raise PolicyError([f"{where}: sources must be a non-empty list, got {show(sources)}"])
        for number, source in enumerate(sources):
            family, address = _checked_source(source, f"{where}: sources[{number}]")
            rules.append(
                'rule family="%s" priority="-20" source address="%s" port port="%d" '
                'protocol="%s" accept' % (family, address, port, protocol)
            )
    for where, item in block + restrict:
        rules.append(
            'rule priority="-10" port port="%d" protocol="%s" reject' % _checked_port(item, where)
        )
    return rules
