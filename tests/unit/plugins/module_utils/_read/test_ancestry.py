# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""host.ssh_connection: the module's environment, else its nearest ancestor's."""

import json
import os

import pytest
from ansible_collections.portguard.hardening.plugins.module_utils._read.ancestry import (
    environ_value,
    find_ssh_connection,
    parent_pid,
    ssh_connection_problem,
)

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
CAPTURED_VALUE = "10.88.0.1 39890 10.88.0.159 22"


@pytest.mark.parametrize(
    "value, problem",
    [
        ("10.88.0.1 39890 10.88.0.159 22", None),
        ("2001:db8::1 50000 2001:db8::2 2222", None),
        ("::ffff:192.0.2.1 1 192.0.2.2 65535", None),
        ("", "expected 4 fields, got 0"),
        ("10.0.0.1 1 10.0.0.2", "expected 4 fields, got 3"),
        ("10.0.0.1 1 10.0.0.2 22 extra", "expected 4 fields, got 5"),
        ("10.0.0.1  1 10.0.0.2 22", "expected its fields separated by single spaces"),
        ("10.0.0.1 1 10.0.0.2 22\n", "expected its fields separated by single spaces"),
        ("host.example 1 10.0.0.2 22", "'host.example' is not an IP address"),
        ("10.0.0.1 1 10.0.0.256 22", "'10.0.0.256' is not an IP address"),
        ("10.0.0.1 0 10.0.0.2 22", "'0' is not a port (1-65535)"),
        ("10.0.0.1 1 10.0.0.2 65536", "'65536' is not a port (1-65535)"),
        ("10.0.0.1 1 10.0.0.2 -22", "'-22' is not a port (1-65535)"),
        ("10.0.0.1 1 10.0.0.2 \u00b2", "'\u00b2' is not a port (1-65535)"),
        ("10.0.0.1 1 10.0.0.2 $(id)", "'$(id)' is not a port (1-65535)"),
    ],
)
def test_validation(value, problem):
    assert ssh_connection_problem(value) == problem


@pytest.mark.parametrize(
    "data, value",
    [
        (b"A=1\0SSH_CONNECTION=1.2.3.4 5 6.7.8.9 22\0B=2\0", "1.2.3.4 5 6.7.8.9 22"),
        (b"SSH_CONNECTION=first\0SSH_CONNECTION=second\0", "first"),
        (b"XSSH_CONNECTION=no\0SSH_CONNECTIONS=no\0", None),
        (b"", None),
        # sshd writes its process title over its environment: NULs and stray text.
        (b"hd -D [listener] 0 of 10-100 startups\0\0\0=\0", None),
        (b"SSH_CONNECTION=\xff 1\0", "\ufffd 1"),
    ],
)
def test_environ_value(data, value):
    assert environ_value(data) == value


def _tree(tmp_path, processes, self_pid):
    """A procfs root of {pid: (stat, environ or None: unreadable)}, self linked to self_pid."""
    root = tmp_path / "proc"
    for pid, (stat, environ) in processes.items():
        base = root / str(pid)
        base.mkdir(parents=True)
        (base / "stat").write_bytes(stat)
        if environ is None:
            (base / "environ").mkdir()  # reading it fails, like EACCES
        else:
            (base / "environ").write_bytes(environ)
    os.symlink(str(self_pid), str(root / "self"))
    return str(root)


def _stat(pid, ppid, comm=b"sh"):
    return b"%d (%s) S %d 1 1 0 -1 4194304 0 0 0 0\n" % (pid, comm, ppid)


def test_captured_ssh_sudo_chain(tmp_path):
    """The real chain of `ssh deploy@host sudo python3`: python3 <- sudo <- sshd <- sshd <- sshd.
    sudo's environment is the login's, SSH_CONNECTION included; python3's is reset."""
    with open(os.path.join(FIXTURES, "ancestry_ssh_sudo.json")) as f:
        captured = json.load(f)
    processes = dict(
        (e["pid"], (bytes.fromhex(e["stat"]), bytes.fromhex(e["environ"])))
        for e in captured["chain"]
    )
    root = _tree(tmp_path, processes, captured["self"])
    assert find_ssh_connection({}, root) == (CAPTURED_VALUE, [])
    # The module's own environment comes first.
    assert find_ssh_connection({"SSH_CONNECTION": "192.0.2.1 2 192.0.2.3 4"}, root) == (
        "192.0.2.1 2 192.0.2.3 4",
        [],
    )


