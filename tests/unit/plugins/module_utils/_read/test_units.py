# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""host.units: one systemctl show of the host units, read from captured output."""

import os

import pytest
from ansible_collections.portguard.hardening.plugins.module_utils._read.units import (
    HOST_UNITS,
    read_units,
)

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


def _fixture(name):
    with open(os.path.join(FIXTURES, name)) as f:
        return f.read()


def _state(id_, load, active, sub, file_state):
    return {
        "id": id_,
        "load_state": load,
        "active_state": active,
        "sub_state": sub,
        "unit_file_state": file_state,
    }


NOT_FOUND = "not-found", "inactive", "dead", ""


@pytest.mark.parametrize(
    "fixture, unit, expected",
    [
        (
            "systemctl_show_firewalld_running.txt",
            "firewalld.service",
            _state("firewalld.service", "loaded", "active", "running", "disabled"),
        ),
        (
            "systemctl_show_firewalld_running.txt",
            "ufw.service",
            _state("ufw.service", "loaded", "inactive", "dead", "enabled"),
        ),
        (
            "systemctl_show_firewalld_running.txt",
            "iptables.service",
            _state("iptables.service", *NOT_FOUND),
        ),
        (
            "systemctl_show_firewalld_running.txt",
            "rpcbind.socket",
            _state("rpcbind.socket", "loaded", "active", "running", "enabled"),
        ),
        (
            "systemctl_show_firewalld_running.txt",
            "portguard-nftables.service",
            _state("portguard-nftables.service", *NOT_FOUND),
        ),
        # An alias reports the unit it names.
        (
            "systemctl_show_netfilter_persistent.txt",
            "iptables.service",
            _state("netfilter-persistent.service", "loaded", "inactive", "dead", "enabled"),
        ),
        (
            "systemctl_show_netfilter_persistent.txt",
            "ip6tables.service",
            _state("netfilter-persistent.service", "loaded", "inactive", "dead", "enabled"),
        ),
    ],
)
def test_captured_states(fixture, unit, expected):
    calls = []

    def systemctl(args):
        calls.append(args)
        return 0, _fixture(fixture), ""

    units, errors = read_units(systemctl)
    assert errors == []
    assert sorted(units) == sorted(HOST_UNITS)
    assert units[unit] == expected
    assert calls == [
        ["show", "--no-pager"]
        + ["-p", "Id", "-p", "LoadState", "-p", "ActiveState", "-p", "SubState"]
        + ["-p", "UnitFileState", "--"]
        + list(HOST_UNITS)
    ]


@pytest.mark.parametrize(
    "systemctl, unavailable, error",
    [
        (
            None,
            "/run/systemd/system does not exist (not booted with systemd)",
            "units not read: /run/systemd/system does not exist (not booted with systemd)",
        ),
        (None, None, "units not read: no systemctl"),
        (
            lambda args: (1, "", "Failed to connect to bus: No such file or directory\n"),
            None,
            "units not read: systemctl show failed (rc=1): Failed to connect to bus: "
            "No such file or directory",
        ),
        # Fewer blocks than names: nothing is paired with the wrong unit.
        (
            lambda args: (0, "Id=firewalld.service\nLoadState=loaded\n", ""),
            None,
            "units not read: systemctl show described 1 unit(s) for 16 name(s)",
        ),
    ],
)
def test_without_units(systemctl, unavailable, error):
    assert read_units(systemctl, unavailable) == ({}, [error])
