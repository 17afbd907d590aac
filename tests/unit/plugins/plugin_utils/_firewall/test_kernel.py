# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reach from the kernel's ruleset, in the policy's words."""

import os
import sys

import pytest
from ansible_collections.portguard.hardening.plugins.plugin_utils._firewall import kernel
from ansible_collections.portguard.hardening.plugins.plugin_utils._ruleset.model import (
    RulesetError,
)

sys.path.insert(
    0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "_plan")
)
from hostreads import host_read  # noqa: E402


def test_nothing_readable_leaves_every_socket_exposed_with_the_reason():
    sock = {"protocol": "tcp", "family": "ipv4", "address": "0.0.0.0", "port": 80}
    reach, notes, ruleset = kernel.kernel_reach({"ruleset": {"nft": None}}, [sock])
    assert ruleset is None
    why = "the kernel's ruleset could not be read: no output of nft or iptables-nft-save"
    assert notes == [why]
    assert reach == {
        ("tcp", "ipv4", "0.0.0.0", 80, None): {
            "exposure": "everyone",
            "sources": [],
            "via": [why],
            "kernel": {"exposure": "unknown", "reason": why, "unknown": [], "excluded": []},
        }
    }


@pytest.mark.parametrize(
    "ruleset, errors",
    [
        ("x", ["host.ruleset: expected a mapping, got 'x'"]),
        ({"nft": 5}, ["host.ruleset.nft: expected text, got 5"]),
        ({"iptables_nft_save": []}, ["host.ruleset.iptables_nft_save: expected a mapping of "
                                     "families, got a list"]),
        ({"iptables_legacy_save": {"ipv6": 1}},
         ["host.ruleset.iptables_legacy_save.ipv6: expected text, got 1"]),
    ],
)  # fmt: skip
def test_malformed_ruleset_names_the_field(ruleset, errors):
    with pytest.raises(RulesetError) as raised:
        kernel.read_ruleset(ruleset)
    assert raised.value.errors == errors


def test_iptables_save_without_nft_is_read_with_a_note():
    read = host_read("iptables")["host"]["ruleset"]
    read = dict(read, nft=None)
    ruleset, notes = kernel.read_ruleset(read)
    assert ("ip", "filter (iptables-legacy)") in ruleset.tables
    assert notes[0] == (
        "nft is not installed: the ipv4 iptables-nft tables were read from iptables-nft-save"
    )


@pytest.mark.parametrize(
    "scenario, port, address, exposure, sources",
    [
        ("ufw", 8080, "0.0.0.0", "everyone", []),
        ("ufw", 11211, "0.0.0.0", "restricted", ["198.51.100.0/24"]),
        ("ufw", 111, "0.0.0.0", "closed", []),
        ("nftables", 8080, "0.0.0.0", "restricted", ["10.97.14.0/24", "198.51.100.0/24"]),
        ("iptables", 8080, "0.0.0.0", "closed", []),
        ("legacy", 80, "0.0.0.0", "restricted", ["10.97.14.0/24"]),
    ],
)
def test_reach_of_captured_hosts(scenario, port, address, exposure, sources):
    read = host_read(scenario)
    reach, _notes, _ruleset = kernel.kernel_reach(read["host"], read["listening_sockets"])
    found = [r for k, r in reach.items() if k[3] == port and k[2] == address and k[0] == "tcp"]
    assert [(r["exposure"], r["sources"]) for r in found] == [(exposure, sources)]


def test_everyone_names_the_rule_that_admits():
    read = host_read("ufw")
    reach, _notes, _ruleset = kernel.kernel_reach(read["host"], read["listening_sockets"])
    assert reach[("tcp", "ipv4", "0.0.0.0", 8080, None)]["via"] == [
        "kernel: accept by ip filter ufw-user-input rule 2 (handle 104): tcp dport 8080 accept"
    ]


def test_interface_addresses_from_ip_json():
    links = [
        {"ifname": "lo", "addr_info": [{"local": "127.0.0.1", "prefixlen": 8}]},
        {
            "ifname": "eth0",
            "addr_info": [
                {"local": "10.0.0.5", "prefixlen": 24},
                {"local": "fe80::1", "prefixlen": 64},
            ],
        },
        {"nope": 1},
        "junk",
    ]
    assert kernel.interface_addresses(links) == {
        "lo": ["127.0.0.1/8"],
        "eth0": ["10.0.0.5/24", "fe80::1/64"],
    }


def test_without_the_hosts_addresses_every_listener_counts_as_exposed():
    read = host_read("ufw")
    read["host"]["interfaces"] = [{"ifname": "lo", "addr_info": [{"local": "127.0.0.1"}]}]
    reach, notes, _ruleset = kernel.kernel_reach(read["host"], read["listening_sockets"])
    why = "the host's addresses could not be read (ip -j addr): every listener counts as exposed"
    assert notes[-1] == why
    assert {r["exposure"] for r in reach.values()} == {"everyone"}
    assert reach[("tcp", "ipv4", "0.0.0.0", 111, None)]["via"] == [why]


def test_a_published_container_port_is_exposed_whatever_the_input_path_says():
    """Docker's DNAT of 9090 rewrites the packets before input: the probes reached 9090."""
    read = host_read("docker")
    reach, _notes, ruleset = kernel.kernel_reach(read["host"], read["listening_sockets"])
    assert kernel.forwarded_ports(ruleset) == {("tcp", 9090): "ip nat DOCKER"}
    published = [r for k, r in reach.items() if k[3] == 9090]
    assert published and {r["exposure"] for r in published} == {"everyone"}
    assert published[0]["via"] == [
        "kernel: a port forward (DNAT in ip nat DOCKER) rewrites its packets before the input "
        "path: no input rule decides who reaches it"
    ]
