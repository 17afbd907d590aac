# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host as a backend's apply() sees it: commands, files and directories, through an
AnsibleModule.

Backends take any object with these methods, so unit tests hand them a fake.  Paths are the
host's own (``/etc/...``); ``root`` prefixes them, for tests that point the module at a
temporary tree.  Nothing here runs at import time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test boilerplate

import contextlib
import errno
import os
import stat
import tempfile
from collections import namedtuple

# What apply() compares of a file: its text and who may change it.
FileState = namedtuple("FileState", "text mode uid gid")


class ApplyError(Exception):
    """The host cannot be brought to the state asked for; the message says why.  ``result`` is
    what the module returns with the failure (what ran, what changed), or None when nothing ran
    that changes anything."""

    def __init__(self, message, result=None):
        super().__init__(message)
        self.result = result


class ModuleHost:
    """run, read, write, remove through ``module`` (an AnsibleModule)."""

    def __init__(self, module, root="/"):
        self.module = module
        self.root = root

    def _path(self, path):
        return os.path.join(self.root, path.lstrip("/"))

    def which(self, name):
        """The absolute path of command ``name``, or None.

        /sbin and /usr/sbin are one directory on merged-/usr systems: the directory is named
        by its real path, so a path written into a unit file does not change with the PATH of
        whoever runs the module.  The command itself is not resolved (an alternatives link
        stays a link).
        """
        found = self.module.get_bin_path(name)
        if not found:
            return None
        return os.path.join(os.path.realpath(os.path.dirname(found)), os.path.basename(found))

    def owner(self):
        """(uid, gid) that the files written here get."""
        return os.geteuid(), os.getegid()

    def run(self, argv, data=None):
        """(rc, stdout, stderr) of argv (a list, never a shell line) under LC_ALL=C."""
        return self.module.run_command(
            list(argv), data=data, binary_data=True, environ_update={"LC_ALL": "C"}
        )

    def is_dir(self, path):
        return os.path.isdir(self._path(path))

    def lexists(self, path):
        return os.path.lexists(self._path(path))

    def readlink(self, path):
        """The target of the symbolic link at path, or None when there is no link there."""
        try:
            return os.readlink(self._path(path))
        except OSError:
            return None

    def read(self, path):
        """FileState of the file at path, or None when there is none."""
        real = self._path(path)
        try:
            with open(real, "rb") as f:
                info = os.fstat(f.fileno())
                data = f.read()
        except FileNotFoundError:
            return None
        return FileState(
            data.decode("utf-8", "surrogateescape"),
            stat.S_IMODE(info.st_mode),
            info.st_uid,
            info.st_gid,
        )

    def write(self, path, text, mode):
        """Replace the file at path with text in one rename, creating its directory."""
        real = self._path(path)
        directory = os.path.dirname(real)
        os.makedirs(directory, mode=0o755, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".portguard-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(text.encode("utf-8", "surrogateescape"))
                f.flush()
                os.fsync(f.fileno())
            # atomic_move keeps SELinux contexts right; it copies an old file's mode and
            # owner, so both are set again afterwards.
            self.module.atomic_move(tmp, real)
        finally:
            if os.path.lexists(tmp):
                os.unlink(tmp)
        uid, gid = self.owner()
        os.chown(real, uid, gid)
        os.chmod(real, mode)

    def remove(self, path):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._path(path))

    def remove_empty_dir(self, path):
        """Remove the directory at path if it is empty; keep it otherwise."""
        try:
            os.rmdir(self._path(path))
        except OSError as e:
            if e.errno not in (errno.ENOENT, errno.ENOTEMPTY, errno.EEXIST):
                raise
