# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""listening_facts end to end on a modelled rpcbind host; test_listening_facts_kernel.py runs it on
the real kernel of the test machine."""

import json
import os
import sys

import pytest
import yaml
from ansible_collections.portguard.hardening.plugins.module_utils._read import listening
from ansible_collections.portguard.hardening.plugins.module_utils._sockets import SockDiagError
from ansible_collections.portguard.hardening.plugins.module_utils._systemd_sockets import (
    parse_show,
    summarize_units,
)
from ansible_collections.portguard.hardening.plugins.modules import listening_facts
from ansible_collections.portguard.hardening.plugins.modules.listening_facts import (
    GatherError,
    gather,
)
from module_args import patch_module_args
from support import socket_entry as entry

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "module_utils", "fixtures")


def _read(*parts, **kw):
    with open(os.path.join(FIXTURES, *parts), kw.get("mode", "r")) as f:
        return f.read()


def users(uid):
    return {0: "root", 107: "_rpc", 33: "www-data"}.get(uid, str(uid))


def systemctl_ok(args):
    if args[0] == "list-units":
        return 0, _read("systemd", "rpcbind_list_units.txt"), ""
    if "LoadState" in args:
        return 0, _unit_blocks(args[args.index("--") + 1 :]), ""
    return 0, _read("systemd", "rpcbind_show.txt"), ""


def _unit_blocks(names):
    """systemctl show of these units on the rpcbind host: a block each, in order."""
    known = {}
    for block in _read("systemd", "rpcbind_units_show.txt").split("\n\n"):
        known[block.split("Id=")[1].split("\n")[0]] = block.strip()
    return "\n\n".join(
        known.get(name, f"ControlGroup=\nId={name}\nLoadState=not-found") for name in names
    )


# The units the rpcbind host's sockets are attributed to, as PID 1 is asked about them.
UNITS_ASKED = ["cockpit.service", "nginx.service", "rpcbind.service"]


def proc(**fields):
    """A process as the facts show it, its names valid UTF-8 and its command line whole."""
    entry = {"name_raw": None, "exe_raw": None, "cmdline_raw": None, "cmdline_truncated": False}
    entry.update(fields)
    return entry


P1 = proc(
    pid=1,
    name="systemd",
    exe="/usr/lib/systemd/systemd",
    cmdline=["/sbin/init"],
    user="root",
    uid=0,
)
P49 = proc(
    pid=49,
    name="rpcbind",
    exe="/usr/sbin/rpcbind",
    cmdline=["/sbin/rpcbind", "-f", "-w"],
    user="_rpc",
    uid=107,
)
P72 = proc(
    pid=72,
    name="nginx",
    exe="/usr/sbin/nginx",
    cmdline=["nginx: master process /usr/sbin/nginx -g daemon on; master_process on;"],
    user="root",
    uid=0,
)
P73 = proc(
    pid=73,
    name="nginx",
    exe="/usr/sbin/nginx",
    cmdline=["nginx: worker process"],
    user="www-data",
    uid=33,
)


RPCBIND_HOST = [
    entry("tcp", "ipv4", "0.0.0.0", 80, 20130, "any", [P72, P73], "nginx.service"),
    entry(
        "tcp",
        "ipv4",
        "0.0.0.0",
        111,
        20111,
        "any",
        [P1, P49],
        "rpcbind.service",
        ["rpcbind.socket"],
    ),
    entry("tcp", "ipv4", "0.0.0.0", 2049, 0, "any", holders="kernel"),
    entry("tcp", "ipv6", "::", 80, 20131, "any", [P72, P73], "nginx.service", v6only=False),
    entry(
        "tcp",
        "ipv6",
        "::",
        111,
        20113,
        "any",
        [P1, P49],
        "rpcbind.service",
        ["rpcbind.socket"],
        v6only=False,
    ),
    entry(
        "tcp",
        "ipv6",
        "fe80::5054:ff:fe12:3456",
        8080,
        20132,
        "link_local",
        [P72, P73],
        "nginx.service",
        v6only=False,
    ),
    # Only systemd holds it: the unit is what cockpit.socket triggers.
    entry(
        "tcp",
        "ipv6",
        "::",
        9090,
        20150,
        "any",
        [P1],
        "cockpit.service",
        ["cockpit.socket"],
        v6only=False,
    ),
    entry(
        "udp",
        "ipv4",
        "0.0.0.0",
        111,
        20112,
        "any",
        [P1, P49],
        "rpcbind.service",
        ["rpcbind.socket"],
    ),
    entry("udp", "ipv4", "0.0.0.0", 784, 20120, "any", [P49], "rpcbind.service", uid=107),
    entry("udp", "ipv4", "0.0.0.0", 5353, 20300, "any", uid=104),
    entry("udp", "ipv6", "2606:4700::6810:84e5", 53, 20320, "public", v6only=False),
    entry(
        "udp",
        "ipv6",
        "::",
        111,
        20114,
        "any",
        [P1, P49],
        "rpcbind.service",
        ["rpcbind.socket"],
        v6only=False,
    ),
]

RPCBIND_META = {
    "source": "proc",
    "sock_diag_error": None,
    "v6only_guessed": 6,
    "bindv6only": False,
    "counts": {
        "total": 12,
        "tcp": 7,
        "udp": 5,
        "ipv4": 6,
        "ipv6": 6,
        "process": 9,
        "kernel": 1,
        "unknown": 2,
    },
    "unreadable_pids": 0,
    "vanished_pids": 1,
    "unreadable": [],
    "systemd": {
        "available": True,
        "reason": None,
        "socket_units": summarize_units(parse_show(_read("systemd", "rpcbind_show.txt"))),
        "cgroup_root": "/libpod_parent/libpod-abc123",
        "units": [
            {
                "unit": "cockpit.service",
                "id": "cockpit.service",
                "load_state": "loaded",
                "control_group": "",
            },
            {
                "unit": "nginx.service",
                "id": "nginx.service",
                "load_state": "loaded",
                "control_group": "/libpod_parent/libpod-abc123/system.slice/nginx.service",
            },
            {
                "unit": "rpcbind.service",
                "id": "rpcbind.service",
                "load_state": "loaded",
                "control_group": "/libpod_parent/libpod-abc123/system.slice/rpcbind.service",
            },
        ],
    },
}


def test_rpcbind_host(proc_tree):
    root = proc_tree("proc_rpcbind")
    calls = []

    def systemctl(args):
        calls.append(args)
        return systemctl_ok(args)

    facts, warnings = gather(proc_path=root, source="proc", systemctl=systemctl, user_lookup=users)
    assert facts["listening_sockets"] == RPCBIND_HOST
    assert facts["listening_sockets_meta"] == RPCBIND_META
    assert warnings == []
    # Three calls: the socket units, their Listen= and Triggers=, then the sockets' units.
    assert [c[0] for c in calls] == ["list-units", "show", "show"]
    show = ["show", "--no-pager", "-p", "Id", "-p", "LoadState", "-p", "ControlGroup", "--"]
    assert calls[2] == show + UNITS_ASKED
    json.dumps(facts)  # must serialise as is


@pytest.mark.parametrize(
    "kwargs,inodes",
    [
        pytest.param({"protocols": ["udp"]}, [20112, 20120, 20300, 20320, 20114], id="udp-only"),
        pytest.param(
            {"families": ["ipv4"], "protocols": ["tcp"]}, [20130, 20111, 0], id="tcp4-only"
        ),
        pytest.param({"protocols": [], "families": ["ipv4"]}, [], id="nothing"),
    ],
)
def test_rpcbind_host_filters(proc_tree, kwargs, inodes):
    root = proc_tree("proc_rpcbind")
    facts, _warnings = gather(
        proc_path=root, source="proc", systemctl=systemctl_ok, user_lookup=users, **kwargs
    )
    assert [e["inode"] for e in facts["listening_sockets"]] == inodes
    assert facts["listening_sockets"] == [e for e in RPCBIND_HOST if e["inode"] in inodes]


def test_include_loopback_false(tmp_path, proc_tree):
    root = proc_tree("proc_rpcbind")
    with open(os.path.join(root, "net", "tcp"), "a") as f:
        f.write(
            "   9: 0100007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0"
            "        0 20500 1 0000000000000000 100 0 0 10 0\n"
        )
    with open(os.path.join(root, "net", "tcp6"), "a") as f:
        f.write(
            "   9: 0000000000000000FFFF00000100007F:0CEB "
            + "0" * 32
            + ":0000 0A 00000000:00000000 "
            "00:00000000 00000000     0        0 20501 1 0000000000000000 100 0 0 10 0\n"
        )
    kept, _w = gather(proc_path=root, source="proc", systemctl=None, user_lookup=users)
    assert [
        (e["address"], e["port"], e["scope"])
        for e in kept["listening_sockets"]
        if e["inode"] >= 20500
    ] == [
        ("127.0.0.1", 3306, "loopback"),
        ("::ffff:127.0.0.1", 3307, "loopback"),
    ]
    dropped, _w = gather(
        proc_path=root, source="proc", systemctl=None, user_lookup=users, include_loopback=False
    )
    assert [e["inode"] for e in dropped["listening_sockets"]] == [e["inode"] for e in RPCBIND_HOST]
    # The dropped IPv6 loopback socket needed no v6only guess.
    assert kept["listening_sockets_meta"]["v6only_guessed"] == 7
    assert dropped["listening_sockets_meta"]["v6only_guessed"] == 6


def test_without_systemd(proc_tree):
    root = proc_tree("proc_rpcbind")
    facts, warnings = gather(
        proc_path=root,
        source="proc",
        systemctl=None,
        systemd_unavailable="/run/systemd/system does not exist",
        user_lookup=users,
    )
    by_inode = dict((e["inode"], e) for e in facts["listening_sockets"])
    assert all(e["activated_by"] == [] for e in facts["listening_sockets"])
    assert by_inode[20150]["unit"] is None  # nothing says what pid 1 holds it for
    # The cgroup names the unit, but PID 1 could not confirm it.
    assert (
        by_inode[20111]["unit"],
        by_inode[20111]["unit_verified"],
        by_inode[20111]["unit_problem"],
    ) == ("rpcbind.service", False, "systemd was not asked: /run/systemd/system does not exist")
    assert facts["listening_sockets_meta"]["systemd"] == {
        "available": False,
        "reason": "/run/systemd/system does not exist",
        "socket_units": [],
        "cgroup_root": "/libpod_parent/libpod-abc123",
        "units": [],
    }
    assert warnings == []


def test_systemctl_failure_is_a_warning(proc_tree):
    root = proc_tree("proc_rpcbind")
    facts, warnings = gather(
        proc_path=root,
        source="proc",
        systemctl=lambda args: (1, "", "bus down\n"),
        user_lookup=users,
    )
    assert facts["listening_sockets_meta"]["systemd"] == {
        "available": False,
        "reason": "systemctl list-units failed (rc=1): bus down",
        "socket_units": [],
        "cgroup_root": "/libpod_parent/libpod-abc123",
        "units": [],
    }
    assert warnings == [
        "cannot list systemd socket units, activated_by is empty: "
        "systemctl list-units failed (rc=1): bus down"
    ]
    problems = set(e["unit_problem"] for e in facts["listening_sockets"] if e["unit"])
    assert problems == {"systemd was not asked: systemctl list-units failed (rc=1): bus down"}


def test_unit_query_failure_leaves_every_unit_unconfirmed(proc_tree):
    root = proc_tree("proc_rpcbind")

    def systemctl(args):
        if "LoadState" in args:
            return 1, "", "Access denied\n"
        return systemctl_ok(args)

    facts, warnings = gather(proc_path=root, source="proc", systemctl=systemctl, user_lookup=users)
    units = [e for e in facts["listening_sockets"] if e["unit"]]
    assert units and not any(e["unit_verified"] for e in units)
    assert set(e["unit_problem"] for e in units) == {
        "systemd was not asked: systemctl show failed (rc=1): Access denied"
    }
    assert facts["listening_sockets_meta"]["systemd"]["units"] == []
    assert warnings == [
        "cannot ask systemd about the sockets' units, none is confirmed: "
        "systemctl show failed (rc=1): Access denied"
    ]


def test_unreadable_pid1_cgroup_attributes_nothing(proc_tree):
    root = proc_tree("proc_rpcbind")
    os.unlink(os.path.join(root, "1", "cgroup"))
    facts, warnings = gather(
        proc_path=root, source="proc", systemctl=systemctl_ok, user_lookup=users
    )
    by_inode = dict((e["inode"], e) for e in facts["listening_sockets"])
    # rpcbind's cgroup is readable, but without PID 1's nobody knows where the units begin.
    assert [e["unit"] for e in facts["listening_sockets"] if e["processes"][1:]] == [None] * 7
    # Only systemd holds 9090: its unit is what cockpit.socket triggers, PID 1's own word.
    assert (by_inode[20150]["unit"], by_inode[20150]["unit_verified"]) == ("cockpit.service", True)
    assert facts["listening_sockets_meta"]["systemd"]["cgroup_root"] is None
    assert warnings == [
        f"cannot read {root}/1/cgroup (No such file or directory): without PID 1's cgroup no "
        "socket is attributed to a systemd unit"
    ]


def test_unreadable_process_is_reported_not_fatal(proc_tree, monkeypatch):
    root = proc_tree("proc_rpcbind")
    real = os.open

    def open_denied_for_49(path, *args, **kwargs):
        if os.fsdecode(path).endswith("/49/fd"):
            raise PermissionError(13, "Permission denied", path)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", open_denied_for_49)
    facts, warnings = gather(
        proc_path=root, source="proc", systemctl=systemctl_ok, user_lookup=users
    )
    by_inode = dict((e["inode"], e) for e in facts["listening_sockets"])
    assert by_inode[20120]["holders"] == "unknown"
    assert by_inode[20120]["processes"] == []
    assert by_inode[20120]["unit"] is None
    # Only systemd is visible now, so the unit comes from rpcbind.socket's Triggers=.
    assert by_inode[20111]["processes"] == [P1]
    assert by_inode[20111]["unit"] == "rpcbind.service"
    assert facts["listening_sockets_meta"]["unreadable_pids"] == 1
    assert warnings == [
        "could not read the open files of 1 process(es) (pid 49); sockets only they hold "
        "are reported with holders 'unknown'"
    ]


def test_missing_ipv6_tables_and_sysctl(proc_tree):
    root = proc_tree("proc_rpcbind")
    for name in ("tcp6", "udp6"):
        os.unlink(os.path.join(root, "net", name))
    facts, warnings = gather(proc_path=root, source="proc", systemctl=None, user_lookup=users)
    meta = facts["listening_sockets_meta"]
    assert meta["unreadable"] == [
        root + "/net/tcp6: No such file or directory",
        root + "/net/udp6: No such file or directory",
    ]
    assert meta["counts"]["ipv6"] == 0 and meta["bindv6only"] is None
    os.unlink(os.path.join(root, "sys", "net", "ipv6", "bindv6only"))
    with open(os.path.join(root, "net", "tcp6"), "w") as f:
        f.write(_read("proc_rpcbind", "net", "tcp6"))
    facts, _w = gather(proc_path=root, source="proc", systemctl=None, user_lookup=users)
    meta = facts["listening_sockets_meta"]
    assert meta["bindv6only"] is False and meta["v6only_guessed"] == 4
    assert meta["unreadable"][-1] == root + "/sys/net/ipv6/bindv6only: No such file or directory"


def _captured_dump(family, protocol, **_kwargs):
    name = "sockdiag_{}{}.bin".format({6: "tcp", 17: "udp"}[protocol], {2: "4", 10: "6"}[family])
    return _read("captured", name, mode="rb")


def test_sock_diag_source_with_captured_replies(monkeypatch, proc_tree):
    root = proc_tree("captured/proc_hostile.json")
    monkeypatch.setattr(listening, "dump_sock_diag", _captured_dump)
    facts, warnings = gather(
        proc_path=root,
        source="sock_diag",
        systemctl=None,
        user_lookup=users,
        interface_name={1: "lo"}.get,
    )
    sockets = facts["listening_sockets"]
    assert [
        (e["protocol"], e["family"], e["address"], e["port"], e["interface"], e["v6only"])
        for e in sockets
    ] == [
        ("tcp", "ipv4", "0.0.0.0", 2024, None, None),
        ("tcp", "ipv4", "127.0.0.1", 33773, "lo", None),
        ("tcp", "ipv4", "127.0.0.1", 52265, None, None),
        ("tcp", "ipv6", "::", 36421, None, False),
        ("tcp", "ipv6", "::ffff:127.0.0.1", 38051, None, False),
        ("tcp", "ipv6", "::1", 60821, None, True),
        ("udp", "ipv4", "127.0.0.1", 59390, None, None),
        ("udp", "ipv6", "::", 41960, None, False),
        ("udp", "ipv6", "::1", 41993, None, True),
    ]
    # The capturing process is not in this tree, so nobody visible holds them.
    assert set(e["holders"] for e in sockets) == {"unknown"}
    meta = facts["listening_sockets_meta"]
    assert (meta["source"], meta["v6only_guessed"], meta["bindv6only"]) == ("sock_diag", 0, None)
    assert warnings == []


@pytest.mark.parametrize(
    "error",
    [
        SockDiagError("sock_diag dump failed: errno 2 (No such file or directory)", 2),
        OSError(93, "Protocol not supported"),
    ],
)
def test_auto_falls_back_to_proc(monkeypatch, proc_tree, error):
    root = proc_tree("proc_rpcbind")

    def broken(*_args, **_kwargs):
        raise error

    monkeypatch.setattr(listening, "dump_sock_diag", broken)
    facts, warnings = gather(
        proc_path=root, source="auto", systemctl=systemctl_ok, user_lookup=users
    )
    assert facts["listening_sockets"] == RPCBIND_HOST
    meta = facts["listening_sockets_meta"]
    assert meta["source"] == "proc"
    assert meta["sock_diag_error"] == str(error)
    assert warnings == [
        f"sock_diag failed ({error}); read /proc/net instead, which lacks bound interfaces "
        "and IPV6_V6ONLY"
    ]
    with pytest.raises(GatherError):
        gather(proc_path=root, source="sock_diag", systemctl=None)


FAKE_SYSTEMCTL = """#!{python}
import json, os, sys
with open({log!r}, "a") as log:
    env = dict((k, os.environ.get(k)) for k in ("LC_ALL", "SYSTEMD_COLORS", "SYSTEMD_PAGER"))
    log.write(json.dumps({{"args": sys.argv[1:], "env": env}}) + "\\n")
