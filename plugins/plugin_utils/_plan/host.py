# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the policy reads about a host, from one exposed_ports_read result."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections.abc import Mapping

from ansible_collections.portguard.hardening.plugins.module_utils._values import (
    PolicyError,
    is_list,
    show,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._firewall.detect import (
    unit_state,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._policy.hoststate import (
    describe_host,
)

READ_VERSION = 1
# firewalld's state in the words of the reports (and of describe_host).
FIREWALLD_STATE = {
    "active": "running",
    "inactive": "stopped",
    "masked": "stopped",
    "absent": "absent",
}


def split_read(read, where="read"):
    """(sockets, meta, host) of a host read; PolicyError naming each missing or wrong part."""
    if not isinstance(read, Mapping):
        raise PolicyError([f"{where}: expected the result of exposed_ports_read, got {show(read)}"])
    errors = []
    sockets = read.get("listening_sockets")
    meta = read.get("listening_sockets_meta")
    host = read.get("host")
    if not is_list(sockets):
        errors.append(f"{where}.listening_sockets: expected a list, got {show(sockets)}")
    if not isinstance(meta, Mapping):
        errors.append(f"{where}.listening_sockets_meta: expected a mapping, got {show(meta)}")
    if not isinstance(host, Mapping):
        errors.append(f"{where}.host: expected a mapping, got {show(host)}")
    elif host.get("version") != READ_VERSION:
        errors.append(
            f"{where}.host.version: expected {READ_VERSION}, got {show(host.get('version'))} "
            "(the module and the action plugin come from different releases)"
        )
    if errors:
        raise PolicyError(errors)
    return list(sockets), meta, host


def _services(host):
    """The NFS server units in the shape of ansible_facts.services, for nfs_usage()."""
    return {
        name: {"state": "running" if unit_state(host, name) == "active" else "stopped"}
        for name in (host.get("units") or {})
    }


def _text(host, key):
    value = host.get(key)
    return value if isinstance(value, str) else ""


def context(host, meta, connection, ansible_port, management_ports, management_units):
    """(describe_host() context, notes) for the policy, from the host read."""
    notes = []
    state = FIREWALLD_STATE[unit_state(host, "firewalld.service")]
    firewalld = host.get("firewalld") if isinstance(host.get("firewalld"), Mapping) else {}
    info = firewalld.get("info")
    if state == "running" and not isinstance(info, Mapping):
        notes.append(
            "firewalld runs but its zones could not be read ({}): its configuration explains "
            "nothing; the kernel's ruleset decides".format(firewalld.get("error") or "no zones")
        )
        info = {"zones": {}}
    systemd = meta.get("systemd") if isinstance(meta.get("systemd"), Mapping) else {}
    described = describe_host(
        {
            "connection": connection or "ssh",
            "ssh_connection": _text(host, "ssh_connection"),
            "ansible_port": ansible_port,
            "management_ports": management_ports,
            "management_units": management_units,
            "firewalld_state": state,
            "firewalld_info": info if state == "running" else None,
            "firewalld_services": firewalld.get("services") if state == "running" else None,
            "services": _services(host),
            "exports": _text(host, "exports"),
            "mounts": _text(host, "mounts"),
            "socket_units": systemd.get("socket_units") or [],
        }
    )
    if state == "running" and info is not None and "default_zone" not in info:
        described["firewall"]["default_zone"] = firewalld.get("default_zone")
    return described, notes
