# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The state of the units the plan depends on (firewalls, NFS, container engines), from one
``systemctl show``."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test boilerplate

from ansible_collections.portguard.hardening.plugins.module_utils._systemd_sockets import (
    SystemdQueryError,
)
from ansible_collections.portguard.hardening.plugins.module_utils._systemd_units import (
    query_units,
)

HOST_UNITS = (
    "firewalld.service",
    "ufw.service",
    "nftables.service",
    "netfilter-persistent.service",
    "iptables.service",
    "ip6tables.service",
    "nfs-server.service",
    "nfs-kernel-server.service",
    "rpcbind.service",
    "rpcbind.socket",
    "portguard-nftables.service",
    "docker.service",
    "docker.socket",
    "podman.service",
    "podman.socket",
    "containerd.service",
)
STATE_PROPERTIES = {
    "Id": "id",
    "LoadState": "load_state",
    "ActiveState": "active_state",
    "SubState": "sub_state",
    "UnitFileState": "unit_file_state",
}


def read_units(systemctl, unavailable=None, names=HOST_UNITS):
    """(units, errors): {name: {"id", "load_state", "active_state", "sub_state",
    "unit_file_state"}} for ``names``, asked in one ``systemctl show``.

    ``systemctl`` is run(args) -> (rc, stdout, stderr), or None when the host has no systemd,
    then ``unavailable`` says why.  A unit that is not installed comes back with load_state
    "not-found"; an alias with the id of the unit it names.  Without systemd, or when systemctl
    fails, units is {} and errors says why.
    """
    if systemctl is None:
        return {}, ["units not read: %s" % (unavailable or "no systemctl")]
    try:
        return query_units(systemctl, names, STATE_PROPERTIES), []
    except SystemdQueryError as exc:
        return {}, ["units not read: %s" % exc]
