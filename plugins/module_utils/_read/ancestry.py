# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The management connection's SSH_CONNECTION, found from inside privilege escalation.

sshd puts ``SSH_CONNECTION`` ("client_ip client_port server_ip server_port") into the session's
environment; sudo's env_reset drops it, so a module run with become does not have it.  The
processes the module descends from still do: the shell sshd started, sudo itself.  Their
environments, as they were when each started, are in /proc/PID/environ, which root can read.
Only the module's own ancestors are looked at (the parent pid chain of /proc/self/stat), never
any other process, and the nearest value found is the one taken.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test boilerplate

import ipaddress
import os

VARIABLE = "SSH_CONNECTION"
MAX_STEPS = 32
_KEY = VARIABLE.encode("ascii") + b"="


def ssh_connection_problem(value):
    """Why ``value`` is not an SSH_CONNECTION, or None when it is one.

    Exactly four fields: an IP address and a port (1-65535) for each end.
    """
    fields = value.split()
    if len(fields) != 4:
        return "expected 4 fields, got %d" % len(fields)
    if value != " ".join(fields):
        return "expected its fields separated by single spaces"
    for field in (fields[0], fields[2]):
        try:
            ipaddress.ip_address(field)
        except ValueError:
            return "%r is not an IP address" % field[:64]
    for field in (fields[1], fields[3]):
        if not (field.isdigit() and field.isascii() and 1 <= int(field) <= 65535):
            return "%r is not a port (1-65535)" % field[:64]
    return None


def parent_pid(proc_path, pid):
    """The parent pid from /proc/PID/stat, or None when the process is gone or unreadable.

    The second field is the command name in parentheses, which may itself hold spaces and
    parentheses: the fields after it start after the last ")".
    """
    try:
        with open(os.path.join(proc_path, str(pid), "stat"), "rb") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rfind(b")") + 1 :].split()
    if len(fields) < 2 or not fields[1].isdigit():
        return None
    return int(fields[1])


def environ_value(data, key=_KEY):
    """The value of the first ``key`` entry of a NUL-separated environment block, or None."""
    for entry in data.split(b"\0"):
        if entry.startswith(key):
            return entry[len(key) :].decode("utf-8", "replace")
    return None


def _checked(value, where, errors):
    problem = ssh_connection_problem(value)
    if problem:
        errors.append("ignored the %s of %s: %s" % (VARIABLE, where, problem))
        return ""
    return value


def find_ssh_connection(environ, proc_path="/proc", max_steps=MAX_STEPS):
    """(ssh_connection, errors): the nearest SSH_CONNECTION of the module or its ancestors.

    ``environ`` is the module's own environment (a mapping).  Without the variable there, the
    parent pid chain is walked from /proc/self, at most ``max_steps`` ancestors, below PID 1.
    The first value found is taken and checked; one that is not an SSH_CONNECTION is ignored
    with a line in errors, and the result is then "".  "" too when no ancestor has one.
    """
    errors = []
    if environ.get(VARIABLE) is not None:
        return _checked(environ[VARIABLE], "the module's environment", errors), errors
    unreadable = []
    pid = parent_pid(proc_path, "self")
    for _step in range(max_steps):
        if pid is None or pid <= 1:
            break
        try:
            with open(os.path.join(proc_path, str(pid), "environ"), "rb") as f:
                value = environ_value(f.read())
        except OSError as exc:
            unreadable.append("%d (%s)" % (pid, exc.strerror or exc))
            value = None
        if value is not None:
            return _checked(value, "ancestor process %d" % pid, errors), errors
        pid = parent_pid(proc_path, pid)
    if unreadable:
        errors.append(
            "no %s found; the environment of ancestor process(es) %s could not be read"
            % (VARIABLE, ", ".join(unreadable))
        )
    return "", errors
