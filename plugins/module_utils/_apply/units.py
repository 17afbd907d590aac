# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The units the policy disables: stopped, disabled and masked, socket units first, with one
``systemctl show`` to read them all and as few systemctl calls as their states allow.

validate() checks the plan's entries before anything else; needs(), commands() and predicted()
are pure and decide from the states read; apply() is the only function that acts, through a
host object (see _apply/host.py: which, is_dir, lexists, readlink, run).

What each unit gets matches what the role's three loops of ansible.builtin.systemd_service
did: stop unless inactive or failed, disable when its UnitFileState is ``enabled``, mask unless
``masked``; a unit whose own file is in /etc/systemd/system cannot be masked (systemd refuses
to replace it) and fails the run after everything else is done, as the mask loop did.

Public: validate, needs, commands, predicted, state_lines, apply, ApplyError, PROPERTIES,
STATE_KEYS, MASK_DIR.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test boilerplate

from collections.abc import Mapping

from ansible_collections.portguard.hardening.plugins.module_utils._apply.host import ApplyError
from ansible_collections.portguard.hardening.plugins.module_utils._systemd_sockets import (
    SystemdQueryError,
)
from ansible_collections.portguard.hardening.plugins.module_utils._systemd_units import (
    query_units,
)
from ansible_collections.portguard.hardening.plugins.module_utils._unit_names import (
    disable_problem,
)
from ansible_collections.portguard.hardening.plugins.module_utils._values import (
    PolicyError,
    is_list,
    show,
)

# systemd's property -> the key the states are returned under.
PROPERTIES = {
    "Id": "id",
    "ActiveState": "active_state",
    "UnitFileState": "unit_file_state",
    "LoadState": "load_state",
}
# The states returned and shown per unit, in this order.
STATE_KEYS = ("active_state", "unit_file_state", "load_state")
# ActiveState values in which nothing of the unit runs: a stop has nothing to do.
STOPPED = ("inactive", "failed")
# The one UnitFileState that `systemctl disable` changes and systemd_service disabled:
# enabled-runtime, indirect, alias, linked and static ones it left alone.
ENABLED = ("enabled",)
MASKED = "masked"
# Where `systemctl mask` puts its link to /dev/null; a file of the unit's own there stops it.
MASK_DIR = "/etc/systemd/system"
DEV_NULL = "/dev/null"
SYSTEMD_BOOTED = "/run/systemd/system"
NO_SYSTEMD = (
    "systemd is not the init system (PID 1) of this host, so its units cannot be stopped, "
    "disabled and masked; nothing was changed"
)
NOT_INSTALLED = "systemctl was not found on this host; nothing was changed"


# ---------------------------------------------------------------------------
# The plan's entries


def _names(value, where, kept, found, errors):
    problem = disable_problem(value)
    if problem:
        errors.append(f"{where}: refusing {show(value)}: it {problem}")
    elif value in kept:
        errors.append(
            f"{where}: {show(value)} is in keep (the units of the management connection), "
            "which are never stopped"
        )
    else:
        found.setdefault(value, where)


def validate(units, keep=()):
    """(names, where) of the units to take down: every socket unit, then every service, each
    once and sorted; ``where`` maps a name to the first field naming it (``units[0].unit``).

    ``units`` are the plan's disable_units entries: ``unit`` and ``socket_units`` are read,
    any other key (rules, ports) is ignored.  Raises PolicyError naming every bad field, or a
    unit ``keep`` lists.
    """
    errors = []
    kept = set()
    if not is_list(keep) or not all(isinstance(k, str) for k in keep):
        errors.append(f"keep: expected a list of unit names, got {show(keep)}")
    else:
        kept = set(keep)
    if not is_list(units):
        raise PolicyError(errors + [f"units: expected a list, got {show(units)}"])
    found = {}
    for index, entry in enumerate(units):
        at = f"units[{index}]"
        if not isinstance(entry, Mapping):
            errors.append(f"{at}: expected a mapping of unit and socket_units, got {show(entry)}")
            continue
        if "unit" in entry:
            _names(entry["unit"], at + ".unit", kept, found, errors)
        else:
            errors.append(f"{at}: missing unit")
        sockets = entry.get("socket_units", [])
        if not is_list(sockets):
            errors.append(f"{at}.socket_units: expected a list of unit names, got {show(sockets)}")
            continue
        for position, name in enumerate(sockets):
            _names(name, f"{at}.socket_units[{position}]", kept, found, errors)
    if errors:
        raise PolicyError(errors)
    sockets = sorted(n for n in found if n.endswith(".socket"))
    services = sorted(n for n in found if not n.endswith(".socket"))
    return sockets + services, found


