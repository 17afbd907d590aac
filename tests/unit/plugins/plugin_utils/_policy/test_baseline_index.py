# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Matching by key: the same answers as comparing every entry, for any socket a host reports."""

import pytest
from ansible_collections.portguard.hardening.plugins.plugin_utils._policy.baseline import (
    baseline_index,
    in_baseline,
    missing_from,
)

ENTRIES = [
    {"protocol": "tcp", "port": 22, "scope": "any", "unit": "ssh.service"},
    {"protocol": "udp", "port": 68, "scope": "any", "unit": None},
]


def sock(**fields):
    base = {"protocol": "tcp", "family": "ipv4", "address": "0.0.0.0", "port": 22}
    base.update(scope="any", unit="ssh.service")
    base.update(fields)
    return base


@pytest.mark.parametrize(
    "socket,expected",
    [
        pytest.param(sock(), True, id="same"),
        pytest.param(sock(family="ipv6", address="::"), True, id="family-ignored"),
        pytest.param(sock(protocol="udp", port=68, unit=None), True, id="none-unit"),
        pytest.param(sock(unit=["ssh.service"]), False, id="unit-a-list"),
        pytest.param(sock(scope={"any": 1}), False, id="scope-a-mapping"),
        pytest.param(sock(unit="ssh.service\x00"), False, id="unit-with-nul"),
        pytest.param(sock(unit="SSH.service"), False, id="case-matters"),
        pytest.param(sock(port=22.0), False, id="port-a-float"),
        pytest.param({"protocol": "tcp"}, False, id="fields-missing"),
    ],
)
def test_in_baseline_by_key(socket, expected):
    assert in_baseline(socket, baseline_index(ENTRIES)) is expected


def test_index_is_the_set_of_keys():
    assert baseline_index(ENTRIES * 3) == {
        ("tcp", 22, "any", "ssh.service"),
        ("udp", 68, "any", None),
    }


def test_missing_from_ignores_sockets_that_cannot_match():
    sockets = [sock(unit=["ssh.service"]), sock(protocol="udp", port=68, unit=None)]
    assert missing_from(ENTRIES, sockets) == [ENTRIES[0]]