def test_nearest_ancestor_wins_and_pid1_is_not_read(tmp_path):
    env = b"SSH_CONNECTION=%s\0"
    root = _tree(
        tmp_path,
        {
            40: (_stat(40, 30), b"PATH=/bin\0"),
            30: (_stat(30, 20, b"sudo"), None),  # unreadable: skipped
            20: (_stat(20, 10, b"sh"), env % b"10.0.0.1 1000 10.0.0.2 22"),
            10: (_stat(10, 1, b"sshd"), env % b"10.0.0.9 9 10.0.0.8 8"),
            1: (_stat(1, 0, b"systemd"), env % b"10.0.0.7 7 10.0.0.6 6"),
        },
        40,
    )
    # /proc/self is the module (40): its own environ is not where os.environ comes from.
    assert find_ssh_connection({}, root) == ("10.0.0.1 1000 10.0.0.2 22", [])
    only_init = _tree(
        tmp_path / "init",
        {40: (_stat(40, 1), b""), 1: (_stat(1, 0, b"systemd"), env % b"10.0.0.7 7 10.0.0.6 6")},
        40,
    )
    assert find_ssh_connection({}, only_init) == ("", [])


@pytest.mark.parametrize(
    "value, error",
    [
        (b"10.0.0.1 1000 10.0.0.2", "expected 4 fields, got 3"),
        (b"10.0.0.1 1000 10.0.0.2 99999", "'99999' is not a port (1-65535)"),
        (b"10.0.0.1 1000 evil;rm 22", "'evil;rm' is not an IP address"),
    ],
)
def test_invalid_nearest_value_is_ignored(tmp_path, value, error):
    root = _tree(
        tmp_path,
        {
            40: (_stat(40, 20), b""),
            20: (_stat(20, 10), b"SSH_CONNECTION=" + value + b"\0"),
            10: (_stat(10, 1), b"SSH_CONNECTION=10.0.0.9 9 10.0.0.8 8\0"),
        },
        40,
    )
    assert find_ssh_connection({}, root) == (
        "",
        ["ignored the SSH_CONNECTION of ancestor process 20: " + error],
    )
    assert find_ssh_connection({"SSH_CONNECTION": value.decode()}, root) == (
        "",
        ["ignored the SSH_CONNECTION of the module's environment: " + error],
    )


def test_nothing_found_says_what_was_unreadable(tmp_path):
    root = _tree(
        tmp_path,
        {40: (_stat(40, 30), b""), 30: (_stat(30, 20), None), 20: (_stat(20, 1), b"")},
        40,
    )
    assert find_ssh_connection({}, root) == (
        "",
        [
            "no SSH_CONNECTION found; the environment of ancestor process(es) 30 (Is a directory) "
            "could not be read"
        ],
    )


def test_walk_is_bounded(tmp_path):
    """A parent chain that loops (or is very long) ends after max_steps ancestors."""
    root = _tree(tmp_path, {40: (_stat(40, 41), b""), 41: (_stat(41, 40), b"")}, 40)
    assert find_ssh_connection({}, root, max_steps=32) == ("", [])
    deep = dict((pid, (_stat(pid, pid - 1), b"")) for pid in range(3, 60))
    deep[2] = (_stat(2, 1), b"SSH_CONNECTION=10.0.0.1 1 10.0.0.2 22\0")
    root = _tree(tmp_path / "deep", deep, 59)
    assert find_ssh_connection({}, root, max_steps=32) == ("", [])
    assert find_ssh_connection({}, root, max_steps=60)[0] == "10.0.0.1 1 10.0.0.2 22"


@pytest.mark.parametrize(
    "stat, ppid",
    [
        (b"7 (a) b) S 3 7 7 0", 3),  # a command name with ") " in it
        (b"7 (x (y) z) R 12 7 7 0", 12),
        (b"7 (\n) S 5 1", 5),
        (b"7 (sh) S", None),
        (b"garbage", None),
    ],
)
def test_parent_pid(tmp_path, stat, ppid):
    (tmp_path / "7").mkdir()
    (tmp_path / "7" / "stat").write_bytes(stat)
    assert parent_pid(str(tmp_path), 7) == ppid
    assert parent_pid(str(tmp_path), 8) is None  # gone
