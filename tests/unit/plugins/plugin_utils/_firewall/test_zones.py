# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A closing rule goes to every firewalld zone that admits the port from another host."""

import pytest
from ansible_collections.portguard.hardening.plugins.module_utils._firewalld import firewall_view
from ansible_collections.portguard.hardening.plugins.plugin_utils._firewall.zones import zones_for
from ansible_collections.portguard.hardening.plugins.plugin_utils._ruleset.evaluate import is_inside


def zone(interfaces=(), sources=(), ports=(), services=(), target="default", rich=()):
    return {"interfaces": list(interfaces), "sources": list(sources), "ports": list(ports),
            "services": list(services), "target": target, "rich_rules": list(rich)}  # fmt: skip


VIEW = firewall_view(
    "running",
    {
        "default_zone": "public",
        "zones": {
            "public": zone(["eth0"], ports=[["5432", "tcp"]], services=["ssh"]),
            "internal": zone(["eth1"], ports=[["3306", "tcp"], ["5432", "tcp"]]),
            "docker": zone(["docker0", "br-3f2a9c1d7e5b"], target="ACCEPT"),
            "trusted": zone(sources=["192.0.2.0/24"], target="ACCEPT"),
            "work": zone(rich=['rule family="ipv4" port port="9100" protocol="tcp" accept']),
            "drop": zone(target="DROP"),
        },
    },
    {"ssh": ["22/tcp"]},
)


@pytest.mark.parametrize(
    "port, expected",
    [
        ((3306, "tcp"), ["internal", "trusted"]),
        ((5432, "tcp"), ["internal", "public", "trusted"]),
        ((22, "tcp"), ["public", "trusted"]),
        # Only the source-bound ACCEPT zone admits it; the docker zone's ACCEPT comes from guests.
        ((8080, "tcp"), ["trusted"]),
    ],
)
def test_every_zone_that_admits_the_port(port, expected):
    assert zones_for(VIEW, [port]) == {port: expected}


def test_inactive_zones_are_not_written():
    # "work" has neither interfaces nor sources and is not the default: it admits nobody.
    assert "work" not in zones_for(VIEW, [(9100, "tcp")])[(9100, "tcp")]


def test_default_zone_when_no_zone_admits_the_port():
    view = firewall_view("running", {"default_zone": "public",
                                     "zones": {"public": zone(["eth0"])}}, {})  # fmt: skip
    assert zones_for(view, [(8080, "tcp")]) == {(8080, "tcp"): ["public"]}


def test_the_users_zone_is_the_only_one():
    assert zones_for(VIEW, [(3306, "tcp"), (5432, "tcp")], "internal") == {
        (3306, "tcp"): ["internal"],
        (5432, "tcp"): ["internal"],
    }


@pytest.mark.parametrize(
    "name, inside",
    [
        ("docker0", True),
        ("br-3f2a9c1d7e5b", True),
        ("veth1a2b3c4", True),
        ("virbr0", True),
        ("podman1", True),
        # Uplinks that only look like a guest's bridge.
        ("br-ex", False),
        ("br-lan", False),
        ("vethernet", False),
        ("eth0", False),
    ],
)
def test_only_the_names_guest_tools_give_count_as_inside(name, inside):
    assert is_inside(name) is inside


def test_a_zone_on_an_uplink_named_like_a_bridge_is_written_to():
    view = firewall_view(
        "running",
        {"default_zone": "public",
         "zones": {"public": zone(["br-ex"], ports=[["8080", "tcp"]])}},
        {},
    )  # fmt: skip
    assert zones_for(view, [(8080, "tcp")]) == {(8080, "tcp"): ["public"]}
