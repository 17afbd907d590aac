# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The listening sockets of the host with their owners: what listening_facts and
exposed_ports_read report as ``listening_sockets`` and ``listening_sockets_meta``.

gather() reads the kernel and procfs; systemd is asked only through the ``systemctl``
callable it is given, which systemctl_runner() makes from an AnsibleModule.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test boilerplate

import collections
import functools
import ipaddress
import os
import socket

from ansible_collections.portguard.hardening.plugins.module_utils._owners import (
    CMDLINE_MAX,
    choose_owner,
    lookup_user,
    map_socket_inodes,
    read_cgroup_roots,
    read_process,
)
from ansible_collections.portguard.hardening.plugins.module_utils._sockets import (
    FAMILIES,
    PROTOCOLS,
    SockDiagError,
    address_scope,
    dump_sock_diag,
    parse_proc_net,
    parse_sock_diag,
)
from ansible_collections.portguard.hardening.plugins.module_utils._systemd_sockets import (
    SystemdQueryError,
    activated_by,
    query_socket_units,
    summarize_units,
    triggered_service,
    units_by_port,
)
from ansible_collections.portguard.hardening.plugins.module_utils._systemd_units import (
    query_units,
    unit_verdict,
)
from ansible_collections.portguard.hardening.plugins.module_utils._unit_names import is_unit_name

ARGUMENT_SPEC = dict(
    protocols=dict(type="list", elements="str", choices=["tcp", "udp"], default=["tcp", "udp"]),
    families=dict(type="list", elements="str", choices=["ipv4", "ipv6"], default=["ipv4", "ipv6"]),
    include_loopback=dict(type="bool", default=True),
    source=dict(type="str", choices=["auto", "sock_diag", "proc"], default="auto"),
    proc_path=dict(type="path", default="/proc"),
    cmdline_max=dict(type="int", default=CMDLINE_MAX),
)
# sd_booted(3): this directory exists only when systemd is the running init.
SYSTEMD_BOOTED_MARKER = "/run/systemd/system"
SYSTEMCTL_ENV = {"LC_ALL": "C", "SYSTEMD_COLORS": "0", "SYSTEMD_PAGER": ""}
_PROC_TABLES = {
    ("tcp", "ipv4"): "tcp",
    ("tcp", "ipv6"): "tcp6",
    ("udp", "ipv4"): "udp",
    ("udp", "ipv6"): "udp6",
}
_ORDER = {"tcp": 0, "udp": 1, "ipv4": 0, "ipv6": 1}
# The values listening_sockets_meta.counts tallies, by entry field.
_COUNTED = {
    "protocol": ("tcp", "udp"),
    "family": ("ipv4", "ipv6"),
    "holders": ("process", "kernel", "unknown"),
}


# The unit fields of a socket no unit owns.
_NO_OWNER = {
    "unit": None,
    "unit_verified": False,
    "unit_problem": None,
    "user_manager": None,
    "user_unit": None,
    "container": None,
    "inner_cgroup": None,
}


class GatherError(Exception):
    """Gathering cannot go on (the requested source failed, proc_path is unusable)."""


def _interface_name(index):
    try:
        return socket.if_indextoname(index)
    except (OSError, ValueError, OverflowError):
        return None


def _combos(protocols, families):
    return [
        (p, f) for p in ("tcp", "udp") if p in protocols for f in ("ipv4", "ipv6") if f in families
    ]


def _from_sock_diag(combos):
    sockets = []
    for protocol, family in combos:
        data = dump_sock_diag(FAMILIES[family], PROTOCOLS[protocol])
        sockets.extend(parse_sock_diag(data, protocol))
    return sockets


def _from_proc(proc_path, combos, unreadable):
    sockets = []
    for protocol, family in combos:
        path = os.path.join(proc_path, "net", _PROC_TABLES[(protocol, family)])
        try:
            with open(path) as f:
                text = f.read()
        except OSError as exc:
            # tcp6/udp6 are absent when IPv6 is disabled: nothing to report there.
            unreadable.append(f"{path}: {exc.strerror or exc}")
            continue
        sockets.extend(parse_proc_net(text, protocol, family))
    return sockets


def _read_bindv6only(proc_path, unreadable):
    path = os.path.join(proc_path, "sys", "net", "ipv6", "bindv6only")
    try:
        with open(path) as f:
            return f.read().strip() == "1"
    except OSError as exc:
        unreadable.append(f"{path}: {exc.strerror or exc}")
        return False  # the kernel default


@functools.lru_cache(maxsize=4096)
def _address_number(address):
    return int(ipaddress.ip_address(address))