# ---------------------------------------------------------------------------
# Deciding


def needs(state):
    """What one unit's states (PROPERTIES keys) call for: "stop", "disable", "mask", in order."""
    wanted = []
    if state["active_state"] not in STOPPED:
        wanted.append("stop")
    if state["unit_file_state"] in ENABLED:
        wanted.append("disable")
    if state["unit_file_state"] != MASKED:
        wanted.append("mask")
    return wanted


def commands(systemctl, names, wanted, refused=()):
    """The systemctl argument lists that bring ``names`` (socket units first) down.

    ``wanted`` maps each name to needs(); ``refused`` are names systemd will not mask.  Socket
    units are stopped and disabled in one call, so that no packet starts their service again,
    then the services in another, then everything is masked in a third.  The disables skip
    systemd's reload: the mask's reload serves for all (or one daemon-reload, when nothing is
    left to mask).
    """
    argvs = []
    reload = False
    for group in (
        [n for n in names if n.endswith(".socket")],
        [n for n in names if not n.endswith(".socket")],
    ):
        stop = [n for n in group if "stop" in wanted[n]]
        disable = [n for n in group if "disable" in wanted[n]]
        if disable:
            now = ["--now"] if stop else []
            both = [n for n in group if n in stop or n in disable]
            argvs.append([systemctl, "disable", "--no-reload"] + now + ["--"] + both)
            reload = True
        elif stop:
            argvs.append([systemctl, "stop", "--"] + stop)
    mask = [n for n in names if "mask" in wanted[n] and n not in refused]
    if mask:
        argvs.append([systemctl, "mask", "--"] + mask)
    elif reload:
        argvs.append([systemctl, "daemon-reload"])
    return argvs


def predicted(state, wanted, refused=False):
    """The states of one unit once ``wanted`` (needs()) is done; a refused mask stays undone."""
    after = dict(state)
    if "stop" in wanted:
        after["active_state"] = "inactive"
    if "disable" in wanted:
        after["unit_file_state"] = "disabled"
    if "mask" in wanted and not refused:
        after["unit_file_state"] = MASKED
        after["load_state"] = MASKED
    return after


def state_lines(names, states):
    """One line per unit, for the diff: ``rpcbind.socket: ActiveState=active ...``."""
    lines = []
    for name in names:
        fields = " ".join(
            f"{prop}={states[name][key]}" for prop, key in PROPERTIES.items() if key != "id"
        )
        lines.append(f"{name}: {fields}\n")
    return "".join(lines)


def _states(state):
    return dict((key, state[key] or "") for key in STATE_KEYS)


# ---------------------------------------------------------------------------
# Acting on the host


def _mask_refused(host, name):
    """Whether `systemctl mask` would refuse: a file of the unit's own where its link goes."""
    path = f"{MASK_DIR}/{name}"
    return host.lexists(path) and host.readlink(path) != DEV_NULL


def _systemctl(host):
    if not host.is_dir(SYSTEMD_BOOTED):
        raise ApplyError(NO_SYSTEMD)
    systemctl = host.which("systemctl")
    if not systemctl:
        raise ApplyError(NOT_INSTALLED)
    return systemctl


