# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""systemd .socket units: parse what systemctl prints and match units to kernel sockets.

query_socket_units() is the only function that runs anything, and it does so
through the caller's run(args) -> (rc, stdout, stderr), so it is testable.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test boilerplate

import re

from ansible_collections.portguard.hardening.plugins.module_utils._sockets import (
    canonical_address,
)

SHOW_PROPERTIES = ("Id", "Listen", "Triggers", "ActiveState", "UnitFileState")

# systemd's names for the socket types of Listen= entries.
_LISTEN_PROTOCOLS = {"Stream": "tcp", "Datagram": "udp"}

# systemd prints IPv6 as [addr]:port, with %ifname after the port when scoped.
_IPV6_RE = re.compile(r"^\[([0-9A-Fa-f:.]+)(?:%([^\]]+))?\]:(\d+)(?:%(.+))?$")
_IPV4_RE = re.compile(r"^(\d{1,3}(?:\.\d{1,3}){3}):(\d+)(?:%(.+))?$")
_PORT_RE = re.compile(r"^(\d+)$")


class SystemdQueryError(Exception):
    """systemctl failed; activated_by cannot be computed."""


def parse_list_units(text):
    """Unit names from ``systemctl list-units --type=socket --all --plain --no-legend``."""
    names = []
    for line in text.splitlines():
        for token in line.split():
            # Some versions print a status bullet before the name even with --plain.
            if token.endswith(".socket"):
                if token not in names:
                    names.append(token)
                break
            if token not in ("\u25cf", "*", "\u00d7", "x"):
                break
    return names


def parse_endpoint(address):
    """Split a systemd Listen address into (family, address, port, interface).

    family is 'ipv4', 'ipv6' or None for a bare port (all addresses of either
    family).  Returns None for anything that is not an INET address (unix
    paths, netlink, FIFOs, vsock ...).
    """
    m = _IPV6_RE.match(address)
    if m:
        port = int(m.group(3))
        try:
            text = canonical_address(m.group(1))
        except ValueError:
            return None
        return ("ipv6", text, port, m.group(2) or m.group(4))
    m = _IPV4_RE.match(address)
    if m:
        try:
            text = canonical_address(m.group(1))
        except ValueError:
            return None
        return ("ipv4", text, int(m.group(2)), m.group(3))
    m = _PORT_RE.match(address)
    if m:
        return (None, None, int(m.group(1)), None)
    return None


def parse_listen(value):
    """One ``Listen=`` value, e.g. ``[::]:111 (Stream)``, as a dict.

    Keys: type (systemd's word), address (as printed), protocol ('tcp', 'udp'
    or None when not an INET stream/datagram), family, ip, port, interface.
    """
    address, type_ = value, None
    m = re.match(r"^(.*) \(([A-Za-z]+)\)$", value)
    if m:
        address, type_ = m.group(1), m.group(2)
    entry = {
        "type": type_,
        "address": address,
        "protocol": None,
        "family": None,
        "ip": None,
        "port": None,
        "interface": None,
    }
    endpoint = parse_endpoint(address)
    if endpoint is not None and type_ in _LISTEN_PROTOCOLS:
        entry["protocol"] = _LISTEN_PROTOCOLS[type_]
        entry["family"], entry["ip"], entry["port"], entry["interface"] = endpoint
    return entry


def parse_show(text):
    """Parse ``systemctl show -p Id -p Listen ... a.socket b.socket`` output.

    Units are separated by blank lines; Listen= repeats once per entry.
    Returns a list of dicts: unit, listen (list of parse_listen dicts),
    triggers (list), active_state, unit_file_state.
    """
    units = []
    for block in re.split(r"\n\s*\n", text.strip()):
        unit = {
            "unit": None,
            "listen": [],
            "triggers": [],
            "active_state": None,
            "unit_file_state": None,
        }
        for line in block.splitlines():
            key, sep, value = line.partition("=")
            if not sep:
                continue
            if key == "Id":
                unit["unit"] = value
            elif key == "Listen":
                if value:
                    unit["listen"].append(parse_listen(value))
            elif key == "Triggers":
                unit["triggers"].extend(value.split())
            elif key == "ActiveState":
                unit["active_state"] = value or None
            elif key == "UnitFileState":
                unit["unit_file_state"] = value or None
        if unit["unit"]:
            units.append(unit)
    return units


