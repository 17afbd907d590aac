# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which processes hold which sockets, read from a procfs tree.

Nothing here runs at import time; every function takes the procfs root so the
same code reads /proc or a fixture tree.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test boilerplate

import contextlib
import errno
import functools
import os

try:
    import pwd
except ImportError:  # pragma: no cover - not on Linux
    pwd = None

from ansible_collections.portguard.hardening.plugins.module_utils._unit_names import (
    CGROUP_UNIT_SUFFIXES,
    container_name,
    is_user_manager,
    user_manager_uid,
)

INIT_SCOPE = "init.scope"
# What owner_from_cgroup() says about a process, in this order.
OWNER_KEYS = (
    "unit",
    "unit_cgroup",
    "cgroup_root",
    "inner_cgroup",
    "user_manager",
    "user_unit",
    "container",
)

_VANISHED_ERRNOS = (errno.ENOENT, errno.ESRCH)


# Bytes of a command line kept by default: the policy and the reports never use command lines,
# and eight processes with 2 MB ones would otherwise make 17 MB of facts.
CMDLINE_MAX = 4096


def decode_text(raw):
    """Kernel bytes as text, each byte that is not UTF-8 replaced with U+FFFD.

    Not exact; for text only parsed here (status, cgroup): a unit name with U+FFFD in
    it matches no systemd unit name, where ``\\xff`` would read like systemd's own escapes.
    """
    return raw.decode("utf-8", "replace")


def decode_name(raw):
    """(text, raw hex) of kernel bytes that name something: exact, and JSON-safe.

    Valid UTF-8 is decoded as is (newlines, quotes and all) and raw hex is None.
    Otherwise each byte that is not UTF-8 becomes U+FFFD, so the text alone is
    ambiguous, and raw hex holds the bytes exactly.  Text with a backslash, such
    as the four characters ``\\xff``, is never mistaken for a byte.
    """
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError:
        return raw.decode("utf-8", "replace"), raw.hex()


def map_socket_inodes(proc_root, inodes):
    """Walk <proc_root>/<pid>/fd once and find the processes holding each socket inode.

    Returns a dict with
      holders: {inode: sorted list of pids} for the wanted inodes that were found,
      unreadable_pids: sorted pids whose fds could not be read (EACCES and the like),
      vanished_pids: count of processes that exited during the walk.
    Only thread-group leaders are listed in <proc_root>, and threads share the
    fd table, so tasks are not walked.  Links are read relative to an open fd
    directory, which spares the kernel a path walk per descriptor.
    """
    # readlink() of a socket fd is 'socket:[<inode>]': compare link texts, not parsed numbers.
    wanted = dict(("socket:[%d]" % i, i) for i in inodes if i)
    holders = {}
    unreadable = set()
    vanished = 0
    if not wanted:
        return {"holders": holders, "unreadable_pids": [], "vanished_pids": 0}
    with os.scandir(proc_root) as entries:
        pids = sorted(int(e.name) for e in entries if e.name.isdigit())
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
    readlink = os.readlink
    for pid in pids:
        try:
            dir_fd = os.open(os.path.join(proc_root, str(pid), "fd"), flags)
        except OSError as exc:
            if exc.errno in _VANISHED_ERRNOS:
                vanished += 1
            else:
                unreadable.add(pid)
            continue
        try:
            for name in os.listdir(dir_fd):
                try:
                    target = readlink(name, dir_fd=dir_fd)
                except OSError as exc:
                    if exc.errno in _VANISHED_ERRNOS:
                        continue  # fd closed since the directory was listed
                    raise
                inode = wanted.get(target)
                if inode is not None:
                    holders.setdefault(inode, set()).add(pid)
        except OSError as exc:
            if exc.errno in _VANISHED_ERRNOS:
                vanished += 1
            else:
                unreadable.add(pid)
        finally:
            os.close(dir_fd)
    return {
        "holders": dict((inode, sorted(pids)) for inode, pids in holders.items()),
        "unreadable_pids": sorted(unreadable),
        "vanished_pids": vanished,
    }


def _read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def _read_head(path, size):
    """At most the first size bytes of a file: a command line can be megabytes long."""
    chunks = []
    with open(path, "rb", buffering=0) as f:
        while size > 0:
            chunk = f.read(size)
            if not chunk:
                break
            chunks.append(chunk)
            size -= len(chunk)
    return b"".join(chunks)


def parse_status(text):
    """Real uid and the pid in the innermost pid namespace, from /proc/<pid>/status."""
    uid = None
    ns_pid = None
    for line in text.splitlines():
        key, _sep, value = line.partition(":")
        if key == "Uid":
            fields = value.split()
            if fields:
                uid = int(fields[0])
        elif key == "NSpid":
            fields = value.split()
            if fields:
                ns_pid = int(fields[-1])
    return uid, ns_pid


