# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which firewalls a host runs, and which backend closes its ports."""

import pytest
from ansible_collections.portguard.hardening.plugins.module_utils._values import PolicyError
from ansible_collections.portguard.hardening.plugins.plugin_utils._firewall import detect
from ansible_collections.portguard.hardening.plugins.plugin_utils._ruleset.model import (
    parse_ruleset,
)


def unit(active="inactive", load="loaded", file_state="disabled"):
    return {
        "load_state": load,
        "active_state": active,
        "sub_state": "",
        "unit_file_state": file_state,
    }


ABSENT = unit(load="not-found", file_state="")
MASKED = unit(load="masked", file_state="masked")


def host(firewalld=None, ufw=None, nftables=None, persistent=None, nft=True, pkg="apt"):
    """A host read's firewall parts; a unit left out is not installed."""
    return {
        "units": {
            "firewalld.service": firewalld or ABSENT,
            "ufw.service": ABSENT if ufw is None else unit("active" if ufw else "inactive"),
            "nftables.service": nftables or ABSENT,
            "netfilter-persistent.service": persistent or ABSENT,
        },
        "ufw": {"installed": ufw is not None, "enabled": bool(ufw), "ipv6": True},
        "tools": {"nft": "/usr/sbin/nft" if nft else None},
        "pkg_mgr": pkg,
    }


def ruleset(*chains):
    """A ruleset with one ip table holding the given chains (names only)."""
    items = [{"table": {"family": "ip", "name": "filter", "handle": 1}}]
    items += [{"chain": {"family": "ip", "table": "filter", "name": n, "handle": i}}
              for i, n in enumerate(chains, 2)]  # fmt: skip
    return parse_ruleset({"nftables": items})


STOPPED = unit()
RUNNING = unit("active", file_state="enabled")


@pytest.mark.parametrize(
    "case, wanted, install, enable, name, start, install_out, why",
    [
        ("running firewalld", "auto", False, True, "firewalld", False, False,
         "firewalld is running"),
        ("ufw", "auto", False, True, "nftables", False, False,
         "the host runs ufw: closed beside it in table inet portguard"),
        ("nftables.service", "auto", True, True, "nftables", False, False,
         "the host runs nftables: closed beside it in table inet portguard"),
        ("iptables-persistent", "auto", True, True, "nftables", False, False,
         "the host runs iptables: closed beside it in table inet portguard"),
        ("stopped firewalld", "auto", False, True, "firewalld", True, False,
         "firewalld is installed and exposed_ports_firewall_enable is true"),
        ("stopped firewalld", "auto", False, False, "nftables", False, False,
         "no firewall runs: closed in table inet portguard"),
        ("masked firewalld", "auto", True, True, "nftables", False, False,
         "firewalld is masked: closed in table inet portguard"),
        ("nothing", "auto", False, True, "nftables", False, False,
         "no firewall runs: closed in table inet portguard"),
        ("nothing", "auto", True, True, "firewalld", True, True,
         "no firewall: exposed_ports_firewall_install is true"),
        ("running firewalld", "nftables", False, True, "nftables", False, False,
         "exposed_ports_firewall_backend is nftables"),
        ("ufw", "nftables", False, True, "nftables", False, False,
         "exposed_ports_firewall_backend is nftables"),
    ],
)  # fmt: skip
def test_choose(case, wanted, install, enable, name, start, install_out, why):
    hosts = {
        "running firewalld": host(firewalld=RUNNING),
        "ufw": host(firewalld=STOPPED, ufw=True),
        "nftables.service": host(nftables=RUNNING),
        "iptables-persistent": host(persistent=RUNNING),
        "stopped firewalld": host(firewalld=STOPPED),
        "masked firewalld": host(firewalld=MASKED),
        "nothing": host(),
    }
    h = hosts[case]
    chosen = detect.choose(h, detect.seen(h, None), wanted, install, enable)
    assert chosen == {"name": name, "why": why, "start": start, "install": install_out,
                      "problem": None}  # fmt: skip


@pytest.mark.parametrize(
    "h, wanted, install, enable, message",
    [
        (host(firewalld=STOPPED, ufw=True), "firewalld", True, True,
         "exposed_ports_firewall_backend: firewalld would be a second firewall beside ufw "
         "(starting it stops or flushes theirs); choose auto or nftables"),
        (host(firewalld=MASKED), "firewalld", True, True,
         "exposed_ports_firewall_backend: firewalld is masked on this host: the admin switched "
         "it off; choose auto or nftables"),
        (host(firewalld=STOPPED), "firewalld", False, False,
         "exposed_ports_firewall_backend: firewalld is stopped and "
         "exposed_ports_firewall_enable is false"),
        (host(), "firewalld", False, True,
         "exposed_ports_firewall_backend: firewalld is not installed and "
         "exposed_ports_firewall_install is false"),
        (host(), "iptables", False, True,
         "exposed_ports_firewall_backend: 'iptables' is not one of auto, firewalld, nftables"),
        (host(ufw=True), "ufw", False, True,
         "exposed_ports_firewall_backend: 'ufw' is not one of auto, firewalld, nftables (ufw "
         "hosts get the collection's nftables table: choose auto or nftables)"),
    ],
)  # fmt: skip
def test_choose_refuses(h, wanted, install, enable, message):
    with pytest.raises(PolicyError) as raised:
        detect.choose(h, detect.seen(h, None), wanted, install, enable)
    assert raised.value.errors == [message]


