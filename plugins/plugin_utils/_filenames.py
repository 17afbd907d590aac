# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""File names made from inventory host names, which must stay inside their directory.

An inventory host name becomes a file name as it is (``web-01.example.com.yml``,
``2001:db8::1.yml``), so that operators find and review the files by host.  A name that cannot be
one file in one directory is refused, never rewritten: a host named ``../x`` must not read or
write ``x.yml`` beside the directory, and two hosts must not share a file.

Public: host_file_name, host_file_path, HostFileNameError.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import unicodedata

from ansible_collections.portguard.hardening.plugins.module_utils._values import show

# Linux and macOS limit one path component to 255 bytes.
NAME_MAX = 255
# Control, format (bidirectional overrides, zero-width), surrogate and line/paragraph
# separator characters: they hide what a name is in a terminal or a directory listing.
_HIDDEN_CATEGORIES = ("Cc", "Cf", "Cs", "Zl", "Zp")


class HostFileNameError(ValueError):
    """An inventory host name that cannot name a file; the message names the host."""


def _problem(host, suffix):
    if not isinstance(host, str) or host == "":
        return "is not a non-empty string"
    for char in host:
        if char in ("/", "\\"):
            return f"contains {show(char)}, a path separator"
        if unicodedata.category(char) in _HIDDEN_CATEGORIES:
            return f"contains the control or invisible character {show(char)}"
    if host.startswith("."):
        # ".", ".." and hidden files: names that are not plainly one host's file.
        return "starts with '.'"
    size = len((host + suffix).encode("utf-8"))
    if size > NAME_MAX:
        return f"makes a file name of {size} bytes, over the limit of {NAME_MAX}"
    return None


def host_file_name(host, suffix=""):
    """``host + suffix`` when that is a safe file name; HostFileNameError naming the host else.

    Refused: anything but a non-empty string, a ``/`` or ``\\``, control and invisible
    characters (NUL, ESC, line breaks, bidirectional overrides), a leading ``.`` (so ``.`` and
    ``..`` too), and names longer than a file name may be.  FQDNs, IPv4 and IPv6 addresses,
    ``-``, ``_``, ``@``, ``:`` and non-ASCII letters are kept as they are.
    """
    problem = _problem(host, suffix)
    if problem:
        raise HostFileNameError(
            f"inventory host {show(host)} cannot name a file: the name {problem}"
        )
    return host + suffix


def host_file_path(directory, host, suffix=""):
    """The absolute path of the host's file in ``directory``; HostFileNameError naming the host.

    A relative directory is taken from the current working directory, the one
    ansible-playbook was started in.
    """
    if not isinstance(directory, str) or directory == "":
        raise HostFileNameError(f"directory must be a non-empty path, got {show(directory)}")
    base = os.path.abspath(directory)
    path = os.path.join(base, host_file_name(host, suffix))
    # Holds by construction; checked because a path that leaves base must never be used.
    if os.path.dirname(path) != base:
        raise HostFileNameError(
            f"inventory host {show(host)} cannot name a file: {show(path)} is not in {show(base)}"
        )
    return path