def parse_cmdline(raw):
    """(argv, argv raw hex) from /proc/<pid>/cmdline: NUL-separated, one terminating NUL dropped.

    argv raw hex is None when every argument is UTF-8, else every argument's bytes in hex.
    """
    if not raw:
        return [], None
    if raw.endswith(b"\0"):
        raw = raw[:-1]
    words = raw.split(b"\0")
    try:
        return [word.decode("utf-8") for word in words], None
    except UnicodeDecodeError:
        return [decode_text(word) for word in words], [word.hex() for word in words]


def _whole_characters(raw):
    """raw without the UTF-8 character a cut may have split at its end."""
    for back in range(1, min(4, len(raw) + 1)):
        byte = raw[-back]
        if byte & 0xC0 == 0x80:
            continue  # a continuation byte: look for its lead byte
        if 0xC2 <= byte <= 0xF4 and back < (2 if byte < 0xE0 else 3 if byte < 0xF0 else 4):
            return raw[:-back]
        break
    return raw


def cap_cmdline(raw, limit):
    """(bytes to keep, whether any were left out) of a command line read with cap_read_size.

    At most limit bytes are kept, not counting the NUL that ends the command line.
    Arguments are kept whole: one the limit cuts is left out, unless it is the
    first, of which whole characters up to the limit are kept.
    """
    if len(raw) <= limit or (len(raw) == limit + 1 and raw.endswith(b"\0")):
        return raw, False
    head = raw[:limit]
    if raw[limit : limit + 1] == b"\0":
        return head, True  # the limit falls on the end of an argument
    end = head.rfind(b"\0")
    if end >= 0:
        return head[: end + 1], True
    return _whole_characters(head), True


def cap_read_size(limit):
    """How much of a command line to read to apply cap_cmdline(raw, limit)."""
    return limit + 2  # the terminating NUL, and one byte to tell whether more follows


def parse_comm(raw):
    """(name, name raw hex) from the kernel's comm: only the newline the kernel appends goes."""
    if raw.endswith(b"\n"):
        raw = raw[:-1]
    return decode_name(raw)


def cgroup_paths(text):
    """(name=systemd path, unified path) from /proc/<pid>/cgroup text; None for a missing one.

    The name=systemd hierarchy (cgroup v1, hybrid) is systemd's own view; the unified
    ``0::`` line is the only one on pure cgroup v2.
    """
    named = unified = None
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        hierarchy, controllers, path = parts
        if "name=systemd" in controllers.split(","):
            named = path
        elif hierarchy == "0" and controllers == "":
            unified = path
    return named, unified


def _root_of(path):
    # systemd moves itself into init.scope at the top of the tree it manages.
    if not path:
        return None
    head, _sep, leaf = path.rpartition("/")
    return head if leaf == INIT_SCOPE else None


def cgroup_roots(text):
    """Where PID 1's cgroup tree begins, from /proc/1/cgroup text: (named root, unified root).

    A root is PID 1's path without its ``/init.scope`` leaf, exactly as systemd computes its
    own: ``""`` at the top of the hierarchy, the host's prefix (``/libpod_parent/libpod-<id>``)
    in a container without a cgroup namespace.  None for a hierarchy in which PID 1 is not in
    an init.scope: systemd does not manage that tree, or PID 1 is not systemd.
    """
    named, unified = cgroup_paths(text)
    return _root_of(named), _root_of(unified)


def read_cgroup_roots(proc_root):
    """cgroup_roots() of <proc_root>/1/cgroup; OSError when it cannot be read."""
    return cgroup_roots(decode_text(_read_bytes(os.path.join(proc_root, "1", "cgroup"))))


def _cgroup_unit(component):
    # cg_escape() prefixes "_" to unit names that would clash with cgroupfs's own files.
    name = component[1:] if component.startswith("_") else component
    for suffix in CGROUP_UNIT_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name
    return None


def _first_unit(parts):
    """The first unit below the slices that start parts, or None."""
    for part in parts:
        if not part.endswith(".slice"):
            return _cgroup_unit(part)
    return None


@functools.lru_cache(maxsize=1024)
def _owner_fields(path, root):
    if root:
        if not path.startswith(root + "/"):
            return None  # not in PID 1's tree
        path = path[len(root) :]
    parts = [p for p in path.split("/") if p]
    top = 0
    while top < len(parts) and parts[top].endswith(".slice"):
        top += 1
    if top == len(parts):
        return None
    unit = _cgroup_unit(parts[top])
    if unit is None:
        return None  # a cgroup systemd did not create
    inner = parts[top + 1 :]
    return (
        unit,
        "/" + "/".join(parts[: top + 1]),
        root,
        "/".join(inner) or None,
        user_manager_uid(unit),
        _first_unit(inner) if is_user_manager(unit) else None,
        container_name(unit, tuple(parts[:top])),
    )