def _sort_key(entry):
    return (
        _ORDER[entry["protocol"]],
        _ORDER[entry["family"]],
        entry["port"],
        _address_number(entry["address"]),
        entry["interface"] or "",
        entry["inode"],
    )


def _public_process(p):
    return {
        "pid": p["pid"],
        "name": p["name"],
        "name_raw": p["name_raw"],
        "exe": p["exe"],
        "exe_raw": p["exe_raw"],
        "cmdline": p["cmdline"],
        "cmdline_raw": p["cmdline_raw"],
        "cmdline_truncated": p["cmdline_truncated"],
        "user": p["user"],
        "uid": p["uid"],
    }


def _cgroup_roots(proc_path, holders, warnings):
    """PID 1's cgroup roots, and the one reported in the facts' meta (None when unknown)."""
    if not holders:
        return (None, None), None  # no process to attribute
    path = os.path.join(proc_path, "1", "cgroup")
    try:
        roots = read_cgroup_roots(proc_path)
    except OSError as exc:
        warnings.append(
            f"cannot read {path} ({exc.strerror or exc}): without PID 1's cgroup no socket is "
            "attributed to a systemd unit"
        )
        return (None, None), None
    root = roots[0] if roots[0] is not None else roots[1]
    return roots, None if root is None else root or "/"


def _unit_fields(owners, systemctl, systemd, warnings):
    """{id(owner): the socket fields of its unit}, each unit checked with PID 1 first.

    Sockets share the owner objects of their holders, so the work is done once per owner.
    """
    distinct = dict((id(o), o) for o in owners if o is not None)
    names = sorted(set(o["unit"] for o in distinct.values() if is_unit_name(o["unit"])))
    states = None
    unavailable = systemd["reason"]
    if systemctl is not None:
        states = {}
        if names:
            try:
                states = query_units(systemctl, names)
            except SystemdQueryError as exc:
                states = None
                unavailable = str(exc)
                warnings.append(
                    f"cannot ask systemd about the sockets' units, none is confirmed: {exc}"
                )
    systemd["units"] = [
        dict(unit=name, **states[name]) for name in names if states and name in states
    ]
    fields = {}
    for key, owner in distinct.items():
        verified, problem = unit_verdict(owner, states, unavailable)
        fields[key] = {
            "unit": owner["unit"],
            "unit_verified": verified,
            "unit_problem": problem,
            "user_manager": owner["user_manager"],
            "user_unit": owner["user_unit"],
            "container": owner["container"],
            "inner_cgroup": owner["inner_cgroup"],
        }
    return fields


