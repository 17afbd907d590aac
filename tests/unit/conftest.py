# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the unit tests: captured procfs trees, and the line between pure tests and those
that use this machine's kernel.  tests/conftest.py makes the checkout importable as
ansible_collections.portguard.hardening.

A test that opens a socket (loopback TCP and UDP, a unix socket of a stand-in server) or reads
the real /proc or /sys is marked ``kernel``; scripts/test.sh runs those in a stage of their own
(``pytest -m kernel``) after the pure ones (``-m "not kernel"``). An unmarked test that does
either fails with KernelUse, so that the line holds.
"""

import builtins
import json
import os
import shutil
import socket

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(REPO_ROOT, "tests", "unit", "plugins", "module_utils", "fixtures")


def build_proc_tree_from_json(source, dest):
    """Write a captured procfs tree stored as JSON ({pid: {files_hex, fd, exe}}) to dest."""
    with open(source) as f:
        tree = json.load(f)
    for pid, spec in tree.items():
        base = os.path.join(dest, pid)
        os.makedirs(os.path.join(base, "fd"))
        for name, data in spec["files_hex"].items():
            with open(os.path.join(base, name), "wb") as f:
                f.write(bytes.fromhex(data))
        for fd, target in spec["fd"].items():
            os.symlink(target, os.path.join(base, "fd", fd))
        os.symlink(spec["exe"], os.path.join(base, "exe"))
    return dest


def build_proc_tree(source, dest):
    """Copy a fixture procfs tree to dest, turning fd.txt / exe.txt into symlinks.

    In a fixture tree each <pid>/fd.txt lists "<fd> <readlink target>" lines and
    <pid>/exe.txt holds the exe target; symlinks are made here because the
    repository should not carry dangling ones. A pid without fd.txt gets no fd
    directory, which reads like a process that exited mid-scan.
    """
    shutil.copytree(source, dest, ignore=shutil.ignore_patterns("fd.txt", "exe.txt"))
    for name in os.listdir(source):
        pid_dir = os.path.join(source, name)
        if not (name.isdigit() and os.path.isdir(pid_dir)):
            continue
        fd_list = os.path.join(pid_dir, "fd.txt")
        if os.path.exists(fd_list):
            os.mkdir(os.path.join(dest, name, "fd"))
            with open(fd_list) as f:
                for line in f:
                    if line.strip():
                        fd, target = line.rstrip("\n").split(" ", 1)
                        os.symlink(target, os.path.join(dest, name, "fd", fd))
        exe = os.path.join(pid_dir, "exe.txt")
        if os.path.exists(exe):
            with open(exe) as f:
                os.symlink(f.read().rstrip("\n"), os.path.join(dest, name, "exe"))
    return dest


@pytest.fixture
def fixture_path():
    """Absolute path of a file under tests/unit/plugins/module_utils/fixtures."""
    return lambda *parts: os.path.join(FIXTURES, *parts)


@pytest.fixture
def proc_tree(tmp_path):
    """Build a fixture procfs tree (a directory or .json under fixtures/) in a temp dir."""

    def build(name):
        source = os.path.join(FIXTURES, name)
        if name.endswith(".json"):
            return build_proc_tree_from_json(source, str(tmp_path / "proc"))
        return build_proc_tree(source, str(tmp_path / "proc"))

    return build


KERNEL_PATHS = ("/proc", "/sys")


class KernelUse(BaseException):
    """Raised where an unmarked test reaches the kernel. A BaseException: the code under test
    catches OSError and Exception, and must not take this for a failure of the host's own."""


def _kernel_path(path):
    try:
        path = os.fsdecode(path)
    except TypeError:
        return False  # a file descriptor
    return any(path == p or path.startswith(p + "/") for p in KERNEL_PATHS)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "kernel: uses this machine's kernel (sockets, the real /proc or /sys)"
    )


@pytest.fixture(autouse=True)
def _pure_unless_marked(request, monkeypatch):
    """Unmarked tests run without sockets and without the real /proc and /sys."""
    if request.node.get_closest_marker("kernel") is not None:
        return

    def refuse(what):
        raise KernelUse(
            "%s: this test uses the kernel; mark it @pytest.mark.kernel (tests/unit/conftest.py)"
            % what
        )

    class NoSocket(socket.socket):
        def __init__(self, *args, **kwargs):
            refuse("socket.socket")

    def guarded(call, name):
        def check(path=".", *args, **kwargs):
            if _kernel_path(path):
                refuse("%s(%r)" % (name, path))
            return call(path, *args, **kwargs)

        return check

    monkeypatch.setattr(socket, "socket", NoSocket)
    monkeypatch.setattr(builtins, "open", guarded(builtins.open, "open"))
    for name in ("listdir", "scandir", "readlink", "stat", "lstat"):
        monkeypatch.setattr(os, name, guarded(getattr(os, name), "os." + name))
