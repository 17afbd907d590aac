# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a running firewalld admits: its zones in the shape of ansible.posix.firewalld_info's
``firewalld_info``, and the services they name resolved as firewalld_services resolves them.

Two ways to ask, one result:

- firewalld's own Python client (``firewall.client``, over D-Bus), the calls firewalld_info
  makes.  It is imported when read_firewalld() runs, never when this file is imported.  On the
  lab's Debian 12 host with 10 zones and 5 services it takes about 0.1 s, against 0.2 s for
  each ``firewall-cmd`` run (firewall-cmd is a Python program that imports the same client).
- ``firewall-cmd`` when the module's Python has no ``firewall`` package (a Python other than
  the one firewalld was installed for): ``--version``, ``--get-default-zone``,
  ``--list-all-zones`` and one ``--info-service`` per service.  The text sorts a zone's
  services and protocols and orders its rich rules by priority; the lists hold the same items.

Both read the runtime configuration, as firewalld_info does.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test boilerplate

import importlib
import re

from ansible_collections.portguard.hardening.plugins.module_utils._firewalld import (
    parse_service,
    resolve_services,
    service_entry,
)
from ansible_collections.portguard.hardening.plugins.module_utils._read.commands import (
    command_label,
    command_text,
    first_line,
)

# firewall-cmd's exit code, and the D-Bus error text, for a service it does not know.
INVALID_SERVICE = 101
INVALID_SERVICE_NAME = "INVALID_SERVICE"
# firewalld_info's zone keys and the FirewallClientZoneSettings getters that fill them.
ZONE_GETTERS = (
    ("target", "getTarget"),
    ("icmp_block_inversion", "getIcmpBlockInversion"),
    ("interfaces", "getInterfaces"),
    ("sources", "getSources"),
    ("services", "getServices"),
    ("ports", "getPorts"),
    ("protocols", "getProtocols"),
    ("masquerade", "getMasquerade"),
    ("forward_ports", "getForwardPorts"),
    ("source_ports", "getSourcePorts"),
    ("icmp_blocks", "getIcmpBlocks"),
    ("rich_rules", "getRichRules"),
)
# firewalld_info reports a zone's forward only from firewalld 0.9.0 on, which added it.
FORWARD_SINCE = (0, 9, 0)
# --list-all-zones lines: key -> (firewalld_info key, kind).
_TEXT_KEYS = {
    "target": ("target", "text"),
    "icmp-block-inversion": ("icmp_block_inversion", "flag"),
    "interfaces": ("interfaces", "words"),
    "sources": ("sources", "words"),
    "services": ("services", "words"),
    "ports": ("ports", "ports"),
    "protocols": ("protocols", "words"),
    "forward": ("forward", "flag"),
    "masquerade": ("masquerade", "flag"),
    "forward-ports": ("forward_ports", "forward_ports"),
    "source-ports": ("source_ports", "ports"),
    "icmp-blocks": ("icmp_blocks", "words"),
    "rich rules": ("rich_rules", "lines"),
}
_KEY_LINE = re.compile(r"^  ([a-z][a-z -]*): ?(.*)$")
_FORWARD_PORT = re.compile(r"^port=([^:]*):proto=([^:]*):toport=([^:]*):toaddr=(.*)$")


def version_tuple(text):
    """(1, 3, 3) for "1.3.3": the leading numbers of a version, for comparisons."""
    numbers = []
    for part in str(text).split("."):
        digits = re.match(r"\d+", part)
        if not digits:
            break
        numbers.append(int(digits.group()))
    return tuple(numbers)


# The zone keys firewalld_info gives as true or false.
FLAG_KEYS = ("icmp_block_inversion", "masquerade", "forward")


def _plain(value):
    """A zone setting as plain JSON types: text as str, tuples (port, protocol) as lists."""
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def dbus_client():
    """(client, version) from firewalld's Python client, imported now.

    Raises ImportError when this Python has no ``firewall`` package.
    """
    client = importlib.import_module("firewall.client")
    config = importlib.import_module("firewall.config")
    return client.FirewallClient(), config.VERSION


def zones_from_client(client, version):
    """firewalld_info's ``firewalld_info`` ({"version", "default_zone", "zones"}) from a client."""
    info = {"version": str(version), "default_zone": str(client.getDefaultZone())}
    zones = {}
    forward = version_tuple(version) >= FORWARD_SINCE
    for zone in client.getZones():
        settings = client.getZoneSettings(zone)
        entry = dict((key, _plain(getattr(settings, getter)())) for key, getter in ZONE_GETTERS)
        if forward:
            entry["forward"] = settings.getForward()
        for key in FLAG_KEYS:
            if key in entry:
                entry[key] = bool(entry[key])
        zones[str(zone)] = entry
    info["zones"] = zones
    return info


def client_service_reader(client):
    """read(name) for resolve_services(): (ports, includes) of a service, None when unknown."""

    def read(name):
        try:
            settings = client.getServiceSettings(name)
        except Exception as exc:  # dbus.exceptions.DBusException; dbus is not imported here
            if INVALID_SERVICE_NAME in str(exc):
                return None
            raise
        ports = ["%s/%s" % (port, protocol) for port, protocol in settings.getPorts()]
        # firewalld before 0.7 has no includes.
        includes = getattr(settings, "getIncludes", list)()
        return [str(p) for p in ports], [str(i) for i in includes]

    return read


def _from_pair(pair):
    return service_entry(*pair)