def _refused_message(refused, where, check_mode):
    listed = ", ".join(f"{show(n)} ({where[n]})" for n in refused)
    one = len(refused) == 1
    return (
        "systemd refuses to mask {listed}: {whose} in {dir}, where `systemctl mask` puts "
        'the link to {null} ("File ... already exists"; ansible.builtin.systemd_service '
        "failed the same way). {it} {verb} stopped and disabled, every other unit masked. To "
        "have {it_lower} masked, move {its} unit file to /usr/local/lib/systemd/system"
    ).format(
        listed=listed,
        whose="its own unit file is" if one else "their own unit files are",
        dir=MASK_DIR,
        null=DEV_NULL,
        it="It" if one else "They",
        it_lower="it" if one else "them",
        its="its" if one else "each",
        verb="would be" if check_mode else ("is" if one else "are"),
    )


def apply(host, units, keep=(), check_mode=False):
    """Stop, disable and mask ``units`` (the plan's disable_units); returns the module's result:
    changed, units (per unit its before and after states and the actions taken), commands
    (every systemctl argument list run, reads included) and diff.

    Raises PolicyError for bad input or an alias name, before anything runs that changes
    anything; ApplyError when systemctl fails, when a unit is not down afterwards, or (after
    everything else is done) when systemd refuses a mask.
    """
    names, where = validate(units, keep)
    result = {"changed": False, "units": [], "commands": []}
    if not names:
        result["diff"] = {"before": "", "after": ""}
        return result
    systemctl = _systemctl(host)

    def execute(argv):
        result["commands"].append(list(argv))
        return host.run(argv)

    def ask(args):
        return execute([systemctl] + list(args))

    try:
        before = query_units(ask, names, PROPERTIES)
    except SystemdQueryError as e:
        raise ApplyError(f"{e}; nothing was changed") from None
    aliases = [
        f"{where[n]}: {show(n)} is an alias of {show(before[n]['id'])}: name the unit itself"
        for n in names
        if before[n]["id"] != n
    ]
    if aliases:
        raise PolicyError(aliases)
    wanted = dict((n, needs(before[n])) for n in names)
    refused = [n for n in names if "mask" in wanted[n] and _mask_refused(host, n)]
    done = dict((n, [a for a in wanted[n] if a != "mask" or n not in refused]) for n in names)
    result["changed"] = any(done.values())
    if result["changed"] and not check_mode:
        for argv in commands(systemctl, names, wanted, refused):
            _checked(execute, argv, result)
        after = _verified(ask, names, refused, result)
    else:
        after = dict((n, predicted(before[n], wanted[n], n in refused)) for n in names)
    for name in names:
        result["units"].append(
            {
                "unit": name,
                "before": _states(before[name]),
                "after": _states(after[name]),
                "actions": done[name],
            }
        )
    result["diff"] = {"before": state_lines(names, before), "after": state_lines(names, after)}
    if refused:
        raise ApplyError(_refused_message(refused, where, check_mode), result)
    return result


def _checked(execute, argv, result):
    rc, out, err = execute(argv)
    if rc == 0:
        return
    if argv[1] == "mask":
        # The links made before the refusal wait for the reload that systemctl skipped.
        execute([argv[0], "daemon-reload"])
    raise ApplyError(f"systemctl {argv[1]} failed (rc {rc}): {(err or out).strip()}", result)


def _verified(ask, names, refused, result):
    """The states read again once the commands ran; ApplyError unless every unit is down."""
    try:
        after = query_units(ask, names, PROPERTIES)
    except SystemdQueryError as e:
        raise ApplyError(str(e), result) from None
    problems = []
    for name in names:
        state = after[name]
        if state["active_state"] not in STOPPED:
            problems.append(f"{name} is {show(state['active_state'])}")
        if name not in refused and state["unit_file_state"] != MASKED:
            problems.append(f"{name} is {show(state['unit_file_state'])}, not masked")
    if problems:
        raise ApplyError(
            "after systemctl stop, disable and mask, still: " + "; ".join(problems),
            result,
        )
    return after
