# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The line between pure tests and kernel tests (tests/unit/conftest.py) holds."""

import os
import socket

import pytest

MARK_IT = "this test uses the kernel; mark it @pytest.mark.kernel"


def read(path):
    with open(path, "rb") as f:
        return f.read()


@pytest.mark.parametrize(
    "use",
    [
        lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM),
        lambda: socket.create_connection(("127.0.0.1", 9)),
        lambda: read("/proc/self/status"),
        lambda: read(b"/sys/kernel/hostname"),
        lambda: os.listdir("/proc"),
        lambda: os.readlink("/proc/self/exe"),
    ],
    ids=["socket", "connect", "proc", "sys-bytes", "listdir", "readlink"],
)
def test_an_unmarked_test_cannot_reach_the_kernel(use):
    with pytest.raises(BaseException, match=MARK_IT) as raised:
        use()
    # Not an OSError: code under test that catches those cannot take it for the host's answer.
    assert not isinstance(raised.value, Exception)


def test_other_paths_stay_open(tmp_path):
    path = tmp_path / "proc" / "1"
    path.parent.mkdir()
    path.write_text("x", encoding="ascii")
    assert read(str(path)) == b"x"


@pytest.mark.kernel
def test_a_marked_test_has_the_kernel():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        assert sock.getsockname()[1] > 0
    with open("/proc/self/status", encoding="ascii") as f:
        assert f.readline().startswith("Name:")