def owner_from_cgroup(text, roots):
    """The system unit owning a process, from its /proc/<pid>/cgroup text, or None.

    ``roots`` is cgroup_roots() of PID 1.  The unit is the first component below PID 1's
    slices, never a deeper one: whatever a user manager, a delegated service or a container
    names inside its own subtree (``user@1000.service/app.slice/ssh.service``) is reported as
    data, not as the unit.  Returns a dict: unit, unit_cgroup (its path below the root),
    cgroup_root, inner_cgroup (the process's cgroup below the unit's, or None), user_manager
    (uid of ``user@UID.service``), user_unit (the unit in that user manager) and container.
    """
    named, unified = cgroup_paths(text)
    if roots[0] is not None and named:
        fields = _owner_fields(named, roots[0])
    elif roots[1] is not None and unified:
        fields = _owner_fields(unified, roots[1])
    else:
        return None
    if fields is None:
        return None
    return dict(zip(OWNER_KEYS, fields))


def owner_of_trigger(unit):
    """The owner of a socket only PID 1 holds: the unit its .socket unit triggers."""
    return dict(zip(OWNER_KEYS, (unit, None, None, None, None, None, None)))


_USER_CACHE = {}


def lookup_user(uid):
    """User name for a uid from the passwd database, else the uid as a string."""
    if uid is None:
        return None
    if uid not in _USER_CACHE:
        name = str(uid)
        if pwd is not None:
            with contextlib.suppress(KeyError):
                name = pwd.getpwuid(uid).pw_name
        _USER_CACHE[uid] = name
    return _USER_CACHE[uid]


def read_process(proc_root, pid, user_lookup=lookup_user, cmdline_max=CMDLINE_MAX, roots=None):
    """Describe one process, or return None if it exited meanwhile.

    Returns pid, name (comm), exe (readlink target, None if unreadable), cmdline
    (list, at most cmdline_max bytes of it; None when cmdline_max is 0),
    cmdline_truncated, uid (real), user, ns_pid (pid in its own pid namespace) and
    owner (owner_from_cgroup() of its cgroup, or None), with name_raw, exe_raw and
    cmdline_raw as decode_name and parse_cmdline give them.  ``roots`` is
    cgroup_roots() of PID 1, read from proc_root when not given.  Unreadable parts
    are None rather than errors.
    """
    base = os.path.join(proc_root, str(pid))
    name = name_raw = None
    uid = ns_pid = None
    try:
        name, name_raw = parse_comm(_read_bytes(os.path.join(base, "comm")))
        uid, ns_pid = parse_status(decode_text(_read_bytes(os.path.join(base, "status"))))
    except OSError as exc:
        if exc.errno in _VANISHED_ERRNOS:
            return None
        # Both are world-readable; keep what was read if an LSM says otherwise.
    try:
        exe, exe_raw = decode_name(os.readlink(os.path.join(os.fsencode(base), b"exe")))
    except OSError:
        exe = exe_raw = None  # kernel threads have none; other users' need privileges
    cmdline = cmdline_raw = None
    truncated = False
    if cmdline_max > 0:
        try:
            raw = _read_head(os.path.join(base, "cmdline"), cap_read_size(cmdline_max))
        except OSError:
            raw = b""
        raw, truncated = cap_cmdline(raw, cmdline_max)
        cmdline, cmdline_raw = parse_cmdline(raw)
    if roots is None:
        try:
            roots = read_cgroup_roots(proc_root)
        except OSError:
            roots = (None, None)
    try:
        owner = owner_from_cgroup(decode_text(_read_bytes(os.path.join(base, "cgroup"))), roots)
    except OSError:
        owner = None
    return {
        "pid": pid,
        "name": name,
        "name_raw": name_raw,
        "exe": exe,
        "exe_raw": exe_raw,
        "cmdline": cmdline,
        "cmdline_raw": cmdline_raw,
        "cmdline_truncated": truncated,
        "uid": uid,
        "user": user_lookup(uid),
        "ns_pid": ns_pid,
        "owner": owner,
    }


def choose_owner(processes, init_fallback=None):
    """The owner (see owner_from_cgroup) to report for a socket held by these processes.

    A service holding the socket beats PID 1 (which only keeps its copy for
    socket activation): the owner of the lowest-pid holder other than PID 1
    that has one.  When only PID 1 holds it, owner_of_trigger(init_fallback),
    the service the matching .socket unit triggers.  Otherwise None.
    """
    others = [p for p in sorted(processes, key=lambda p: p["pid"]) if p["pid"] != 1]
    if others:
        for process in others:
            if process.get("owner"):
                return process["owner"]
        return None
    if processes and init_fallback:
        return owner_of_trigger(init_fallback)
    return None
