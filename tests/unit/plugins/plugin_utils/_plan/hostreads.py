# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host reads (exposed_ports_read results) made from the rulesets captured on real lab hosts."""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "_ruleset"))

from captured import FIXTURES, sockets  # noqa: E402

# The unit each captured host's firewall runs as.
FIREWALL_UNITS = {
    "ufw": ["ufw.service"],
    "nftables": ["nftables.service"],
    "iptables": ["netfilter-persistent.service"],
    "firewalld": ["firewalld.service"],
    "firewalld-docker": ["firewalld.service"],
    "docker": [],
    "legacy": [],
}
INSTALLED = ("firewalld.service", "nftables.service")


def unit(active, name=None):
    return {
        "load_state": "loaded",
        "active_state": "active" if active else "inactive",
        "sub_state": "exited" if active else "dead",
        "unit_file_state": "enabled" if active else "disabled",
    }


def host_read(scenario, firewalld_info=None, **host):
    """An exposed_ports_read result for a captured scenario; ``host`` overrides host keys."""
    with open(os.path.join(FIXTURES, f"{scenario}.host.json")) as f:
        captured = json.load(f)
    with open(os.path.join(FIXTURES, f"{scenario}.nft.json")) as f:
        nft = f.read()
    active = FIREWALL_UNITS[scenario]
    units = {name: unit(name in active) for name in INSTALLED + tuple(active)}
    read_host = {
        "version": 1,
        "units": units,
        "ufw": {"installed": scenario == "ufw", "enabled": scenario == "ufw", "ipv6": True},
        "tools": {"nft": "/usr/sbin/nft", "ip": "/usr/sbin/ip"},
        "ruleset": {
            "nft": nft,
            "iptables_nft_save": {
                "ipv4": captured["iptables_nft_save"] or None,
                "ipv6": captured["ip6tables_nft_save"] or None,
            },
            "iptables_legacy_save": {
                "ipv4": captured["iptables_legacy_save"] or None,
                "ipv6": captured["ip6tables_legacy_save"] or None,
            },
        },
        "interfaces": captured["interfaces"],
        "exports": "",
        "mounts": "",
        "ssh_connection": "10.88.0.1 50000 10.88.0.5 22",
        "pkg_mgr": "apt",
        "firewalld": {"default_zone": "public", "info": firewalld_info, "services": {},
                      "error": None} if firewalld_info is not None else None,
        "errors": [],
    }  # fmt: skip
    read_host.update(host)
    socks = [
        dict(
            s,
            scope="global"
            if not s["address"].startswith("127.") and s["address"] != "::1"
            else "loopback",
        )
        for s in sockets(captured)
    ]
    return {
        "listening_sockets": socks,
        "listening_sockets_meta": {"systemd": {"socket_units": []}},
        "host": read_host,
    }
