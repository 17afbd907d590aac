# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shared vocabulary: one port test and one port label for every module."""

import pytest
from ansible_collections.portguard.hardening.plugins.module_utils._values import (
    is_port,
    port_label,
)


@pytest.mark.parametrize(
    "value, expected",
    [(1, True), (65535, True), (0, False), (65536, False), (-1, False), (True, False),
     ("22", False), (22.0, False), (None, False)],
)  # fmt: skip
def test_is_port(value, expected):
    assert is_port(value) is expected


def test_port_label():
    assert (port_label(22, "tcp"), port_label("111", "udp")) == ("22/tcp", "111/udp")
