# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The approved baseline of a host's listeners, recorded before it goes live.

Pure functions over plain data.  A baseline document is
{"version": 1, "host": str, "recorded_at": str, "listeners": [entry, ...]}
where an entry is {"protocol", "port", "scope", "unit"}: the family and the
address are left out, so the IPv4 and IPv6 sockets of a service are one entry.
_policy.evaluate() judges exposed sockets against the entries.

Public: baseline_entries, baseline_document, validate_baseline,
validate_listeners, baseline_index, in_baseline, missing_from and BaselineError.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test boilerplate

import datetime
from collections.abc import Mapping

from ansible_collections.portguard.hardening.plugins.module_utils._values import (
    PolicyError,
    is_list,
    is_name,
    is_port,
    show,
)

VERSION = 1
PROTOCOLS = ("tcp", "udp")
# address_scope() of module_utils/_sockets.py.
SCOPES = ("any", "loopback", "link_local", "private", "public")
DOCUMENT_KEYS = ("host", "listeners", "recorded_at", "version")
ENTRY_KEYS = ("port", "protocol", "scope", "unit")


class BaselineError(PolicyError):
    """The baseline or the data it is built from is invalid; ``errors`` lists every problem."""


def _field_problems(item, label):
    """Problems with the protocol, port, scope and unit present in ``item``."""
    problems = []
    if "protocol" in item and item["protocol"] not in PROTOCOLS:
        problems.append(
            "{}.protocol {} is not one of {}".format(
                label, show(item["protocol"]), ", ".join(PROTOCOLS)
            )
        )
    if "port" in item and not is_port(item["port"]):
        problems.append(f"{label}.port {show(item['port'])} is not a port (an integer 1-65535)")
    if "scope" in item and item["scope"] not in SCOPES:
        problems.append(
            "{}.scope {} is not one of {}".format(label, show(item["scope"]), ", ".join(SCOPES))
        )
    unit = item.get("unit")
    if unit is not None and not is_name(unit):
        problems.append(f"{label}.unit must be a unit name or null, got {show(unit)}")
    return problems


def _missing(item, keys, label):
    # A missing unit must not read as "any unit": the file says null for none.
    hints = {"unit": " (write unit: null for a listener without a systemd unit)"}
    return [f"{label}: missing {show(key)}{hints.get(key, '')}" for key in keys if key not in item]


def _socket_problems(sockets):
    if not is_list(sockets):
        return [f"sockets: expected a list of listening sockets, got {show(sockets)}"]
    problems = []
    for index, sock in enumerate(sockets):
        label = f"sockets[{index}]"
        if not isinstance(sock, Mapping):
            problems.append(f"{label}: expected a mapping, got {show(sock)}")
            continue
        problems.extend(_missing(sock, ("protocol", "port", "scope"), label))
        problems.extend(_field_problems(sock, label))
    return problems


def _entry(sock):
    return {
        "protocol": sock["protocol"],
        "port": sock["port"],
        "scope": sock["scope"],
        "unit": sock.get("unit"),
    }


def _entry_key(entry):
    unit = entry.get("unit")
    return (entry["port"], entry["protocol"], entry["scope"], unit is not None, unit or "")


def _sorted_entries(entries):
    unique = {}
    for entry in entries:
        unique.setdefault(_entry_key(entry), _entry(entry))
    return [unique[key] for key in sorted(unique)]


def baseline_entries(sockets):
    """The approved set for ``sockets`` (listening_facts'), sorted and de-duplicated.

    Every socket counts, loopback ones included, so that the baseline describes
    the host completely; the scope says which entries are exposed.  Raises
    BaselineError listing every socket that cannot make an entry.
    """
    problems = _socket_problems(sockets)
    if problems:
        raise BaselineError(problems)
    return _sorted_entries(sockets)


