# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Process names exact whatever their bytes."""

import json
import subprocess
import sys

import pytest
from ansible_collections.portguard.hardening.plugins.module_utils._owners import (
    decode_name,
    parse_cmdline,
    parse_comm,
    read_process,
)

# ---------------------------------------------------------------------------
# Names


@pytest.mark.parametrize(
    "raw,text,raw_hex",
    [
        pytest.param(b"rpcbind", "rpcbind", None, id="ascii"),
        pytest.param(b'a b\n"q"\x00', 'a b\n"q"\x00', None, id="utf8-controls-kept"),
        pytest.param(b"caf\xc3\xa9", "caf\u00e9", None, id="utf8"),
        pytest.param(b"\xff\xfebad", "\ufffd\ufffdbad", "fffe626164", id="not-utf8"),
        pytest.param(b"\\xff\\xfebad", "\\xff\\xfebad", None, id="text-that-looks-escaped"),
        pytest.param(b"\xef\xbf\xbdbad", "\ufffdbad", None, id="a-real-replacement-character"),
        pytest.param(b"\xed\xa0\x80x", "\ufffd\ufffd\ufffdx", "eda08078", id="encoded-surrogate"),
        pytest.param(b"caf\xc3", "caf\ufffd", "636166c3", id="cut-character"),
        pytest.param(b"", "", None, id="empty"),
    ],
)
def test_decode_name(raw, text, raw_hex):
    assert decode_name(raw) == (text, raw_hex)
    # Always JSON-safe: no lone surrogates, whatever the bytes.
    assert json.loads(json.dumps([text, raw_hex])) == [text, raw_hex]
    if raw_hex is not None:
        assert bytes.fromhex(raw_hex) == raw


def test_bytes_and_the_text_of_their_escape_are_told_apart():
    raw_bytes = decode_name(b"\xff\xfebad")
    escape_text = decode_name(b"\\xff\\xfebad")
    assert raw_bytes != escape_text
    assert raw_bytes == ("\ufffd\ufffdbad", "fffe626164")
    assert escape_text == ("\\xff\\xfebad", None)


@pytest.mark.parametrize(
    "raw,expected",
    [
        (b"rpcbind\n", ("rpcbind", None)),
        (b"a b\n", ("a b", None)),
        (b"(x)\n", ("(x)", None)),
        (b'"q"\n', ('"q"', None)),
        (b"new\nline\n", ("new\nline", None)),
        (b"trail\n\n", ("trail\n", None)),  # only the kernel's newline goes
        (b"\xff\xfe\n", ("\ufffd\ufffd", "fffe")),
        (b"\\xff\\xfe\n", ("\\xff\\xfe", None)),
        (b"caf\xc3\xa9\n", ("caf\u00e9", None)),
        (b"kworker/0:1\n", ("kworker/0:1", None)),
        (b"", ("", None)),
    ],
)
def test_parse_comm(raw, expected):
    assert parse_comm(raw) == expected


@pytest.mark.parametrize(
    "raw,expected",
    [
        (b"/usr/sbin/rpcbind\0-f\0-w\0", (["/usr/sbin/rpcbind", "-f", "-w"], None)),
        (b"nginx: master process\0", (["nginx: master process"], None)),
        (b"prog\0arg with space\0\0last\0", (["prog", "arg with space", "", "last"], None)),
        (b"prog\0\0", (["prog", ""], None)),  # a trailing empty argument survives
        (b"setproctitle without nul", (["setproctitle without nul"], None)),
        (b"bad\xff\0ok\0", (["bad\ufffd", "ok"], ["626164ff", "6f6b"])),
        (b"bad\\xff\0ok\0", (["bad\\xff", "ok"], None)),
        (b"a\0\xff\xfebad\0", (["a", "\ufffd\ufffdbad"], ["61", "fffe626164"])),
        (b"", ([], None)),  # kernel threads and zombies
    ],
)
def test_parse_cmdline(raw, expected):
    assert parse_cmdline(raw) == expected


# ---------------------------------------------------------------------------
# On the real kernel


@pytest.fixture
def named_children():
    """Two processes on this host: comm set to the bytes ff fe 62 61 64, and to the text
    \\xff\\xfebad."""
    code = (
        "import sys, time\n"
        "open('/proc/self/comm', 'wb').write(bytes.fromhex(sys.argv[1]))\n"
        "print(flush=True)\n"
        "time.sleep(30)\n"
    )
    children = []
    try:
        for comm in (b"\xff\xfebad", b"\\xff\\xfebad"):
            child = subprocess.Popen(
                [sys.executable, "-c", code, comm.hex()], stdout=subprocess.PIPE
            )
            children.append(child)
            child.stdout.readline()  # the comm is set
        yield [child.pid for child in children], code
    finally:
        for child in children:
            child.kill()
            child.wait()
            child.stdout.close()


def test_real_processes_with_ambiguous_names(named_children):
    (raw_pid, text_pid), code = named_children
    raw = read_process("/proc", raw_pid)
    text = read_process("/proc", text_pid)
    assert (raw["name"], raw["name_raw"]) == ("\ufffd\ufffdbad", "fffe626164")
    assert (text["name"], text["name_raw"]) == ("\\xff\\xfebad", None)
    for process, comm in ((raw, b"\xff\xfebad"), (text, b"\\xff\\xfebad")):
        assert process["cmdline"] == [sys.executable, "-c", code, comm.hex()]
        assert process["cmdline_raw"] is None