def gather(
    proc_path="/proc",
    source="auto",
    protocols=("tcp", "udp"),
    families=("ipv4", "ipv6"),
    include_loopback=True,
    systemctl=None,
    systemd_unavailable="systemctl was not given",
    interface_name=_interface_name,
    user_lookup=lookup_user,
    cmdline_max=CMDLINE_MAX,
):
    """Collect the listening sockets.  Returns (facts dict, list of warnings).

    ``systemctl`` is a callable run(args) -> (rc, out, err) or None, in which case
    ``systemd_unavailable`` says why.  Raises GatherError when the requested
    source cannot be read.
    """
    warnings = []
    unreadable = []
    combos = _combos(protocols, families)

    sock_diag_error = None
    used = source
    raw = None
    if source in ("auto", "sock_diag"):
        try:
            raw = _from_sock_diag(combos)
            used = "sock_diag"
        except (SockDiagError, OSError) as exc:
            if source == "sock_diag":
                raise GatherError(f"sock_diag failed: {exc}") from exc
            sock_diag_error = str(exc)
            used = "proc"
            warnings.append(
                f"sock_diag failed ({exc}); read /proc/net instead, which lacks "
                "bound interfaces and IPV6_V6ONLY"
            )
    if raw is None:
        raw = _from_proc(proc_path, combos, unreadable)

    if not include_loopback:
        raw = [s for s in raw if address_scope(s["address"]) != "loopback"]

    bindv6only = None
    guessed = 0
    for sock in raw:
        if sock["family"] == "ipv6" and sock["v6only"] is None:
            if bindv6only is None:
                bindv6only = _read_bindv6only(proc_path, unreadable)
            sock["v6only"] = bindv6only
            guessed += 1

    try:
        walk = map_socket_inodes(proc_path, [s["inode"] for s in raw])
    except OSError as exc:
        raise GatherError(f"cannot list processes in {proc_path}: {exc}") from exc
    roots, cgroup_root = _cgroup_roots(proc_path, walk["holders"], warnings)
    processes = {}
    for pids in walk["holders"].values():
        for pid in pids:
            if pid not in processes:
                processes[pid] = read_process(proc_path, pid, user_lookup, cmdline_max, roots)
    if walk["unreadable_pids"]:
        count = len(walk["unreadable_pids"])
        shown = ", ".join(str(p) for p in walk["unreadable_pids"][:10])
        more = "" if count <= 10 else ", ..."
        warnings.append(
            f"could not read the open files of {count} process(es) (pid {shown}{more}); "
            "sockets only they hold are reported with holders 'unknown'"
        )

    units = []
    systemd = {
        "available": False,
        "reason": systemd_unavailable,
        "socket_units": [],
        "cgroup_root": cgroup_root,
        "units": [],
    }
    if systemctl is not None:
        try:
            units = query_socket_units(systemctl)
            systemd.update(available=True, reason=None, socket_units=summarize_units(units))
        except SystemdQueryError as exc:
            systemd["reason"] = str(exc)
            warnings.append(f"cannot list systemd socket units, activated_by is empty: {exc}")

    # Work done once per distinct address, process or interface, not once per socket.
    scope_of = functools.lru_cache(maxsize=None)(address_scope)
    interface_of = functools.lru_cache(maxsize=None)(interface_name)
    public = dict((pid, _public_process(p)) for pid, p in processes.items() if p)
    owner_of_holders = {}
    listening_units = units_by_port(units)
    # The visible holders of each socket, as a tuple that keys the unit cache below.
    holders_of = dict(
        (inode, tuple(p for p in pids if processes.get(p)))
        for inode, pids in walk["holders"].items()
    )
    judged = []
    for sock in raw:
        pids = holders_of.get(sock["inode"], ())
        index = sock["interface_index"]
        interface = interface_of(index) if index else None
        candidates = listening_units.get((sock["protocol"], sock["port"]))
        if candidates:
            holders = [processes[p] for p in pids]
            view = dict(sock, interface=interface)
            found = activated_by(view, candidates)
            owner = choose_owner(holders, triggered_service(found, candidates))
            socket_units = activated_by(view, candidates, owner and owner["unit"])
        else:
            # No socket unit listens on this port: the owner depends on the holders alone.
            if pids not in owner_of_holders:
                owner_of_holders[pids] = choose_owner([processes[p] for p in pids])
            owner = owner_of_holders[pids]
            socket_units = []
        if pids:
            held = "process"
        elif sock["inode"] == 0:
            held = "kernel"
        else:
            held = "unknown"
        judged.append((sock, pids, interface, held, owner, socket_units))
    # PID 1 is asked about the units once every socket's owner is known.
    fields = _unit_fields(
        [j[4] for j in judged], systemctl if systemd["available"] else None, systemd, warnings
    )
    entries = [
        {
            "protocol": sock["protocol"],
            "family": sock["family"],
            "address": sock["address"],
            "port": sock["port"],
            "interface": interface,
            "scope": scope_of(sock["address"]),
            "v6only": sock["v6only"] if sock["family"] == "ipv6" else None,
            "inode": sock["inode"],
            "uid": sock["uid"],
            "holders": held,
            "processes": [public[p] for p in pids],
            **(_NO_OWNER if owner is None else fields[id(owner)]),
            "activated_by": socket_units,
        }
        for sock, pids, interface, held, owner, socket_units in judged
    ]
    entries.sort(key=_sort_key)

    counts = {"total": len(entries)}
    for key in ("protocol", "family", "holders"):
        tally = collections.Counter(e[key] for e in entries)
        for value in _COUNTED[key]:
            counts[value] = tally[value]
    meta = {
        "source": used,
        "sock_diag_error": sock_diag_error,
        "v6only_guessed": guessed,
        "bindv6only": bindv6only,
        "counts": counts,
        "unreadable_pids": len(walk["unreadable_pids"]),
        "vanished_pids": walk["vanished_pids"],
        "unreadable": unreadable,
        "systemd": systemd,
    }
    return {"listening_sockets": entries, "listening_sockets_meta": meta}, warnings


def systemctl_runner(module):
    """A run(args) for systemd, or (None, reason) when the host has no systemd."""
    if not os.path.isdir(SYSTEMD_BOOTED_MARKER):
        return None, f"{SYSTEMD_BOOTED_MARKER} does not exist (not booted with systemd)"
    path = module.get_bin_path("systemctl")
    if not path:
        return None, "systemctl not found"

    def run(args):
        return module.run_command([path] + list(args), environ_update=SYSTEMCTL_ENV)

    return run, None