if sys.argv[1] == "list-units":
    name = "rpcbind_list_units.txt"
elif "LoadState" in sys.argv:
    name = "rpcbind_units_show.txt"
else:
    name = "rpcbind_show.txt"
with open(os.path.join({fixtures!r}, name)) as f:
    sys.stdout.write(f.read())
"""


def test_main_asks_systemctl_three_times_per_run(capsys, monkeypatch, tmp_path, proc_tree):
    """main() finds systemctl on PATH and runs it three times, with argv only, a C locale and
    no pager or colours: the socket units, what they listen on, then the sockets' units."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.jsonl"
    script = bin_dir / "systemctl"
    script.write_text(
        FAKE_SYSTEMCTL.format(
            python=sys.executable, log=str(log), fixtures=os.path.join(FIXTURES, "systemd")
        )
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir) + os.pathsep + os.environ.get("PATH", ""))
    monkeypatch.setattr(listening, "SYSTEMD_BOOTED_MARKER", str(tmp_path))
    root = proc_tree("proc_rpcbind")
    with patch_module_args({"source": "proc", "proc_path": root}), pytest.raises(
        SystemExit
    ) as exit_info:
        listening_facts.main()
    assert exit_info.value.code == 0
    facts = json.loads(capsys.readouterr().out)["ansible_facts"]
    assert facts["listening_sockets_meta"]["systemd"] == RPCBIND_META["systemd"]
    assert [(e["unit"], e["unit_verified"]) for e in facts["listening_sockets"]] == [
        (e["unit"], e["unit_verified"]) for e in RPCBIND_HOST
    ]
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert [c["args"][:2] for c in calls] == [
        ["list-units", "--type=socket"],
        ["show", "--no-pager"],
        ["show", "--no-pager"],
    ]
    assert calls[1]["args"][-8:] == [
        "--",
        "cockpit.socket",
        "dbus.socket",
        "rpcbind.socket",
        "systemd-journald.socket",
        "systemd-networkd.socket",
        "web-proxy.socket",
        "syslog.socket",
    ]
    assert (
        calls[2]["args"]
        == [
            "show",
            "--no-pager",
            "-p",
            "Id",
            "-p",
            "LoadState",
            "-p",
            "ControlGroup",
            "--",
        ]
        + UNITS_ASKED
    )
    for call in calls:
        assert call["env"] == {"LC_ALL": "C", "SYSTEMD_COLORS": "0", "SYSTEMD_PAGER": ""}