def _port_pairs(words):
    return [list(word.rsplit("/", 1)) for word in words if "/" in word]


def _forward_ports(items):
    entries = []
    for item in items:
        found = _FORWARD_PORT.match(item)
        if found:
            entries.append(list(found.groups()))
    return entries


def _zone_value(kind, values):
    """One firewalld_info value from a key's text: its first line and continuation lines."""
    words = " ".join(values).split()
    if kind == "text":
        return values[0].strip() if values else ""
    if kind == "flag":
        return bool(values) and values[0].strip() == "yes"
    if kind == "ports":
        return _port_pairs(words)
    if kind == "forward_ports":
        return _forward_ports(words)
    if kind == "lines":
        return [v.strip() for v in values if v.strip()]
    return words


def parse_zones(text):
    """firewalld_info's ``zones`` from ``firewall-cmd --list-all-zones``.

    A zone starts with its name at the start of a line (``public (default, active)``); its
    settings follow as ``  key: value`` lines, forward ports and rich rules one a line after a
    tab.  Keys firewalld_info does not report are skipped; ``forward`` is present only when
    firewall-cmd prints it (firewalld 0.9 and later), as in firewalld_info.
    """
    zones = {}
    raw = None
    key = None
    for line in text.splitlines():
        if not line.strip():
            continue
        if not line[0].isspace():
            raw = zones.setdefault(line.split()[0], {})
            key = None
            continue
        if raw is None:
            continue
        found = _KEY_LINE.match(line)
        if found and not line.startswith("\t"):
            key = found.group(1)
            raw[key] = [found.group(2)] if found.group(2).strip() else []
        elif key is not None and line.startswith("\t"):
            raw[key].append(line.strip())
    result = {}
    for name, values in zones.items():
        zone = {}
        for text_key, (key, kind) in _TEXT_KEYS.items():
            if text_key in values:
                zone[key] = _zone_value(kind, values[text_key])
            elif key != "forward":
                zone[key] = "" if kind == "text" else (False if kind == "flag" else [])
        result[name] = zone
    return result


def _firewall_cmd(run, firewall_cmd, errors, *args):
    text = command_text(run, [firewall_cmd] + list(args), errors)
    return None if text is None else text.strip()


def zones_from_firewall_cmd(run, firewall_cmd, errors):
    """firewalld_info's ``firewalld_info`` from firewall-cmd's text, or None (see errors)."""
    version = _firewall_cmd(run, firewall_cmd, errors, "--version")
    default_zone = _firewall_cmd(run, firewall_cmd, errors, "--get-default-zone")
    zones = _firewall_cmd(run, firewall_cmd, errors, "--list-all-zones")
    if version is None or default_zone is None or zones is None:
        return None
    return {"version": version, "default_zone": default_zone, "zones": parse_zones(zones)}


def firewall_cmd_service_reader(run, firewall_cmd):
    """read(name) for resolve_services(): ``firewall-cmd --info-service`` text, None when unknown.

    Raises RuntimeError naming the command when firewall-cmd fails otherwise.
    """

    def read(name):
        argv = [firewall_cmd, "--info-service=%s" % name]
        rc, out, err = run(argv)
        if rc == INVALID_SERVICE:
            return None
        if rc != 0:
            raise RuntimeError(
                "%s failed (rc %d): %s"
                % (command_label(argv), rc, first_line(err) or first_line(out) or "no output")
            )
        return out

    return read


def used_services(info):
    """The services the zones of a firewalld_info name, sorted, each once."""
    names = set()
    for zone in (info.get("zones") or {}).values():
        names.update(zone.get("services") or [])
    return sorted(names)


def read_firewalld(run, firewall_cmd=None, client_factory=None):
    """host.firewalld for a running firewalld.

    Returns {"default_zone", "info" (firewalld_info's ``firewalld_info``), "services"
    (firewalld_services' ``services``, for the services the zones name and those they
    include), "unknown_services", "source" ("dbus" or "firewall-cmd"), "error"}.  On a failure
    info is None or services is {}, and error says why.  ``client_factory`` stands in for
    dbus_client(); ``run`` and ``firewall_cmd`` serve when it raises ImportError.
    """
    result = {
        "default_zone": None,
        "info": None,
        "services": {},
        "unknown_services": [],
        "source": "dbus",
        "error": None,
    }
    errors = []
    try:
        client, version = (client_factory or dbus_client)()
    except ImportError as exc:
        client = None
        result["source"] = "firewall-cmd"
        if not firewall_cmd:
            result["error"] = (
                "this Python cannot import firewalld's client (%s) and firewall-cmd is not "
                "installed" % exc
            )
            return result
    except Exception as exc:  # FirewallError, DBusException: firewalld cannot be reached
        result["error"] = "cannot reach firewalld over D-Bus: %s" % exc
        return result
    try:
        if client is not None:
            info = zones_from_client(client, version)
            read, parse = client_service_reader(client), _from_pair
        else:
            info = zones_from_firewall_cmd(run, firewall_cmd, errors)
            read, parse = firewall_cmd_service_reader(run, firewall_cmd), parse_service
        if info is None:
            result["error"] = "; ".join(errors)
            return result
        result.update(info=info, default_zone=info["default_zone"])
        services, unknown = resolve_services(used_services(info), read, parse)
        result.update(services=services, unknown_services=unknown)
    except Exception as exc:  # a D-Bus or firewall-cmd failure part way: say where
        result["error"] = "reading firewalld failed: %s" % (str(exc) or type(exc).__name__)
    return result
