# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Socket inode -> process mapping and process details (cgroups: test__owners_cgroups.py)."""

import errno
import importlib.util
import json
import os
import socket
import sys

import pytest
from ansible_collections.portguard.hardening.plugins.module_utils import _owners
from ansible_collections.portguard.hardening.plugins.module_utils._owners import (
    decode_name,
    lookup_user,
    map_socket_inodes,
    parse_status,
    read_process,
)

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
with open(os.path.join(FIXTURES, "captured", "manifest.json")) as _f:
    MANIFEST = json.load(_f)


def _capture_module():
    spec = importlib.util.spec_from_file_location("capture", os.path.join(FIXTURES, "capture.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def users(uid):
    return {0: "root", 107: "_rpc", 33: "www-data"}.get(uid, str(uid))


@pytest.mark.parametrize(
    "text,expected",
    [
        ("Name:\tx\nUid:\t107\t0\t0\t0\nNSpid:\t49\n", (107, 49)),
        (
            "Uid:\t0\t0\t0\t0\nNSpid:\t12345\t1\n",
            (0, 1),
        ),  # systemd in a container, seen from the host
        ("Name:\tx\n", (None, None)),
    ],
)
def test_parse_status(text, expected):
    assert parse_status(text) == expected


def _hostile_expected(capture):
    exe = "/root/.pyenv/versions/3.11.7/bin/python3.11"
    expected = {}
    for record in MANIFEST["hostile"]:
        comm = bytes.fromhex(record["comm_hex"])
        name, name_raw = decode_name(comm[:15])  # TASK_COMM_LEN - 1
        arg = decode_name(comm)[0]
        argv = [
            b"/root/.pyenv/versions/3.11.7/bin/python3",
            b"-c",
            capture.CHILD_CODE.encode(),
            comm,
            b"arg with space",
            b"",
            b"\xff-not-utf8",
        ]
        expected[record["pid"]] = {
            "pid": record["pid"],
            "name": name,
            "name_raw": name_raw,
            "exe": exe,
            "exe_raw": None,
            "cmdline": [
                "/root/.pyenv/versions/3.11.7/bin/python3",
                "-c",
                capture.CHILD_CODE,
                arg,
                "arg with space",
                "",
                "\ufffd-not-utf8",
            ],
            # One argument is not UTF-8 (and the comm may not be either): every one in hex.
            "cmdline_raw": [word.hex() for word in argv],
            "cmdline_truncated": False,
            "uid": 0,
            "user": "root",
            "ns_pid": record["pid"],
            "owner": None,  # the capture has no PID 1, whose cgroup says where units begin
        }
    return expected


def test_read_process_on_captured_hostile_names(proc_tree):
    root = proc_tree("captured/proc_hostile.json")
    expected = _hostile_expected(_capture_module())
    names = sorted(read_process(root, pid, users)["name"] for pid in expected)
    assert names == sorted(
        ['"q"', "(x)", "0123456789abcde", "\ufffd\ufffd", "a b", "new\nline", "trail\n"]
    )
    for pid, want in expected.items():
        assert read_process(root, pid, users) == want


def test_map_socket_inodes_on_captured_hostile_tree(proc_tree):
    root = proc_tree("captured/proc_hostile.json")
    with open(os.path.join(FIXTURES, "captured", "proc_hostile.json")) as f:
        tree = json.load(f)
    wanted = {}
    for record in MANIFEST["hostile"]:
        # Each child held exactly one socket: the UDP socket it bound.
        (target,) = [t for t in tree[str(record["pid"])]["fd"].values() if t.startswith("socket:")]
        wanted[int(target[len("socket:[") : -1])] = [record["pid"]]
    assert len(wanted) == len(MANIFEST["hostile"])
    result = map_socket_inodes(root, list(wanted) + [0, 999999999])
    assert result == {"holders": wanted, "unreadable_pids": [], "vanished_pids": 0}


def test_map_socket_inodes_rpcbind_layout(proc_tree):
    root = proc_tree("proc_rpcbind")
    result = map_socket_inodes(
        root, [20110, 20111, 20112, 20113, 20114, 20120, 20130, 20150, 20300, 0]
    )
    assert result == {
        "holders": {
            20110: [1, 49],
            20111: [1, 49],
            20112: [1, 49],
            20113: [1, 49],
            20114: [1, 49],
            20120: [49],
            20130: [72, 73],
            20150: [1],
        },
        "unreadable_pids": [],
        "vanished_pids": 1,  # pid 90 has no fd directory
    }


def test_map_socket_inodes_nothing_wanted_touches_nothing(tmp_path):
    assert map_socket_inodes(str(tmp_path / "missing"), [0]) == {
        "holders": {},
        "unreadable_pids": [],
        "vanished_pids": 0,
    }


def _raise_for(real, match, err):
    """Wrap an os function so that it fails with err for paths containing match.

    A path relative to an open directory (dir_fd) is matched as the full path.
    """

    def fake(path, *args, **kwargs):
        full = os.fsdecode(path)
        if kwargs.get("dir_fd") is not None:
            full = os.path.join(os.readlink("/proc/self/fd/%d" % kwargs["dir_fd"]), full)
        if match in full:
            raise OSError(err, os.strerror(err), path)
        return real(path, *args, **kwargs)

    return fake


@pytest.mark.parametrize(
    "func,match,err,expected_unreadable,expected_vanished,holders_20130",
    [
        pytest.param("readlink", "/49/fd/", errno.EACCES, [49], 1, [72, 73], id="readlink-eacces"),
        pytest.param("open", "/72/fd", errno.EACCES, [72], 1, [73], id="fd-dir-eacces"),
        pytest.param("open", "/73/fd", errno.ESRCH, [], 2, [72], id="fd-dir-esrch-vanished"),
        pytest.param("readlink", "/73/fd/6", errno.ENOENT, [], 1, [72], id="fd-closed-mid-scan"),
    ],
)
@pytest.mark.kernel
def test_map_socket_inodes_errors(
    proc_tree, monkeypatch, func, match, err, expected_unreadable, expected_vanished, holders_20130
):
    root = proc_tree("proc_rpcbind")
    monkeypatch.setattr(_owners.os, func, _raise_for(getattr(os, func), match, err))
    result = map_socket_inodes(root, [20111, 20130])
    assert result["unreadable_pids"] == expected_unreadable
    assert result["vanished_pids"] == expected_vanished
    assert result["holders"][20130] == holders_20130


def test_read_process_rpcbind_layout(proc_tree):
    root = proc_tree("proc_rpcbind")
    assert read_process(root, 49, users) == {
        "pid": 49,
        "name": "rpcbind",
        "name_raw": None,
        "exe": "/usr/sbin/rpcbind",
        "exe_raw": None,
        "cmdline": ["/sbin/rpcbind", "-f", "-w"],
        "cmdline_raw": None,
        "cmdline_truncated": False,
        "uid": 107,
        "user": "_rpc",
        "ns_pid": 49,
        "owner": {
            "unit": "rpcbind.service",
            "unit_cgroup": "/system.slice/rpcbind.service",
            "cgroup_root": "/libpod_parent/libpod-abc123",
            "inner_cgroup": None,
            "user_manager": None,
            "user_unit": None,
            "container": None,
        },
    }
    assert read_process(root, 1, users)["owner"]["unit"] == "init.scope"
    # pid 90 has no exe link (as when it is unreadable) and an empty cmdline.
    assert read_process(root, 90, users)["exe"] is None
    assert read_process(root, 90, users)["cmdline"] == []
    assert read_process(root, 4242, users) is None  # gone


@pytest.mark.kernel
def test_read_process_real_self():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.bind(("127.0.0.1", 0))
        inode = os.fstat(sock.fileno()).st_ino
        result = map_socket_inodes("/proc", [inode])
        assert result["holders"] == {inode: [os.getpid()]}
    finally:
        sock.close()
    me = read_process("/proc", os.getpid())
    assert me["pid"] == os.getpid()
    assert me["uid"] == os.getuid()
    assert me["exe"] == os.path.realpath(sys.executable)
    if hasattr(sys, "orig_argv"):  # Python 3.10+: the interpreter's own argv
        assert me["cmdline"] == sys.orig_argv
    assert me["user"] == lookup_user(os.getuid())


@pytest.mark.parametrize(
    "uid,name",
    [(0, "root"), (2147483000, "2147483000"), (None, None)],
)
def test_lookup_user(uid, name):
    assert lookup_user(uid) == name