# --- documentation matches the code ---------------------------------------------------------------


def test_documentation_matches_argument_spec():
    doc = yaml.safe_load(listening_facts.DOCUMENTATION)
    assert doc["module"] == "listening_facts"
    assert str(doc["version_added"]) == "0.1.0"
    assert doc["attributes"]["check_mode"]["support"] == "full"
    assert doc["attributes"]["diff_mode"]["support"] == "none"
    assert doc["attributes"]["facts"]["support"] == "full"
    assert set(doc["options"]) == set(listening_facts.ARGUMENT_SPEC)
    for name, spec in listening_facts.ARGUMENT_SPEC.items():
        option = doc["options"][name]
        for key in ("type", "default", "choices", "elements"):
            assert option.get(key) == spec.get(key), (name, key)
    yaml.safe_load(listening_facts.EXAMPLES)


def test_return_documents_every_field(proc_tree):
    root = proc_tree("proc_rpcbind")
    facts, _w = gather(proc_path=root, source="proc", systemctl=systemctl_ok, user_lookup=users)
    ret = yaml.safe_load(listening_facts.RETURN)["ansible_facts"]["contains"]
    assert set(ret) == set(facts)
    sockets = ret["listening_sockets"]["contains"]
    for e in facts["listening_sockets"]:
        assert set(e) == set(sockets)
        for p in e["processes"]:
            assert set(p) == set(sockets["processes"]["contains"])
    meta_doc = ret["listening_sockets_meta"]["contains"]
    meta = facts["listening_sockets_meta"]
    assert set(meta) == set(meta_doc)
    assert set(meta["systemd"]) == set(meta_doc["systemd"]["contains"])
    assert set(meta["counts"]) == set(meta_doc["counts"]["contains"])
    for unit in meta["systemd"]["socket_units"]:
        assert set(unit) == set(meta_doc["systemd"]["contains"]["socket_units"]["contains"])
