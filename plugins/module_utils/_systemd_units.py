# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ask PID 1 about the units sockets were attributed to, and judge each attribution.

query_units() is the only function that runs anything, through the caller's
run(args) -> (rc, stdout, stderr); only names that pass the unit-name grammar reach it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test boilerplate

import re

from ansible_collections.portguard.hardening.plugins.module_utils._systemd_sockets import (
    SystemdQueryError,
    show_command,
)
from ansible_collections.portguard.hardening.plugins.module_utils._unit_names import (
    unit_name_problem,
)

# What unit_verdict() needs: systemd's property name -> the key it is reported under.
UNIT_PROPERTIES = {"Id": "id", "LoadState": "load_state", "ControlGroup": "control_group"}
# Names per systemctl call: far below any argument-size limit.
CHUNK = 200


def parse_unit_states(text, names, properties=None):
    """{name: {key: value}} from ``systemctl show`` of ``names``.

    ``properties`` maps each property asked for to its key (UNIT_PROPERTIES by default:
    "id", "load_state", "control_group"); a property missing from a block is None.
    systemctl prints one block per name, in the order given, separated by blank lines; a
    name systemd does not know still gets its block (LoadState=not-found).  Raises
    SystemdQueryError when the blocks do not pair up with the names.
    """
    keys = UNIT_PROPERTIES if properties is None else properties
    blocks = [b for b in re.split(r"\n\s*\n", text.strip()) if b.strip()]
    if len(blocks) != len(names):
        raise SystemdQueryError(
            f"systemctl show described {len(blocks)} unit(s) for {len(names)} name(s)"
        )
    states = {}
    for name, block in zip(names, blocks):
        state = dict.fromkeys(keys.values())
        for line in block.splitlines():
            key, sep, value = line.partition("=")
            if sep and key in keys:
                state[keys[key]] = value
        states[name] = state
    return states


def query_units(run, names, properties=None):
    """What PID 1 says about each of ``names``, by parse_unit_states() with ``properties``.

    ``names`` must all pass unit_name_problem(); they are passed as arguments after ``--``,
    never through a shell.  Raises SystemdQueryError when systemctl fails.
    """
    names = list(names)
    for name in names:
        problem = unit_name_problem(name)
        if problem:
            raise ValueError(f"refusing to pass {name!r} to systemctl: it {problem}")
    states = {}
    for start in range(0, len(names), CHUNK):
        chunk = names[start : start + CHUNK]
        keys = UNIT_PROPERTIES if properties is None else properties
        rc, out, err = run(show_command(list(keys), chunk))
        if rc != 0:
            raise SystemdQueryError(f"systemctl show failed (rc={rc}): {err.strip()}")
        states.update(parse_unit_states(out, chunk, keys))
    return states


def _same_cgroup(control_group, owner):
    # systemd reports the path from the top of the hierarchy, root prefix included.
    relative = owner["unit_cgroup"]
    root = owner["cgroup_root"] or ""
    return control_group in (root + relative, relative)


def unit_verdict(owner, states, unavailable=None):
    """(verified, problem) for the unit of an owner (owner_from_cgroup or owner_of_trigger).

    Verified when the name follows systemd's grammar, PID 1 has it loaded under that very Id
    (not as an alias) and, for a unit read from a cgroup, PID 1 gives the unit that cgroup.
    ``states`` is query_units() output, or None when systemd could not be asked, then
    ``unavailable`` says why.  problem is None when verified.
    """
    unit = owner["unit"]
    problem = unit_name_problem(unit)
    if problem:
        return False, f"not a systemd unit name: it {problem}"
    if states is None:
        return False, f"systemd was not asked: {unavailable or 'unknown reason'}"
    state = states.get(unit)
    if state is None:
        return False, "systemd was not asked about it"
    if state["load_state"] != "loaded":
        return False, "systemd has not loaded it (LoadState={})".format(state["load_state"] or "")
    if state["id"] != unit:
        return False, "systemd knows it as {}".format(state["id"] or "nothing")
    if owner["unit_cgroup"] is not None and not _same_cgroup(state["control_group"], owner):
        return False, "systemd gives it another cgroup (ControlGroup={})".format(
            state["control_group"] or ""
        )
    return True, None
