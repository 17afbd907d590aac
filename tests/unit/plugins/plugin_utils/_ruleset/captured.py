# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The captured lab hosts under fixtures/: ruleset, interfaces, sockets and outside probes."""

import ipaddress
import json
import os

from ansible_collections.portguard.hardening.plugins.plugin_utils._ruleset.evaluate import (
    Evaluator,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._ruleset.iptables import (
    add_legacy,
    explain_xt,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._ruleset.model import (
    parse_ruleset,
)

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")


def load(scenario):
    with open(os.path.join(FIXTURES, f"{scenario}.host.json")) as f:
        host = json.load(f)
    with open(os.path.join(FIXTURES, f"{scenario}.nft.json")) as f:
        ruleset = parse_ruleset(f.read())
    explain_xt(ruleset, host["iptables_nft_save"], "ipv4")
    explain_xt(ruleset, host["ip6tables_nft_save"], "ipv6")
    add_legacy(ruleset, host["iptables_legacy_save"], "ipv4")
    add_legacy(ruleset, host["ip6tables_legacy_save"], "ipv6")
    return host, ruleset


def interfaces(host):
    """{name: [address/prefix]} from ``ip -j addr``."""
    return {
        link["ifname"]: [f"{a['local']}/{a['prefixlen']}" for a in link.get("addr_info", [])]
        for link in host["interfaces"]
    }


def sockets(host):
    """Listening sockets from ``ss -tulneH``, in the shape listening_facts reports."""
    found = []
    for line in host["listening"]:
        fields = line.split()
        protocol, local = fields[0], fields[4]
        address, _sep, port = local.rpartition(":")
        address, _pct, device = address.partition("%")
        if address in ("*", "[::]") or address.startswith("["):
            family = "ipv6"
            address = "::" if address == "*" else address.strip("[]")
            v6only = " v6only:1" in line if address != "::" or local[0] == "[" else False
        else:
            family, v6only = "ipv4", None
        found.append(
            {"protocol": protocol, "family": family, "address": address, "port": int(port),
             "v6only": v6only, "interface": device or None}
        )  # fmt: skip
    return found


def evaluator(scenario):
    host, ruleset = load(scenario)
    return host, Evaluator(ruleset, interfaces(host))


def admits(answer, source):
    """Whether an answer lets a packet from this source address in."""
    if answer["exposure"] == "nobody":
        return False
    addr = ipaddress.ip_address(source)
    family = answer["families"][f"ipv{addr.version}"]
    if family["exposure"] == "everyone":
        return not any(addr in ipaddress.ip_network(n) for n in family["excluded"])
    return any(addr in ipaddress.ip_network(n) for n in family["sources"])
