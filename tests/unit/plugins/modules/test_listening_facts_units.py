# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The hostile host of the issue, read and judged: every socket belongs to a system unit, and
only verified system services are ever stopped.

A procfs tree laid out as in the lab's podman containers (cgroup v1 hybrid with the host's
/libpod_parent/libpod-<id> prefix): system sshd and nginx, and an unprivileged user (uid 1000)
with a user manager running units named ssh, nginx, ``x' 'sshd.service``,
``![t](http:x).service`` and one with a terminal escape; a docker scope; a service with a
delegated subtree; a cgroup outside any systemd unit. systemctl answers as PID 1 would.
"""

import os

import pytest
from ansible_collections.portguard.hardening.plugins.modules.listening_facts import gather
from ansible_collections.portguard.hardening.plugins.plugin_utils._policy import evaluate

LAB = "/libpod_parent/libpod-abc123"
USER = "/user.slice/user-1000.slice/user@1000.service"
CID = "4f9c2e6b1a0d" + "7e" * 26
ESC = "\x1b]0;pwned\x07.service"

# pid: (comm, uid, cgroup path below the lab prefix, ports held)
PROCESSES = {
    1: ("systemd", 0, "/init.scope", ()),
    60: ("sshd", 0, "/system.slice/ssh.service", (22,)),
    72: ("nginx", 0, "/system.slice/nginx.service", (80,)),
    2001: ("python3", 1000, USER + "/app.slice/ssh.service", (4444,)),
    2002: ("python3", 1000, USER + "/app.slice/nginx.service", (8081,)),
    2003: ("python3", 1000, USER + "/app.slice/x' 'sshd.service", (2323,)),
    2004: ("python3", 1000, USER + "/app.slice/![t](http:x).service", (2324,)),
    2005: ("python3", 1000, USER + "/app.slice/" + ESC, (2325,)),
    3000: ("nginx", 0, f"/system.slice/docker-{CID}.scope", (8888,)),
    3100: ("python3", 0, "/system.slice/myapp.service/ssh.service", (2222,)),
    3200: ("nc", 0, "/x' 'sshd.service", (2326,)),
}
# What PID 1 has loaded, and the cgroup it gives each unit.
LOADED = {
    "ssh.service": LAB + "/system.slice/ssh.service",
    "nginx.service": LAB + "/system.slice/nginx.service",
    "user@1000.service": LAB + USER,
    f"docker-{CID}.scope": LAB + f"/system.slice/docker-{CID}.scope",
    "myapp.service": LAB + "/system.slice/myapp.service",
}


def _write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def _cgroup(path):
    full = LAB + path
    return f"12:name=systemd:{full}\n11:memory:{full}\n6:freezer:/\n0::{full}\n"


@pytest.fixture
def hostile_proc(tmp_path):
    root = str(tmp_path / "proc")
    lines = ["  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid"]
    for pid, (comm, uid, cgroup, ports) in PROCESSES.items():
        base = os.path.join(root, str(pid))
        _write(os.path.join(base, "comm"), comm + "\n")
        _write(os.path.join(base, "status"), f"Name:\t{comm}\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\n")
        _write(os.path.join(base, "cmdline"), comm + "\0")
        _write(os.path.join(base, "cgroup"), _cgroup(cgroup))
        os.makedirs(os.path.join(base, "fd"))
        os.symlink("/usr/bin/" + comm, os.path.join(base, "exe"))
        for fd, port in enumerate(ports, 3):
            inode = 30000 + port
            os.symlink(f"socket:[{inode}]", os.path.join(base, "fd", str(fd)))
            lines.append(
                f"   {len(lines)}: 00000000:{port:04X} 00000000:0000 0A 00000000:00000000 "
                f"00:00000000 00000000 {uid:5d}        0 {inode} 1 0000000000000000 100 0 0 10 0"
            )
    _write(os.path.join(root, "net", "tcp"), "\n".join(lines) + "\n")
    _write(os.path.join(root, "sys", "net", "ipv6", "bindv6only"), "0\n")
    return root


def fake_systemctl(calls):
    def run(args):
        calls.append(list(args))
        if args[0] == "list-units":
            return 0, "", ""
        names = args[args.index("--") + 1 :]
        blocks = []
        for name in names:
            if name in LOADED:
                blocks.append(f"ControlGroup={LOADED[name]}\nId={name}\nLoadState=loaded")
            else:
                blocks.append(f"ControlGroup=\nId={name}\nLoadState=not-found")
        return 0, "\n\n".join(blocks), ""

    return run


def _gather(root, calls):
    facts, warnings = gather(
        proc_path=root,
        source="proc",
        protocols=["tcp"],
        families=["ipv4"],
        systemctl=fake_systemctl(calls),
        user_lookup=lambda uid: "root" if uid == 0 else "mallory",
    )
    assert warnings == []
    return facts


BAD_CHARS = (
    "has characters systemd does not allow in a unit name (only ASCII letters, digits and "
    ": - _ . \\ @)"
)


def test_every_socket_belongs_to_the_system_unit_at_the_top_of_its_subtree(hostile_proc):
    calls = []
    facts = _gather(hostile_proc, calls)
    owners = [
        (
            e["port"],
            e["unit"],
            e["unit_verified"],
            e["user_manager"],
            e["user_unit"],
            e["container"],
            e["inner_cgroup"],
        )
        for e in facts["listening_sockets"]
    ]
    user = ("user@1000.service", True, 1000)
    assert owners == [
        (22, "ssh.service", True, None, None, None, None),
        (80, "nginx.service", True, None, None, None, None),
        (2222, "myapp.service", True, None, None, None, "ssh.service"),
        (2323, *user, "x' 'sshd.service", None, "app.slice/x' 'sshd.service"),
        (2324, *user, "![t](http:x).service", None, "app.slice/![t](http:x).service"),
        (2325, *user, ESC, None, "app.slice/" + ESC),
        (2326, "x' 'sshd.service", False, None, None, None, None),
        (4444, *user, "ssh.service", None, "app.slice/ssh.service"),
        (8081, *user, "nginx.service", None, "app.slice/nginx.service"),
        (8888, f"docker-{CID}.scope", True, None, None, CID, None),
    ]
    by_port = dict((e["port"], e) for e in facts["listening_sockets"])
    assert by_port[2326]["unit_problem"] == f"not a systemd unit name: it {BAD_CHARS}"
    # One question to PID 1, about the names that may reach a command line, as arguments.
    assert calls[-1] == [
        "show",
        "--no-pager",
        "-p",
        "Id",
        "-p",
        "LoadState",
        "-p",
        "ControlGroup",
        "--",
        f"docker-{CID}.scope",
        "myapp.service",
        "nginx.service",
        "ssh.service",
        "user@1000.service",
    ]
    assert facts["listening_sockets_meta"]["systemd"]["cgroup_root"] == LAB


RULES = [
    {"id": f"no-{port}", "match": {"ports": [port]}, "action": "disable"}
    for port in (80, 2222, 2323, 2324, 2325, 2326, 8081, 8888)
]
CONTEXT = {
    "management_ports": [{"port": 22, "protocol": "tcp"}],
    "management_units": ["ssh.service", "sshd.service", "ssh.socket"],
}
FALLBACK = ", so it cannot be disabled; port {}/tcp blocked in firewalld instead"
USER_NOTE = (
    "held by the user unit {} of the user manager user@1000.service, which runs every service "
    "of that user and is not the system's to stop"
)


def test_only_verified_system_services_are_stopped(hostile_proc):
    facts = _gather(hostile_proc, [])
    result = evaluate(facts["listening_sockets"], RULES, "report", False, CONTEXT)
    assert [(f["port"], f["action"], f["note"]) for f in result["findings"]] == [
        (80, "disable", None),
        (2222, "disable", None),
        (2323, "block", USER_NOTE.format("\"x' 'sshd.service\"") + FALLBACK.format(2323)),
        (2324, "block", USER_NOTE.format("'![t](http:x).service'") + FALLBACK.format(2324)),
        (2325, "block", USER_NOTE.format("'\\x1b]0;pwned\\x07.service'") + FALLBACK.format(2325)),
        (
            2326,
            "block",
            f"its unit \"x' 'sshd.service\" is not a systemd unit name: it {BAD_CHARS}"
            + FALLBACK.format(2326),
        ),
        # systemd-run --user --unit=ssh: not the management service, a finding like any other.
        (4444, "report", None),
        (8081, "block", USER_NOTE.format("'nginx.service'") + FALLBACK.format(8081)),
        (8888, "block", f"held by container '{CID}' (docker-{CID}.scope)" + FALLBACK.format(8888)),
    ]
    assert [(a["port"], a["unit"], a["management"]) for a in result["allowed"]] == [
        (22, "ssh.service", True)
    ]
    # The system's nginx goes because a rule names its own port 80, not because of 8081.
    assert [(u["unit"], u["ports"]) for u in result["plan"]["disable_units"]] == [
        ("myapp.service", ["2222/tcp"]),
        ("nginx.service", ["80/tcp"]),
    ]
    assert [b["port"] for b in result["plan"]["firewall_block"]] == [
        2323,
        2324,
        2325,
        2326,
        8081,
        8888,
    ]
    for finding in result["findings"]:
        assert "\x1b" not in (finding["note"] or "")


def test_without_its_own_rule_the_systems_nginx_is_untouched(hostile_proc):
    facts = _gather(hostile_proc, [])
    rules = [r for r in RULES if r["id"] != "no-80"]
    result = evaluate(facts["listening_sockets"], rules, "report", False, CONTEXT)
    assert [u["unit"] for u in result["plan"]["disable_units"]] == ["myapp.service"]
    assert [(f["port"], f["unit"], f["action"]) for f in result["findings"] if f["port"] == 80] == [
        (80, "nginx.service", "report")
    ]
