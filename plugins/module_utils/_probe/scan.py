# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""probe_host(): one address's TCP and UDP ports probed from here, as plain data.

Everything the caller passes is checked before the first packet: the address must be an IP
literal (names are the caller's to resolve, so that nothing but the address it chose is ever
probed), the ports integers from 1 to 65535, the settings numbers in their ranges. Every
problem is reported at once, each naming its field, in one ProbeError.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test boilerplate

import asyncio
import collections
import ipaddress
import math
import re
import socket
import time

from ansible_collections.portguard.hardening.plugins.module_utils._probe import tcp, udp
from ansible_collections.portguard.hardening.plugins.module_utils._probe.pace import (
    Pacer,
    socket_room,
)
from ansible_collections.portguard.hardening.plugins.module_utils._values import is_int, show

# name: (default, smallest, largest, integer only, what it is)
SETTINGS = collections.OrderedDict(
    [
        ("concurrency", (256, 1, 65535, True, "connections (and UDP sockets) open at once")),
        ("rate", (2000, 0, 1000000, False, "attempts per second, 0 for no limit")),
        ("timeout", (1.0, 0.01, 60, False, "seconds to wait for each answer")),
        ("budget", (120.0, 0.1, 86400, False, "seconds for the whole host")),
        ("tries", (2, 1, 10, True, "datagrams sent to a silent UDP port")),
    ]
)
DEFAULTS = dict((name, spec[0]) for name, spec in SETTINGS.items())
# An IPv6 zone: an interface name or index (fe80::1%eth0).
ZONE = re.compile(r"^[A-Za-z0-9_.:-]{1,15}$")
PORT_RANGE = re.compile(r"^\s*(\d{1,5})\s*(?:-\s*(\d{1,5})\s*)?$")
MAX_ERRORS = 20


class ProbeError(ValueError):
    """What the caller passed cannot be probed; ``errors`` lists every problem."""

    def __init__(self, errors):
        self.errors = list(errors)
        super().__init__("; ".join(self.errors))


def parse_address(address, field="address"):
    """(family, sockaddr without the port, the address as text) of an IP literal, or a
    ProbeError. IPv4 in dotted quad only (no '127.1'), IPv6 with an optional %zone."""
    if not isinstance(address, str) or not address.strip():
        raise ProbeError(["%s: expected an IP address, got %s" % (field, show(address))])
    text = address.strip()
    literal, _sep, zone = text.partition("%")
    try:
        ip = ipaddress.ip_address(literal)
    except ValueError:
        raise ProbeError(
            [
                "%s: %s is not an IP address (names are resolved by the caller)"
                % (field, show(address))
            ]
        ) from None
    problems = []
    if _sep and (ip.version != 6 or not ZONE.match(zone)):
        problems.append("%s: %s has a zone that is not an interface" % (field, show(address)))
    if (
        ip.is_unspecified
        or ip.is_multicast
        or (ip.version == 4 and ip == ipaddress.IPv4Address("255.255.255.255"))
    ):
        problems.append("%s: %s is not the address of one host" % (field, show(address)))
    if problems:
        raise ProbeError(problems)
    shown = str(ip) + ("%" + zone if _sep else "")
    family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    try:
        # Numeric only: no lookup can happen, and the zone becomes its interface index.
        info = socket.getaddrinfo(shown, 0, family, socket.SOCK_STREAM, 0, socket.AI_NUMERICHOST)
    except (OSError, UnicodeError) as exc:
        raise ProbeError(["%s: %s cannot be used: %s" % (field, show(address), exc)]) from None
    return family, info[0][4], shown


def check_ports(ports, field):
    """Sorted distinct port numbers, and the problems of ``ports`` (a list of ints)."""
    if not isinstance(ports, (list, tuple, range)):
        return [], ["%s: expected a list of ports, got %s" % (field, show(ports))]
    good, problems = set(), []
    for i, port in enumerate(ports):
        if is_int(port) and 1 <= port <= 65535:
            good.add(int(port))
        elif len(problems) < MAX_ERRORS:
            problems.append(
                "%s[%d]: expected a port from 1 to 65535, got %s" % (field, i, show(port))
            )
    return sorted(good), problems


def expand_ports(values, field):
    """Ports from a list of ints, digit strings and 'FIRST-LAST' ranges (or one such string,
    commas allowed): what an operator writes, as the sorted list probe_host takes."""
    if isinstance(values, str):
        values = [v for v in values.split(",") if v.strip()]
    if is_int(values):
        values = [values]
    if not isinstance(values, (list, tuple)):
        raise ProbeError(["%s: expected a list of ports or ranges, got %s" % (field, show(values))])
    ports, problems = set(), []
    for i, value in enumerate(values):
        if is_int(value):
            first = last = value
        else:
            match = PORT_RANGE.match(value) if isinstance(value, str) else None
            if not match:
                problems.append(
                    "%s[%d]: expected a port or FIRST-LAST, got %s" % (field, i, show(value))
                )
                continue
            first = int(match.group(1))
            last = int(match.group(2) or first)
        if not 1 <= first <= last <= 65535:
            problems.append(
                "%s[%d]: %s is not within 1-65535, first to last" % (field, i, show(value))
            )
            continue
        ports.update(range(first, last + 1))
    if problems:
        raise ProbeError(problems[:MAX_ERRORS])
    return sorted(ports)


