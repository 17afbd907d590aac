# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the role must know about a host besides its sockets: management connection, NFS use."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

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
        raise ValueError("%s: %r is not a port (1-65535, optionally /tcp or /udp)" % (field, value))
    if protocol not in ("tcp", "udp"):
        raise ValueError("%s: %r has an unknown protocol (tcp or udp)" % (field, value))
    return {"port": int(port), "protocol": protocol}


def management_ports(connection, ssh_connection=None, ansible_port=None, extra=None):
    """Ports that carry the management connection, plus the ones the user names.

    ``ssh_connection`` is the remote's SSH_CONNECTION ("client port server port"): the port the
    connection really reached, whatever ssh_config or a jump host did. ``ansible_port`` is the
    fallback for SSH connections without it.
    """
    ports = []
    fields = (ssh_connection or "").split()
    if len(fields) == 4 and fields[3].isdigit():
        ports.append({"port": int(fields[3]), "protocol": "tcp"})
    elif (connection or "") in SSH_CONNECTIONS:
        ports.append(_port_item(ansible_port or 22, "ansible_port"))
    for index, item in enumerate(extra or []):
        ports.append(_port_item(item, "exposed_ports_management_ports[%d]" % index))
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
