# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""listening_facts on the real kernel of the test machine: sockets this process holds, read by
both sources, and the module's main() on them. Every test here is a kernel test
(tests/unit/conftest.py)."""

import gc
import json
import os
import socket
import time

import pytest
from ansible_collections.portguard.hardening.plugins.module_utils._owners import (
    owner_from_cgroup,
    read_cgroup_roots,
    read_process,
)
from ansible_collections.portguard.hardening.plugins.modules import listening_facts
from ansible_collections.portguard.hardening.plugins.modules.listening_facts import (
    GatherError,
    gather,
)
from module_args import patch_module_args
from support import socket_entry as entry

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "module_utils", "fixtures")


pytestmark = pytest.mark.kernel


def test_bad_proc_path(real_sockets, tmp_path):
    with pytest.raises(GatherError):
        gather(proc_path=str(tmp_path / "nope"), source="sock_diag", systemctl=None)


@pytest.fixture
def real_sockets():
    """Listening TCP and bound UDP sockets on 127.0.0.1 and ::1 held by this process."""
    opened = []
    specs = [
        ("tcp", "ipv4", "127.0.0.1", socket.AF_INET, socket.SOCK_STREAM),
        ("tcp", "ipv6", "::1", socket.AF_INET6, socket.SOCK_STREAM),
        ("udp", "ipv4", "127.0.0.1", socket.AF_INET, socket.SOCK_DGRAM),
        ("udp", "ipv6", "::1", socket.AF_INET6, socket.SOCK_DGRAM),
    ]
    try:
        for protocol, family, address, af, kind in specs:
            s = socket.socket(af, kind)
            if af == socket.AF_INET6:
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            s.bind((address, 0))
            if kind == socket.SOCK_STREAM:
                s.listen(5)
            opened.append((protocol, family, address, s))
        yield [
            {
                "protocol": p,
                "family": f,
                "address": a,
                "port": s.getsockname()[1],
                "inode": os.fstat(s.fileno()).st_ino,
            }
            for p, f, a, s in opened
        ]
    finally:
        for _p, _f, _a, s in opened:
            s.close()


def _me():
    me = read_process("/proc", os.getpid())
    with open("/proc/self/comm", "rb") as f:
        assert me["name"] == f.read()[:-1].decode("utf-8", "replace")
    with open("/proc/self/cgroup") as f:
        owner = owner_from_cgroup(f.read(), read_cgroup_roots("/proc"))
    keys = ("pid", "name", "name_raw", "exe", "exe_raw", "cmdline", "cmdline_raw", "user", "uid")
    return dict((k, me[k]) for k in keys + ("cmdline_truncated",)), owner


@pytest.mark.parametrize("source", ["sock_diag", "proc"])
def test_real_kernel_finds_our_sockets(real_sockets, source):
    me, owner = _me()
    facts, _warnings = gather(proc_path="/proc", source=source, systemctl=None)
    meta = facts["listening_sockets_meta"]
    assert meta["source"] == source
    by_inode = dict((e["inode"], e) for e in facts["listening_sockets"])
    for want in real_sockets:
        got = by_inode[want["inode"]]
        v6only = None
        if want["family"] == "ipv6":
            # sock_diag reports the IPV6_V6ONLY we set; /proc only allows a guess.
            v6only = True if source == "sock_diag" else meta["bindv6only"]
        assert got == entry(
            want["protocol"],
            want["family"],
            want["address"],
            want["port"],
            want["inode"],
            "loopback",
            [me],
            owner and owner["unit"],
            uid=os.getuid(),
            v6only=v6only,
            verified=False,
            **(_owner_fields(owner) if owner else {}),
        )
    assert meta["v6only_guessed"] == (0 if source == "sock_diag" else meta["counts"]["ipv6"])


def _owner_fields(owner):
    fields = dict((k, owner[k]) for k in ("user_manager", "user_unit", "container", "inner_cgroup"))
    fields["unit_problem"] = "systemd was not asked: systemctl was not given"
    return fields


def _identity(facts):
    return sorted(
        (e["protocol"], e["family"], e["address"], e["port"], e["inode"], e["uid"], e["holders"])
        for e in facts["listening_sockets"]
    )


def test_real_kernel_sources_agree(real_sockets):
    """Both sources list the same sockets for the whole machine (retried if the host is busy)."""
    for _attempt in range(5):
        diag, _w = gather(source="sock_diag", systemctl=None)
        proc, _w = gather(source="proc", systemctl=None)
        if _identity(diag) == _identity(proc):
            break
        time.sleep(0.2)
    assert _identity(diag) == _identity(proc)
    assert set(w["inode"] for w in real_sockets) <= set(
        e["inode"] for e in diag["listening_sockets"]
    )


def test_real_kernel_bound_device():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"lo")
        except PermissionError:
            pytest.skip("SO_BINDTODEVICE needs CAP_NET_RAW")
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        inode = os.fstat(s.fileno()).st_ino
        diag, _w = gather(source="sock_diag", systemctl=None, protocols=["tcp"], families=["ipv4"])
        proc, _w = gather(source="proc", systemctl=None, protocols=["tcp"], families=["ipv4"])
    finally:
        s.close()
    assert [e["interface"] for e in diag["listening_sockets"] if e["inode"] == inode] == ["lo"]
    assert [e["interface"] for e in proc["listening_sockets"] if e["inode"] == inode] == [None]


def test_real_kernel_include_loopback_false(real_sockets):
    facts, _w = gather(source="sock_diag", systemctl=None, include_loopback=False)
    inodes = set(e["inode"] for e in facts["listening_sockets"])
    assert not inodes & set(w["inode"] for w in real_sockets)
    assert all(e["scope"] != "loopback" for e in facts["listening_sockets"])


@pytest.mark.parametrize("check_mode", [False, True])
def test_main(real_sockets, capsys, check_mode):
    args = {"protocols": ["tcp"], "families": ["ipv4", "ipv6"]}
    if check_mode:
        args["_ansible_check_mode"] = True
    with patch_module_args(args), pytest.raises(SystemExit) as exit_info:
        listening_facts.main()
    assert exit_info.value.code == 0
    assert gc.isenabled()  # main() pauses the collector only while it runs
    result = json.loads(capsys.readouterr().out)
    assert result["changed"] is False
    sockets = result["ansible_facts"]["listening_sockets"]
    assert set(e["protocol"] for e in sockets) == {"tcp"}
    tcp_inodes = set(w["inode"] for w in real_sockets if w["protocol"] == "tcp")
    assert tcp_inodes <= set(e["inode"] for e in sockets)
    meta = result["ansible_facts"]["listening_sockets_meta"]
    assert meta["source"] in ("sock_diag", "proc")
    if not os.path.isdir("/run/systemd/system"):
        assert (
            meta["systemd"]["reason"]
            == "/run/systemd/system does not exist (not booted with systemd)"
        )


def test_main_empty_or_missing_proc_path(real_sockets, capsys, tmp_path):
    with patch_module_args({"source": "proc", "proc_path": str(tmp_path)}), pytest.raises(
        SystemExit
    ) as exit_info:
        listening_facts.main()
    result = json.loads(capsys.readouterr().out)
    # An empty procfs: no tables to read, reported rather than fatal.
    assert exit_info.value.code == 0
    assert result["ansible_facts"]["listening_sockets"] == []
    assert len(result["ansible_facts"]["listening_sockets_meta"]["unreadable"]) == 4
    missing = {"source": "sock_diag", "proc_path": str(tmp_path / "missing")}
    with patch_module_args(missing), pytest.raises(SystemExit) as exit_info:
        listening_facts.main()
    result = json.loads(capsys.readouterr().out)
    assert exit_info.value.code == 1
    assert result["failed"] is True
    assert result["msg"].startswith(f"cannot list processes in {tmp_path / 'missing'}")
