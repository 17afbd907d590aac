# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the role must know about a host besides its sockets: management connection, NFS use,
firewalld; describe_host() turns what the role read into the policy engine's context."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections.abc import Mapping

from ansible_collections.portguard.hardening.plugins.module_utils._firewalld import firewall_view
from ansible_collections.portguard.hardening.plugins.module_utils._unit_names import (
    unit_name_problem,
)
from ansible_collections.portguard.hardening.plugins.module_utils._values import (
    PolicyError,
    is_list,
    is_name,
    show,
)

SSH_CONNECTIONS = (
    "ssh",
    "smart",
    "paramiko",
    "paramiko_ssh",
    "ansible.builtin.ssh",
    "ansible.builtin.paramiko_ssh",
)
NFS_FSTYPES = ("nfs", "nfs4")
NFS_SERVER_UNITS = ("nfs-server.service", "nfs-kernel-server.service")


def _port_item(value, field):
    """`22`, `"22"` or `"22/tcp"` -> {"port": 22, "protocol": "tcp"}."""
    text = str(value)
    port, _slash, protocol = text.partition("/")
    protocol = protocol or "tcp"
    if isinstance(value, bool) or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(
            "%s: %s is not a port (1-65535, optionally /tcp or /udp)" % (field, show(value))
        )
    if protocol not in ("tcp", "udp"):
        raise ValueError("%s: %s has an unknown protocol (tcp or udp)" % (field, show(value)))
    return {"port": int(port), "protocol": protocol}


def management_ports(
    connection, ssh_connection=None, ansible_port=None, extra=None, field="management_ports"
):
    """Ports that carry the management connection, plus the ones the user names.

    ``ssh_connection`` is the remote's SSH_CONNECTION ("client port server port"): the port the
    connection really reached, whatever ssh_config or a jump host did. ``ansible_port`` is the
    fallback for SSH connections without it.  ``extra`` items are named ``field[N]`` in errors.
    Raises PolicyError (a ValueError) listing every port that is not one.
    """
    ports, errors = [], []
    fields = (ssh_connection or "").split()
    candidates = []
    if len(fields) == 4 and fields[3].isdigit():
        ports.append({"port": int(fields[3]), "protocol": "tcp"})
    elif (connection or "") in SSH_CONNECTIONS:
        candidates.append((ansible_port or 22, "ansible_port"))
    candidates.extend((item, "%s[%d]" % (field, i)) for i, item in enumerate(extra or []))
    for value, label in candidates:
        try:
            ports.append(_port_item(value, label))
        except ValueError as exc:
            errors.append(str(exc))
    if errors:
        raise PolicyError(errors)
    unique = []
    for item in ports:
        if item not in unique:
            unique.append(item)
    return unique