def check_settings(settings):
    """The settings with defaults filled in, or a ProbeError naming every bad field."""
    if settings is None:
        settings = {}
    if not isinstance(settings, dict):
        raise ProbeError(["settings: expected a mapping, got %s" % show(settings)])
    problems = [
        "settings: unknown field %s (known: %s)" % (show(name), ", ".join(SETTINGS))
        for name in sorted(settings, key=str)
        if name not in SETTINGS
    ]
    out = {}
    for name, (default, low, high, integer, what) in SETTINGS.items():
        value = settings.get(name)
        if value is None:
            out[name] = default
            continue
        number = is_int(value) or (not integer and isinstance(value, float))
        if not number or math.isnan(value) or not low <= value <= high:
            kind = "an integer" if integer else "a number"
            problems.append(
                "%s: expected %s from %s to %s (%s), got %s"
                % (name, kind, low, high, what, show(value))
            )
            continue
        out[name] = value
    if problems:
        raise ProbeError(problems)
    return out


def probe_host(address, tcp_ports, udp_ports, settings=None):
    """Probe ``address``'s ``tcp_ports`` and ``udp_ports`` from here.

    Returns {"address", "tcp": {"22": "open", ...}, "udp": {"111": {"state", "service",
    "detail", "probe"}}, "counts": {"tcp": {state: n}, "udp": {state: n}}, "elapsed",
    "sent": {"tcp": n, "udp": n}, "settings", "notes", "errors"}; the ports in order.
    Raises ProbeError before anything is sent when an argument is bad.
    """
    problems = []
    try:
        family, sockaddr, shown = parse_address(address)
    except ProbeError as exc:
        problems.extend(exc.errors)
        family = sockaddr = shown = None
    tcp_list, bad = check_ports(tcp_ports, "tcp_ports")
    problems.extend(bad)
    udp_list, bad = check_ports(udp_ports, "udp_ports")
    problems.extend(bad)
    try:
        settings = check_settings(settings)
    except ProbeError as exc:
        problems.extend(exc.errors)
    if problems:
        raise ProbeError(problems)
    notes = []
    wanted = settings["concurrency"] * ((1 if tcp_list else 0) + (1 if udp_list else 0))
    room, note = socket_room(max(1, wanted))
    if note:
        notes.append(note)
    # Split the room between the two protocols the way they would have shared the wish.
    tcp_room = udp_room = min(settings["concurrency"], room)
    if tcp_list and udp_list and wanted > room:
        tcp_room = max(1, room - room // 4)
        udp_room = max(1, room // 4)
    loop = asyncio.new_event_loop()
    started = time.monotonic()
    try:
        tcp_scan, udp_out = loop.run_until_complete(
            _run(loop, family, sockaddr, tcp_list, udp_list, settings, tcp_room, udp_room)
        )
    finally:
        loop.close()
    elapsed = time.monotonic() - started
    udp_states, udp_sent, udp_problems = udp_out
    errors = ["tcp: %s (%d ports)" % (line, n) for line, n in sorted(tcp_scan.problems.items())] + [
        "udp: %s (%d ports)" % (line, n) for line, n in sorted(udp_problems.items())
    ]
    return {
        "address": shown,
        "tcp": collections.OrderedDict((str(p), tcp_scan.states[p]) for p in tcp_list),
        "udp": collections.OrderedDict((str(p), udp_states[p]) for p in udp_list),
        "counts": {
            "tcp": _count(tcp_scan.states.values(), tcp.STATES),
            "udp": _count((e["state"] for e in udp_states.values()), udp.STATES),
        },
        "elapsed": round(elapsed, 3),
        "sent": {"tcp": tcp_scan.sent, "udp": udp_sent},
        "settings": settings,
        "notes": notes,
        "errors": errors,
    }


def _count(states, order):
    counts = collections.Counter(states)
    return dict((state, counts.get(state, 0)) for state in order)


async def _run(loop, family, sockaddr, tcp_list, udp_list, settings, tcp_room, udp_room):
    pacer = Pacer(settings["rate"], loop.time)
    deadline = loop.time() + settings["budget"]
    timeout = settings["timeout"]
    tcp_scan = tcp.TcpScan(loop, family, sockaddr, tcp_list, tcp_room, timeout, pacer, deadline)
    tcp_task = loop.create_task(tcp_scan.run())
    udp_task = loop.create_task(
        udp.scan(
            loop, family, sockaddr, udp_list, udp_room, settings["tries"], timeout, pacer, deadline
        )
    )
    await asyncio.wait([tcp_task, udp_task])
    tcp_task.result()  # re-raises what failed in either
    return tcp_scan, udp_task.result()
