# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Type checks, value quoting and the error shared by the validators of policies, baselines
and reports.

Every message that rejects a value quotes it the same way, whichever file it came from.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test boilerplate

from collections.abc import Mapping


class PolicyError(ValueError):
    """The policy or the data it is applied to is invalid; ``errors`` lists every problem."""

    def __init__(self, errors):
        self.errors = list(errors)
        super().__init__("; ".join(self.errors))


def show(value):
    """A value quoted for an error message: repr for scalars, a kind for containers."""
    if isinstance(value, bool):
        return repr(bool(value))
    if isinstance(value, str):
        # str() drops Ansible's str subclasses, whose repr is not the plain one.
        return repr(str(value))
    if isinstance(value, int):
        return repr(int(value))
    if isinstance(value, float):
        return repr(float(value))
    if value is None:
        return "None"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    return "a " + type(value).__name__


def is_name(value):
    """A non-blank string."""
    return isinstance(value, str) and value.strip() != ""


def is_list(value):
    return isinstance(value, (list, tuple))


def is_int(value):
    """An int that is not a bool (YAML's `true` must never count as 1)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_port(value):
    """A port number, 1-65535, as an int that is not a bool."""
    return is_int(value) and 0 < value < 65536


def port_label(port, protocol):
    """How every message and report names a port: ``22/tcp``."""
    return "%s/%s" % (port, protocol)


def optional_str(value):
    return value is None or isinstance(value, str)


def optional_str_list(value):
    return value is None or (
        isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)
    )


def entry_errors(entry, checks, where):
    """Problems of one mapping against (key, required, test, what it should be) checks."""
    if not isinstance(entry, Mapping):
        return [f"{where}: expected a mapping, got {show(entry)}"]
    missing = [key for key, required, _test, _what in checks if required and key not in entry]
    errors = ["{}: missing {}".format(where, ", ".join(missing))] if missing else []
    for key, _required, test, what in checks:
        if key in entry and not test(entry[key]):
            errors.append(f"{where}.{key}: expected {what}, got {show(entry[key])}")
    return errors


def list_errors(items, checks, where):
    """Problems of a list of mappings, each named where[N]."""
    if not isinstance(items, (list, tuple)):
        return [f"{where}: expected a list, got {show(items)}"]
    errors = []
    for index, item in enumerate(items):
        errors.extend(entry_errors(item, checks, f"{where}[{index}]"))
    return errors


def count_problems(errors):
    """Bad input as every plugin reports it: `1 problem: ...` or `N problems: ...; ...`."""
    count = "1 problem" if len(errors) == 1 else f"{len(errors)} problems"
    return "{}: {}".format(count, "; ".join(errors))
