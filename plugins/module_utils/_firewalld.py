# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What firewalld lets in, from ansible.posix.firewalld_info and `firewall-cmd --info-service`."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


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
    return {
        "ports": sorted(fields["ports"], key=_port_sort_key),
        "includes": sorted(fields["includes"]),
    }


def resolve_services(names, read):
    """Every port each named service opens, its includes followed to any depth.

    ``read(name)`` returns the service's `firewall-cmd --info-service` text, or None when
    firewalld does not know it.  Returns (services, unknown): services maps each name that was
    read, asked for or included, to {"ports": its own, "includes": [...], "all_ports": its own and
    those of every service it includes}; unknown lists, sorted, the names firewalld did not know.
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
        parsed[name] = parse_service(text)
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


def _family(source):
    return "ipv6" if ":" in source else "ipv4"


def rich_rules(plan):
    """firewalld rich rules that carry out a plan's `block` and `restrict` entries.

    Rules with a priority run before firewalld's zone ports and services, lowest first: the
    admitted sources (-20) come before the reject for everyone else (-10), so a port that a zone
    or service opens is still closed. Loopback traffic never passes through firewalld's zones,
    so local clients keep working.
    """
    rules = []
    for item in plan.get("firewall_restrict", []):
        for source in item["sources"]:
            rules.append(
                'rule family="%s" priority="-20" source address="%s" port port="%d" '
                'protocol="%s" accept' % (_family(source), source, item["port"], item["protocol"])
            )
    for item in plan.get("firewall_block", []) + plan.get("firewall_restrict", []):
        rules.append(
            'rule priority="-10" port port="%d" protocol="%s" reject'
            % (item["port"], item["protocol"])
        )
    return rules