def test_no_nft_means_no_backend_with_what_to_do():
    h = host(nftables=RUNNING, nft=False)
    chosen = detect.choose(h, detect.seen(h, None))
    assert chosen["name"] is None
    assert chosen["problem"] == (
        "nftables (the nft command) is not installed, so the collection's table cannot close "
        "ports: install the nftables package, or let the role install firewalld on a host with "
        "no firewall (exposed_ports_firewall_install)"
    )


def test_firewalld_started_only_with_a_package_manager_to_install():
    h = host(pkg="unknown")
    chosen = detect.choose(h, detect.seen(h, None), "auto", True, True)
    assert chosen["name"] is None
    assert chosen["problem"] == "firewalld cannot be installed: no known package manager"


def test_seen_names_docker_ufw_chains_and_the_own_table():
    rs = ruleset("DOCKER", "DOCKER-USER", "ufw-user-input")
    rs.tables[("inet", "portguard")] = rs.tables[("ip", "filter")]
    h = host(firewalld=MASKED, ufw=False)
    h["ufw"]["enabled"] = True  # enabled in ufw.conf; its chains are loaded
    assert detect.seen(h, rs) == [
        {"name": "firewalld", "state": "masked", "why": "firewalld.service is masked"},
        {"name": "ufw", "state": "active", "why": "ufw is enabled"},
        {"name": "docker", "state": "active", "why": "Docker's chains are loaded"},
        {"name": "portguard", "state": "active", "why": "table inet portguard is loaded"},
    ]


def test_docker_alone_keeps_firewalld_stopped():
    """Starting firewalld would flush Docker's rules: the own table closes ports instead."""
    h = host(firewalld=STOPPED)
    chosen = detect.choose(h, detect.seen(h, ruleset("DOCKER")))
    assert (chosen["name"], chosen["why"]) == (
        "nftables",
        "the host runs docker: closed beside it in table inet portguard",
    )


@pytest.mark.parametrize(
    "state, expected",
    [(ABSENT, "absent"), (MASKED, "masked"), (RUNNING, "active"), (STOPPED, "inactive"),
     (unit("reloading"), "active"), ({}, "absent")],
)  # fmt: skip
def test_unit_state(state, expected):
    assert detect.unit_state({"units": {"x.service": state}}, "x.service") == expected


def filtering(*tables):
    """A ruleset with an input filter base chain in each (family, name) table."""
    items = []
    for handle, (family, name) in enumerate(tables, 1):
        items.append({"table": {"family": family, "name": name, "handle": handle}})
        items.append({"chain": {"family": family, "table": name, "name": "input", "handle": 1,
                                "type": "filter", "hook": "input", "prio": 0,
                                "policy": "drop"}})  # fmt: skip
    return parse_ruleset({"nftables": items})


def test_a_ruleset_no_service_accounts_for_keeps_firewalld_stopped():
    """Rules a script or another tool loaded: firewalld would be a second firewall."""
    h = host(firewalld=STOPPED)
    found = detect.seen(h, filtering(("inet", "filter"), ("inet", "portguard")))
    assert found[-1] == {
        "name": "netfilter",
        "state": "active",
        "why": "tables filter traffic: inet filter",
    }
    chosen = detect.choose(h, found, "auto", True, True)
    assert (chosen["name"], chosen["start"], chosen["install"]) == ("nftables", False, False)


def test_firewalld_and_portguard_tables_are_not_another_firewall():
    h = host(firewalld=STOPPED)
    found = detect.seen(h, filtering(("inet", "firewalld"), ("inet", "portguard")))
    assert [f["name"] for f in found if f["state"] == "active"] == ["portguard"]
    assert detect.choose(h, found)["name"] == "firewalld"


def test_units_that_could_not_be_read_never_start_firewalld():
    h = host()
    h["units"] = {}
    found = detect.seen(h, None)
    assert found == [
        {"name": "unknown", "state": "active", "why": "the host's units could not be read"}
    ]
    chosen = detect.choose(h, found, "auto", True, True)
    assert (chosen["name"], chosen["install"]) == ("nftables", False)
    with pytest.raises(PolicyError):
        detect.choose(h, found, "firewalld", True, True)
