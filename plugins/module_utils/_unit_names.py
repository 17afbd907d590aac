# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""systemd unit names: the grammar a name must follow before it reaches systemctl, and what a
system unit's name says about the processes below it (a user manager, a container).

Unit names read from cgroups are chosen by whoever created the cgroup; below a user manager or
a delegated service that is an unprivileged user.  Pure functions over text, for the host
(listening_facts) and the controller (the policy) alike.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test boilerplate

import re

# systemd.unit(5): the unit types.
UNIT_TYPES = (
    "service",
    "socket",
    "target",
    "device",
    "mount",
    "automount",
    "swap",
    "timer",
    "path",
    "slice",
    "scope",
)
# The types whose units get cgroups of their own; slices only structure the tree.
CGROUP_UNIT_SUFFIXES = (".service", ".scope", ".socket", ".mount", ".swap")
# unit_name_is_valid() in systemd's src/basic/unit-name.c: UNIT_NAME_MAX is 256 with the NUL.
UNIT_NAME_MAX = 255
# systemd's VALID_CHARS with "@": ASCII letters and digits, ":", "-", "_", ".", "\".
_STEM = re.compile(r"[A-Za-z0-9:_.\\@-]+\Z")
_USER_MANAGER = re.compile(r"user@([0-9]+)\.service\Z")
# Scopes container engines create, with the container's id: podman, docker, CRI-O, containerd;
# conmon, the monitor of podman and CRI-O, holds the container's published ports.
_ENGINE_SCOPE = re.compile(
    r"(?:libpod|libpod-conmon|docker|crio|crio-conmon|cri-containerd)-([0-9a-f]{12,})\.scope\Z"
)
_NSPAWN_SERVICE = re.compile(r"systemd-nspawn@(.+)\.service\Z")


def unit_name_problem(name):
    """Why ``name`` may not be handed to systemctl as a unit, or None when it may.

    systemd's own grammar for a loaded unit (plain ``foo.service`` or instance
    ``foo@bar.service``, never a template ``foo@.service``): ASCII letters, digits and
    ``:-_.\\@``, a unit type suffix, at most 255 bytes, no leading ``@``.  Instance escapes such
    as ``\\x2d`` are plain characters of the name.  A leading ``-`` is refused as well
    (systemd allows ``-.mount``): systemctl would read ``-H...`` as an option.
    """
    if not isinstance(name, str) or not name:
        return "is empty" if name == "" else "is not a string"
    if len(name.encode("utf-8", "surrogatepass")) > UNIT_NAME_MAX:
        return f"is longer than {UNIT_NAME_MAX} bytes"
    stem, dot, suffix = name.rpartition(".")
    if not dot or not stem:
        return "has no unit type suffix (such as .service or .socket)"
    if suffix not in UNIT_TYPES:
        return f"ends in {suffix!r}, which is not a unit type"
    if not _STEM.match(stem):
        return (
            "has characters systemd does not allow in a unit name (only ASCII letters, digits "
            "and : - _ . \\ @)"
        )
    if stem.startswith("@"):
        return "starts with '@'"
    if stem.find("@") == len(stem) - 1:
        return "is a template, not a unit"
    if stem.startswith("-"):
        return "starts with '-', which systemctl would read as an option"
    return None


def disable_problem(name):
    """Why ``name`` may not be stopped, disabled and masked, or None when it may.

    unit_name_problem(), and only system .service and .socket units: never a user's own
    service manager (``user@UID.service``), whose stop ends every process of that user.
    """
    problem = unit_name_problem(name)
    if problem is None and (is_user_manager(name) or not name.endswith((".service", ".socket"))):
        problem = "is not a system service or socket unit"
    return problem


def is_unit_name(name):
    """True when unit_name_problem() finds nothing: the name may reach systemctl."""
    return unit_name_problem(name) is None


def is_user_manager(unit):
    """True for ``user@UID.service``, the system unit of a user's own service manager."""
    return isinstance(unit, str) and unit.startswith("user@") and unit.endswith(".service")


def user_manager_uid(unit):
    """The uid of the user manager ``user@UID.service``, else None."""
    m = _USER_MANAGER.match(unit or "")
    return int(m.group(1)) if m else None


def container_name(unit, slices=()):
    """The container (or virtual machine) a system unit holds, else None.

    ``libpod-<id>.scope``, ``docker-<id>.scope``, ``crio-<id>.scope``,
    ``cri-containerd-<id>.scope`` and the ``-conmon-`` scopes give the id; a scope in
    ``machine.slice`` (systemd-machined: nspawn, libvirt) its name without ``machine-``;
    ``systemd-nspawn@<name>.service`` the name.
    ``slices`` are the slices above the unit, outermost first.
    """
    m = _ENGINE_SCOPE.match(unit)
    if m:
        return m.group(1)
    if unit.endswith(".scope") and "machine.slice" in slices:
        name = unit[: -len(".scope")]
        return name[len("machine-") :] if name.startswith("machine-") else name
    m = _NSPAWN_SERVICE.match(unit)
    if m:
        return m.group(1)
    return None
