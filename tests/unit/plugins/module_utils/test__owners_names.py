# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Process names exact whatever their bytes, and command lines capped, read no further."""

import builtins
import json
import os
import subprocess
import sys
import time

import pytest
from ansible_collections.portguard.hardening.plugins.module_utils import _owners
from ansible_collections.portguard.hardening.plugins.module_utils._owners import (
    CMDLINE_MAX,
    cap_cmdline,
    cap_read_size,
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
# Command lines capped

EURO = "\u20ac".encode()  # three bytes
SMILE = "\U0001f600".encode()  # four bytes


@pytest.mark.parametrize(
    "raw,kept,truncated",
    [
        pytest.param(b"ab\0cd\0", b"ab\0cd\0", False, id="short"),
        pytest.param(b"abcd\0efghi\0", b"abcd\0efghi\0", False, id="limit-then-terminator"),
        pytest.param(b"abcd\0efghi", b"abcd\0efghi", False, id="exactly-the-limit"),
        pytest.param(b"abcd\0efghij", b"abcd\0", True, id="one-byte-over-without-nul"),
        pytest.param(b"abcd\0efghij\0", b"abcd\0", True, id="cut-argument-dropped"),
        pytest.param(b"abcd\0efghi\0k\0", b"abcd\0efghi", True, id="limit-at-argument-end"),
        pytest.param(b"a\0\0\0\0\0\0\0\0\0\0\0\0", b"a\0\0\0\0\0\0\0\0\0", True, id="empties"),
        pytest.param(b"abcdefghijklmn\0", b"abcdefghij", True, id="first-argument-cut"),
        pytest.param(b"abcdefghi\xc3\xa9\0", b"abcdefghi", True, id="no-half-character-2"),
        pytest.param(b"abcdefgh" + EURO, b"abcdefgh", True, id="no-half-character-3"),
        pytest.param(b"abcdefg" + SMILE, b"abcdefg", True, id="no-half-character-4"),
        pytest.param(b"abcdef" + SMILE + b"x", b"abcdef" + SMILE, True, id="whole-character-kept"),
        pytest.param(b"\xff" * 12, b"\xff" * 10, True, id="not-utf8-cut-by-bytes"),
        pytest.param(b"", b"", False, id="empty"),
    ],
)
def test_cap_cmdline(raw, kept, truncated):
    assert cap_cmdline(raw[: cap_read_size(10)], 10) == (kept, truncated)


def test_cap_cmdline_keeps_whole_arguments_up_to_the_limit():
    words = [b"/usr/bin/python3", b"-c", b"x" * 5000, b"y"]
    kept, truncated = cap_cmdline(b"\0".join(words) + b"\0", 4096)
    assert (kept, truncated) == (b"/usr/bin/python3\0-c\0", True)
    assert parse_cmdline(kept) == (["/usr/bin/python3", "-c"], None)


def _fake_process(root, pid, cmdline):
    base = os.path.join(root, str(pid))
    os.makedirs(base)
    for name, data in (
        ("comm", b"big\n"),
        ("status", b"Name:\tbig\nUid:\t1000\t1000\t1000\t1000\nNSpid:\t%d\n" % pid),
        ("cgroup", b"0::/system.slice/big.service\n"),
        ("cmdline", cmdline),
    ):
        with open(os.path.join(base, name), "wb") as f:
            f.write(data)
    os.symlink("/usr/bin/big", os.path.join(base, "exe"))


@pytest.fixture
def cmdline_reads(monkeypatch):
    """Bytes read from each cmdline file opened through _owners, by path."""
    reads = {}
    real_open = builtins.open

    class Counting:
        def __init__(self, f, path):
            self._f, self._path = f, path

        def read(self, size=-1):
            data = self._f.read(size)
            reads[self._path] = reads.get(self._path, 0) + len(data)
            return data

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self._f.close()

    def counting_open(path, *args, **kwargs):
        f = real_open(path, *args, **kwargs)
        return Counting(f, path) if str(path).endswith("cmdline") else f

    monkeypatch.setattr(_owners, "open", counting_open, raising=False)
    return reads


# 2 MiB of arguments and then some, as a process can have.
HUGE = b"big\0-x\0" + (b"y" * 2**20 + b"\0") * 2
WHOLE = len(HUGE) - 1  # without the terminating NUL


@pytest.mark.parametrize(
    "limit,cmdline,truncated",
    [
        pytest.param(CMDLINE_MAX, ["big", "-x"], True, id="default"),
        pytest.param(100, ["big", "-x"], True, id="100-bytes"),
        pytest.param(WHOLE, ["big", "-x", "y" * 2**20, "y" * 2**20], False, id="all-of-it"),
        pytest.param(0, None, False, id="no-command-lines"),
    ],
)
def test_read_process_reads_of_a_command_line_only_what_it_keeps(
    tmp_path, cmdline_reads, limit, cmdline, truncated
):
    _fake_process(str(tmp_path), 7, HUGE)
    process = read_process(
        str(tmp_path), 7, lambda uid: "u%d" % uid, cmdline_max=limit, roots=(None, "")
    )
    assert process["cmdline"] == cmdline
    assert process["cmdline_truncated"] is truncated
    assert process["cmdline_raw"] is None
    unit = process["owner"]["unit"]
    assert (process["name"], unit, process["user"]) == ("big", "big.service", "u1000")
    # The cap bounds the read as well as the facts.
    expected_read = 0 if limit == 0 else min(len(HUGE), cap_read_size(limit))
    assert sum(cmdline_reads.values()) == expected_read


# ---------------------------------------------------------------------------
# On the real kernel


@pytest.fixture
def named_children():
    """Two processes on this host: comm set to the bytes ff fe 62 61 64, and to the text
    \\xff\\xfebad; each with a 1 MiB command line."""
    code = (
        "import sys, time\n"
        "open('/proc/self/comm', 'wb').write(bytes.fromhex(sys.argv[1]))\n"
        "print(flush=True)\n"
        "time.sleep(30)\n"
    )
    big = ["z" * 100000] * 10
    children = []
    try:
        for comm in (b"\xff\xfebad", b"\\xff\\xfebad"):
            child = subprocess.Popen(
                [sys.executable, "-c", code, comm.hex()] + big, stdout=subprocess.PIPE
            )
            children.append(child)
            child.stdout.readline()  # the comm is set
        yield [child.pid for child in children], code
    finally:
        for child in children:
            child.kill()
            child.wait()
            child.stdout.close()


@pytest.mark.kernel
def test_real_processes_with_ambiguous_names_and_long_command_lines(named_children):
    (raw_pid, text_pid), code = named_children
    start = time.perf_counter()
    raw = read_process("/proc", raw_pid)
    text = read_process("/proc", text_pid)
    assert time.perf_counter() - start < 1
    assert (raw["name"], raw["name_raw"]) == ("\ufffd\ufffdbad", "fffe626164")
    assert (text["name"], text["name_raw"]) == ("\\xff\\xfebad", None)
    for process, comm in ((raw, b"\xff\xfebad"), (text, b"\\xff\\xfebad")):
        # The arguments up to the first 100 kB one; that one and the rest are left out.
        assert process["cmdline"] == [sys.executable, "-c", code, comm.hex()]
        assert process["cmdline_truncated"] is True
        assert process["cmdline_raw"] is None
        assert len(json.dumps(process)) < 2 * CMDLINE_MAX
