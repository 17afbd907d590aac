# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Socket inode -> process mapping, process details and cgroup -> unit parsing."""

import errno
import importlib.util
import json
import os
import socket
import sys

import pytest
from ansible_collections.portguard.hardening.plugins.module_utils import _owners
from ansible_collections.portguard.hardening.plugins.module_utils._owners import (
    choose_unit,
    decode_name,
    is_systemd_init,
    lookup_user,
    map_socket_inodes,
    parse_cgroup,
    parse_status,
    read_process,
    unit_from_cgroup_path,
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


V1_RPCBIND = """12:name=systemd:/libpod_parent/libpod-abc123/system.slice/rpcbind.service
11:devices:/libpod_parent/libpod-abc123/system.slice/rpcbind.service
6:freezer:/
0::/libpod_parent/libpod-abc123/system.slice/rpcbind.service
"""


def _captured_cgroup():
    with open(os.path.join(FIXTURES, "captured", "cgroup_this_host.txt")) as f:
        return f.read()


@pytest.mark.parametrize(
    "text,unit",
    [
        pytest.param(V1_RPCBIND, "rpcbind.service", id="v1-hybrid-podman-container"),
        pytest.param(
            "9:name=systemd:/libpod_parent/libpod-abc123/system.slice/rpcbind.service\n",
            "rpcbind.service",
            id="v1-name-systemd-only",
        ),
        pytest.param("0::/system.slice/nginx.service\n", "nginx.service", id="v2"),
        pytest.param(
            "0::/system.slice/libpod-xyz.scope/container/system.slice/nginx.service\n",
            "nginx.service",
            id="v2-container-without-cgroupns-inner-unit-wins",
        ),
        pytest.param(
            "0::/machine.slice/libpod-xyz.scope/container\n",
            "libpod-xyz.scope",
            id="v2-container-without-systemd",
        ),
        pytest.param(
            "0::/user.slice/user-1000.slice/session-3.scope\n", "session-3.scope", id="user-session"
        ),
        pytest.param(
            "0::/user.slice/user-1000.slice/user@1000.service/app.slice/app-gnome-x.scope\n",
            "app-gnome-x.scope",
            id="user-manager-app",
        ),
        pytest.param(
            "0::/system.slice/system-getty.slice/getty@tty1.service\n",
            "getty@tty1.service",
            id="instance-kept",
        ),
        pytest.param("0::/init.scope\n", "init.scope", id="pid1"),
        pytest.param("0::/system.slice/rpcbind.socket\n", "rpcbind.socket", id="socket-unit-exec"),
        pytest.param("0::/system.slice/home.mount\n", "home.mount", id="mount-helper"),
        pytest.param(
            "0::/system.slice/nginx.service/x.mount\n", "nginx.service", id="service-beats-mount"
        ),
        pytest.param(
            "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/"
            "cri-containerd-abc.scope\n",
            "cri-containerd-abc.scope",
            id="kubernetes",
        ),
        pytest.param("0::/system.slice\n", None, id="slice-is-not-an-owner"),
        pytest.param("0::/\n", None, id="v2-root-or-cgroupns"),
        pytest.param(
            "9:name=systemd:/\n0::/system.slice/nginx.service\n",
            "nginx.service",
            id="hybrid-trivial-named-uses-unified",
        ),
        pytest.param(
            "9:name=systemd:/system.slice/a.service\n0::/system.slice/b.service\n",
            "a.service",
            id="hybrid-named-first",
        ),
        pytest.param("4:memory:/system.slice/x.service\n", None, id="controller-lines-ignored"),
        pytest.param("", None, id="empty"),
        pytest.param("garbage\n", None, id="garbage"),
        pytest.param(_captured_cgroup(), None, id="captured-this-host"),
    ],
)
def test_parse_cgroup(text, unit):
    assert parse_cgroup(text) == unit


@pytest.mark.parametrize(
    "path,unit",
    [
        ("/a.service/b.slice/.service", "a.service"),  # a bare suffix is not a unit name
        ("/dev-disk-by\\x2duuid-1.swap", "dev-disk-by\\x2duuid-1.swap"),
        ("", None),
    ],
)
def test_unit_from_cgroup_path(path, unit):
    assert unit_from_cgroup_path(path) == unit


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
            "unit": None,
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
        "unit": "rpcbind.service",
    }
    assert read_process(root, 1, users)["unit"] == "init.scope"
    # pid 90 has no exe link (as when it is unreadable) and an empty cmdline.
    assert read_process(root, 90, users)["exe"] is None
    assert read_process(root, 90, users)["cmdline"] == []
    assert read_process(root, 4242, users) is None  # gone


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


def _p(pid, name="svc", unit=None, ns_pid=None, exe=None):
    return {"pid": pid, "name": name, "unit": unit, "ns_pid": ns_pid or pid, "exe": exe}


@pytest.mark.parametrize(
    "process,expected",
    [
        (_p(1, "systemd", "init.scope"), True),
        (_p(1, "init", exe="/usr/lib/systemd/systemd"), True),  # booted as /sbin/init
        (_p(4711, "systemd", ns_pid=1), True),  # container's init seen from the host
        (_p(1, "tini"), False),
        (_p(900, "systemd", "user@1000.service"), False),  # a user manager
    ],
)
def test_is_systemd_init(process, expected):
    assert is_systemd_init(process) is expected


@pytest.mark.parametrize(
    "processes,fallback,expected",
    [
        pytest.param(
            [_p(1, "systemd", "init.scope"), _p(49, "rpcbind", "rpcbind.service")],
            "x.service",
            "rpcbind.service",
            id="service-beats-pid1",
        ),
        pytest.param(
            [_p(1, "systemd", "init.scope")],
            "cockpit.service",
            "cockpit.service",
            id="pid1-only-uses-trigger",
        ),
        pytest.param([_p(1, "systemd", "init.scope")], None, None, id="pid1-only-no-trigger"),
        pytest.param(
            [_p(73, "nginx", "nginx.service"), _p(72, "nginx", "other.service")],
            None,
            "other.service",
            id="lowest-pid-wins",
        ),
        pytest.param(
            [_p(72, "x", None), _p(80, "y", "y.service")], None, "y.service", id="first-with-a-unit"
        ),
        pytest.param([_p(72, "x", None)], "z.service", None, id="holder-without-unit"),
        pytest.param([], "z.service", None, id="no-holders"),
    ],
)
def test_choose_unit(processes, fallback, expected):
    assert choose_unit(processes, fallback) == expected
