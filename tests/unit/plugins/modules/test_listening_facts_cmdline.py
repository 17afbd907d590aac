# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""listening_facts' cmdline_max: command lines capped in the facts, or left out."""

import json
import os
import socket

import pytest
from ansible_collections.portguard.hardening.plugins.modules import listening_facts
from ansible_collections.portguard.hardening.plugins.modules.listening_facts import gather
from module_args import patch_module_args


def _systemctl(args):
    return 1, "", "not here"


@pytest.mark.parametrize(
    "cmdline_max,cmdline_49,truncated",
    [
        pytest.param(4096, ["/sbin/rpcbind", "-f", "-w"], False, id="default"),
        pytest.param(16, ["/sbin/rpcbind", "-f"], True, id="last-argument-left-out"),
        pytest.param(5, ["/sbin"], True, id="first-argument-cut"),
        pytest.param(0, None, False, id="none"),
    ],
)
def test_gather_caps_every_command_line(proc_tree, cmdline_max, cmdline_49, truncated):
    root = proc_tree("proc_rpcbind")
    facts, _w = gather(proc_path=root, source="proc", systemctl=_systemctl, cmdline_max=cmdline_max)
    processes = dict((p["pid"], p) for e in facts["listening_sockets"] for p in e["processes"])
    assert (processes[49]["cmdline"], processes[49]["cmdline_truncated"]) == (
        cmdline_49,
        truncated,
    )
    for process in processes.values():
        if cmdline_max == 0:
            assert process["cmdline"] is None
        else:
            assert len("\0".join(process["cmdline"]).encode()) <= cmdline_max


@pytest.fixture
def listener():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    yield os.fstat(sock.fileno()).st_ino
    sock.close()


@pytest.mark.parametrize("cmdline_max", [0, 3])
@pytest.mark.kernel
def test_main_passes_cmdline_max(listener, capsys, cmdline_max):
    with patch_module_args({"protocols": ["tcp"], "cmdline_max": cmdline_max}), pytest.raises(
        SystemExit
    ) as exit_info:
        listening_facts.main()
    assert exit_info.value.code == 0
    sockets = json.loads(capsys.readouterr().out)["ansible_facts"]["listening_sockets"]
    (ours,) = [e for e in sockets if e["inode"] == listener]
    (me,) = [p for p in ours["processes"] if p["pid"] == os.getpid()]
    if cmdline_max == 0:
        assert (me["cmdline"], me["cmdline_truncated"]) == (None, False)
    else:
        # The interpreter's path is longer than 3 bytes: its first 3 are kept.
        with open("/proc/self/cmdline", "rb") as f:
            first = f.read().split(b"\0")[0][:3].decode()
        assert (me["cmdline"], me["cmdline_truncated"]) == ([first], True)


def test_main_rejects_a_negative_cmdline_max(capsys):
    with patch_module_args({"cmdline_max": -1}), pytest.raises(SystemExit) as exit_info:
        listening_facts.main()
    result = json.loads(capsys.readouterr().out)
    assert exit_info.value.code == 1
    assert result["msg"] == (
        "cmdline_max: expected 0 (no command lines) or a number of bytes, got -1"
    )