def nfs_usage(services, exports_text="", mounts_text=""):
    """Whether the host uses NFS, and why: a running NFS server, exports, or NFS mounts."""
    reasons = []
    services = services or {}
    for unit in NFS_SERVER_UNITS:
        if (services.get(unit) or {}).get("state") == "running":
            reasons.append("%s is running" % unit)
    exports = [
        line.split()[0]
        # exports(5): a line ending in a backslash continues on the next one.
        for line in (exports_text or "").replace("\\\n", " ").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if exports:
        reasons.append("/etc/exports exports %s" % ", ".join(exports))
    mounts = [
        fields[1]
        for fields in (line.split() for line in (mounts_text or "").splitlines())
        if len(fields) > 2 and fields[2] in NFS_FSTYPES
    ]
    if mounts:
        reasons.append("NFS mounts: %s" % ", ".join(mounts))
    return {"in_use": bool(reasons), "reason": "; ".join(reasons) or None}


FIREWALLD_STATES = ("absent", "running", "stopped")
# What describe_host() reads, with the value a missing or null one takes.
READS = {
    "connection": None,
    "ssh_connection": "",
    "ansible_port": 22,
    "management_ports": [],
    "management_units": [],
    "firewalld_state": None,
    "firewalld_info": None,
    "firewalld_services": {},
    "services": {},
    "exports": "",
    "mounts": "",
    "socket_units": [],
}
REQUIRED = {
    "connection": "the name of the connection plugin, ansible_connection",
    "firewalld_state": "absent, running or stopped",
}
_ZONE_LISTS = ("interfaces", "ports", "rich_rules", "services", "sources")


def _text_problems(reads):
    problems = []
    if reads["connection"] is not None and not is_name(reads["connection"]):
        problems.append(
            "connection: expected the name of the connection plugin (ansible_connection), got %s"
            % show(reads["connection"])
        )
    for key in ("ssh_connection", "exports", "mounts"):
        if not isinstance(reads[key], str):
            problems.append("%s: expected a string, got %s" % (key, show(reads[key])))
    return problems


def _list_problems(reads):
    problems = []
    for key in ("management_ports", "management_units", "socket_units"):
        if not is_list(reads[key]):
            problems.append("%s: expected a list, got %s" % (key, show(reads[key])))
    if is_list(reads["management_units"]):
        for index, unit in enumerate(reads["management_units"]):
            if not is_name(unit):
                problems.append(
                    "management_units[%d]: expected a unit name, got %s" % (index, show(unit))
                )
            elif unit_name_problem(unit):
                # Matched against the system units PID 1 confirmed: a name systemd cannot
                # have would protect nothing.
                problems.append(
                    "management_units[%d]: %s is not a systemd unit name: it %s (write the "
                    "system unit, such as ssh.service)"
                    % (index, show(unit), unit_name_problem(unit))
                )
    if is_list(reads["socket_units"]):
        for index, unit in enumerate(reads["socket_units"]):
            if not isinstance(unit, Mapping) or not is_name(unit.get("unit")):
                problems.append(
                    "socket_units[%d]: expected a mapping with a unit name "
                    "(listening_sockets_meta.systemd.socket_units), got %s" % (index, show(unit))
                )
    return problems


def _mapping_of_mappings_problems(value, field, what):
    if not isinstance(value, Mapping):
        return ["%s: expected %s, got %s" % (field, what, show(value))]
    return [
        "%s[%s]: expected a mapping, got %s" % (field, show(name), show(entry))
        for name, entry in value.items()
        if not isinstance(entry, Mapping)
    ]


def _firewalld_info_problems(state, info):
    if state != "running":
        return []
    # Without the zones of a running firewalld every port would look closed.
    if info is None:
        return [
            "firewalld_info is required when firewalld_state is running "
            "(firewalld_info of ansible.posix.firewalld_info)"
        ]
    if not isinstance(info, Mapping):
        return ["firewalld_info: expected a mapping, got %s" % show(info)]
    zones = info.get("zones") or {}
    problems = _mapping_of_mappings_problems(
        zones, "firewalld_info.zones", "a mapping of zone names to zones"
    )
    for name, zone in zones.items() if not problems else ():
        for key in _ZONE_LISTS:
            if zone.get(key) is not None and not is_list(zone[key]):
                problems.append(
                    "firewalld_info.zones[%s].%s: expected a list, got %s"
                    % (show(name), key, show(zone[key]))
                )
    return problems


def _firewalld_problems(reads):
    state = reads["firewalld_state"]
    problems = []
    if state is not None and state not in FIREWALLD_STATES:
        problems.append(
            "firewalld_state: expected one of %s, got %s"
            % (", ".join(FIREWALLD_STATES), show(state))
        )
    problems.extend(_firewalld_info_problems(state, reads["firewalld_info"]))
    services = reads["firewalld_services"]
    problems.extend(
        _mapping_of_mappings_problems(
            services, "firewalld_services", "services of portguard.hardening.firewalld_services"
        )
    )
    if isinstance(services, Mapping):
        for name, service in services.items():
            if isinstance(service, Mapping) and not is_list(service.get("all_ports")):
                problems.append(
                    "firewalld_services[%s].all_ports: expected a list, got %s"
                    % (show(name), show(service.get("all_ports")))
                )
    return problems


def service_ports(services):
    """{service: [every port it opens]} from firewalld_services' `services`."""
    return dict((name, list(s["all_ports"])) for name, s in (services or {}).items())


def describe_host(reads):
    """The policy engine's context for a host, from what the role read on it.

    ``reads`` maps the keys of READS to: the connection plugin's name, the remote's
    SSH_CONNECTION, ansible_port, the user's extra management ports and units, firewalld's state
    (absent, stopped or running), ansible.posix.firewalld_info's `firewalld_info` and
    firewalld_services' `services` (running only), ansible_facts.services, the text of
    /etc/exports and /proc/mounts, and listening_sockets_meta.systemd.socket_units.  A missing or
    null key takes its READS default.  Returns {management_ports, management_units, nfs_in_use,
    nfs_reason, firewall, socket_units}.  Raises PolicyError listing every problem, each naming
    its key.
    """
    if not isinstance(reads, Mapping):
        raise PolicyError(["expected a mapping of what was read, got %s" % show(reads)])
    unknown = sorted(str(key) for key in reads if key not in READS)
    problems = ["unknown key %s (known: %s)" % (show(k), ", ".join(sorted(READS))) for k in unknown]
    values = dict(READS)
    values.update((k, v) for k, v in reads.items() if k in READS and v is not None)
    problems.extend(
        "%s is required (%s)" % (key, what) for key, what in REQUIRED.items() if values[key] is None
    )
    problems.extend(_text_problems(values))
    problems.extend(_list_problems(values))
    problems.extend(_firewalld_problems(values))
    problems.extend(
        _mapping_of_mappings_problems(values["services"], "services", "ansible_facts.services")
    )
    ports = []
    if is_list(values["management_ports"]) and isinstance(values["ssh_connection"], str):
        try:
            ports = management_ports(
                values["connection"],
                values["ssh_connection"],
                values["ansible_port"],
                values["management_ports"],
            )
        except PolicyError as exc:
            problems.extend(exc.errors)
    if problems:
        raise PolicyError(problems)
    nfs = nfs_usage(values["services"], values["exports"], values["mounts"])
    return {
        "management_ports": ports,
        "management_units": list(values["management_units"]),
        "nfs_in_use": nfs["in_use"],
        "nfs_reason": nfs["reason"],
        "firewall": firewall_view(
            values["firewalld_state"],
            values["firewalld_info"],
            service_ports(values["firewalld_services"]),
        ),
        "socket_units": list(values["socket_units"]),
    }