def show_command(properties, names):
    """systemctl's arguments to show these properties of these units, as one argument list.

    The names must already be checked unit names: they follow "--", so none is read as an option.
    """
    args = ["show", "--no-pager"]
    for prop in properties:
        args.extend(["-p", prop])
    return args + ["--"] + list(names)


def query_socket_units(run):
    """List every loaded .socket unit and its Listen=/Triggers= with two systemctl calls.

    ``run(args)`` executes systemctl with the given arguments and returns
    (rc, stdout, stderr).  Raises SystemdQueryError when systemctl fails.
    """
    rc, out, err = run(
        ["list-units", "--type=socket", "--all", "--plain", "--no-legend", "--no-pager"]
    )
    if rc != 0:
        raise SystemdQueryError(f"systemctl list-units failed (rc={rc}): {err.strip()}")
    names = parse_list_units(out)
    if not names:
        return []
    rc, out, err = run(show_command(SHOW_PROPERTIES, names))
    if rc != 0:
        raise SystemdQueryError(f"systemctl show failed (rc={rc}): {err.strip()}")
    return parse_show(out)


def _is_active(unit):
    # An inactive or failed socket unit holds nothing now; unknown state is given the benefit.
    return unit.get("active_state") in (None, "active", "reloading", "activating", "deactivating")


def listen_matches(entry, sock):
    """True when a Listen= entry is the same socket as this kernel socket."""
    if entry["protocol"] != sock["protocol"] or entry["port"] != sock["port"]:
        return False
    if entry["family"] is None:
        # A bare port: systemd binds the wildcard address.
        return sock["address"] in ("0.0.0.0", "::")  # noqa: S104 - comparing, not binding
    if entry["family"] != sock["family"] or entry["ip"] != sock["address"]:
        return False
    scope = entry.get("interface")
    if scope and sock.get("interface") and scope != sock["interface"]:
        return scope == str(sock.get("interface_index"))
    return True


def activated_by(sock, units, unit_name=None):
    """Names of the active .socket units that provide this socket, sorted.

    A unit matches when one of its Listen= entries is this socket (protocol,
    address, port), or when it triggers ``unit_name`` (the service owning the
    socket) and listens on the same protocol and port.
    """
    names = set()
    for unit in units:
        if not _is_active(unit):
            continue
        for entry in unit["listen"]:
            if listen_matches(entry, sock):
                names.add(unit["unit"])
                break
            if (
                unit_name
                and unit_name in unit["triggers"]
                and entry["protocol"] == sock["protocol"]
                and entry["port"] == sock["port"]
            ):
                names.add(unit["unit"])
                break
    return sorted(names)


def units_by_port(units):
    """{(protocol, port): [units with a Listen= entry on it]}, units in their given order.

    activated_by() only matches entries of the socket's own protocol and port, so this index
    lets a caller skip the many sockets no socket unit listens on.
    """
    index = {}
    for unit in units:
        for entry in unit["listen"]:
            if entry["port"]:
                listed = index.setdefault((entry["protocol"], entry["port"]), [])
                if not listed or listed[-1] is not unit:
                    listed.append(unit)
    return index


def triggered_service(socket_unit_names, units):
    """The unit the first of these socket units triggers (services first), or None."""
    by_name = dict((u["unit"], u) for u in units)
    for name in sorted(socket_unit_names):
        triggers = by_name.get(name, {}).get("triggers") or []
        for target in triggers:
            if target.endswith(".service"):
                return target
        if triggers:
            return triggers[0]
    return None


def summarize_units(units):
    """A compact, JSON-friendly view of the socket units for the facts' meta."""
    return [
        {
            "unit": u["unit"],
            "active_state": u["active_state"],
            "unit_file_state": u["unit_file_state"],
            "listen": [
                "{} ({})".format(e["address"], e["type"]) if e["type"] else e["address"]
                for e in u["listen"]
            ],
            "triggers": list(u["triggers"]),
        }
        for u in units
    ]