def baseline_document(host, sockets, recorded_at):
    """The baseline file of one host, as the baseline playbook writes it in YAML.

    ``recorded_at`` is a time stamp string (ISO 8601 in UTC is what the
    playbook passes).  Raises BaselineError listing every problem.
    """
    problems = _socket_problems(sockets)
    if not is_name(host):
        problems.append(f"host must be a non-empty string, got {show(host)}")
    if not is_name(recorded_at):
        problems.append(f"recorded_at must be a non-empty string, got {show(recorded_at)}")
    if problems:
        raise BaselineError(problems)
    return {
        "version": VERSION,
        "host": str(host),
        "recorded_at": str(recorded_at),
        "listeners": _sorted_entries(sockets),
    }


def validate_listeners(listeners, where="listeners"):
    """Every problem with a list of baseline entries, as messages; [] when valid."""
    if not is_list(listeners):
        return [f"{where} must be a list of listeners, got {show(listeners)}"]
    problems = []
    for index, entry in enumerate(listeners):
        label = f"{where}[{index}]"
        if not isinstance(entry, Mapping):
            problems.append(
                f"{label} must be a mapping with protocol, port, scope and unit, got {show(entry)}"
            )
            continue
        problems.extend(_unknown_keys(entry, ENTRY_KEYS, label))
        problems.extend(_missing(entry, ("protocol", "port", "scope", "unit"), label))
        problems.extend(_field_problems(entry, label))
    return problems


def _unknown_keys(mapping, known, label):
    return [
        "{}: unknown key {} (known: {})".format(label, show(key), ", ".join(known))
        for key in sorted(mapping, key=str)
        if key not in known
    ]


def validate_baseline(doc, where="baseline"):
    """Every problem with a baseline document, as messages naming the field; [] when valid.

    version, host and listeners are required; recorded_at may be missing or
    null, and may be a date when a hand-edited file leaves it unquoted.
    """
    if not isinstance(doc, Mapping):
        return [f"{where} must be a mapping with version, host and listeners, got {show(doc)}"]
    problems = _unknown_keys(doc, DOCUMENT_KEYS, where)
    problems.extend(_missing(doc, ("version", "host", "listeners"), where))
    version = doc.get("version", VERSION)
    if isinstance(version, bool) or not isinstance(version, int) or version != VERSION:
        problems.append(
            f"{where}.version must be {VERSION} (the only format this collection reads), "
            f"got {show(version)}"
        )
    if "host" in doc and not is_name(doc["host"]):
        problems.append(f"{where}.host must be a non-empty string, got {show(doc['host'])}")
    recorded_at = doc.get("recorded_at")
    if recorded_at is not None and not (
        is_name(recorded_at) or isinstance(recorded_at, datetime.date)
    ):
        problems.append(
            f"{where}.recorded_at must be a time stamp or null, got {show(recorded_at)}"
        )
    if "listeners" in doc:
        problems.extend(validate_listeners(doc["listeners"], where + ".listeners"))
    return problems


def _match_key(item):
    """What a socket and an entry must share to match, or None when it cannot match anything."""
    key = (item.get("protocol"), item.get("port"), item.get("scope"), item.get("unit"))
    # Only plain scalars can be equal to a validated entry's; a list would not even hash.
    if all(v is None or isinstance(v, (str, int)) for v in key):
        return key
    return None


def baseline_index(entries):
    """The entries as a set of match keys: in_baseline() then costs one look-up per socket."""
    return frozenset(_match_key(entry) for entry in entries) - {None}


def in_baseline(sock, index):
    """Whether a socket matches an entry: same protocol, port, scope and unit (None only None).

    ``index`` is baseline_index() of the entries; matching a host's sockets against its
    baseline is then linear, not sockets x entries.
    """
    key = _match_key(sock)
    return key is not None and key in index


def missing_from(entries, sockets):
    """The entries no socket matches now, sorted and de-duplicated: listeners that went away."""
    present = baseline_index(sockets)
    return [entry for entry in _sorted_entries(entries) if _match_key(entry) not in present]
