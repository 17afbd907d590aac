# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rulesets captured from real lab hosts, judged against what a connection from outside saw.

Each fixture (fixtures/README.md) holds the host's ``nft -j list ruleset``, its legacy tables,
interfaces and listening sockets, and the result of connecting from the controller to every
address of the host. A probe that got in must be admitted by the answer for the socket that
took it; a probe that was dropped or refused by a rule must not be. A port published by
Docker is rewritten (DNAT) on prerouting and reaches the container through forward, not the
host's socket: those IPv4 probes are left to the published-ports work.
"""

import glob
import os

import pytest
from ansible_collections.portguard.hardening.plugins.plugin_utils._ruleset.evaluate import (
    Evaluator,
)
from captured import FIXTURES, admits, evaluator, interfaces, sockets

# (scenario, family, port) that Docker publishes with DNAT.
PUBLISHED = {("docker", "ipv4", 9090), ("firewalld-docker", "ipv4", 9090)}
SCENARIOS = sorted(
    os.path.basename(p)[: -len(".host.json")] for p in glob.glob(f"{FIXTURES}/*.host.json")
)


def _receivers(socks, probe):
    """The sockets a probe to this address, protocol and port would be delivered to."""
    family = "ipv6" if ":" in probe["address"] else "ipv4"
    found = []
    for sock in socks:
        if (sock["protocol"], sock["port"]) != (probe["protocol"], probe["port"]):
            continue
        if sock["address"] not in ("0.0.0.0", "::", probe["address"]):
            continue
        if family == "ipv4" and sock["family"] == "ipv6" and sock["v6only"] is not False:
            continue
        if family == "ipv6" and sock["family"] == "ipv4":
            continue
        found.append(sock)
    return found


def _probes():
    for scenario in SCENARIOS:
        host, _ev = evaluator(scenario)
        socks = sockets(host)
        for probe in host["probes"]:
            family = "ipv6" if ":" in probe["address"] else "ipv4"
            if (scenario, family, probe["port"]) in PUBLISHED:
                continue
            if _receivers(socks, probe):
                label = f"{scenario}-{probe['address']}-{probe['protocol']}{probe['port']}"
                yield pytest.param(scenario, probe, id=label)


@pytest.mark.parametrize("scenario,probe", list(_probes()))
def test_answers_agree_with_the_outside_probe(scenario, probe):
    host, ev = evaluator(scenario)
    source = probe["source"] or probe["gateway"]
    admitted = [admits(ev.exposure(s), source) for s in _receivers(sockets(host), probe)]
    assert any(admitted) == (probe["result"] == "open"), (probe, admitted)


V4 = ("ipv4", "0.0.0.0")
V6 = ("ipv6", "::")

# (scenario, protocol, (family, address), port): exposure, sources, reason
EXPECTED = [
    pytest.param(
        "ufw", "tcp", V4, 22, "everyone", [],
        "accept by ip filter ufw-user-input rule 0 (handle 102): tcp dport 22 accept",
        id="ufw-allowed-port",
    ),
    pytest.param(
        "ufw", "tcp", V6, 80, "everyone", [],
        "accept by ip6 filter ufw6-user-input rule 1 (handle 142): tcp dport 80 accept",
        id="ufw-ipv6-rules-of-their-own",
    ),
    pytest.param(
        "ufw", "tcp", V4, 11211, "some", ["198.51.100.0/24"],
        "accept by ip filter ufw-user-input rule 3 (handle 105): "
        "ip saddr 198.51.100.0/24 tcp dport 11211 accept",
        id="ufw-allow-from",
    ),
    pytest.param(
        "ufw", "udp", V4, 111, "nobody", [], "policy drop of ip filter INPUT",
        id="ufw-default-deny",
    ),
    pytest.param(
        "nftables", "tcp", V4, 8080, "some", ["10.97.14.0/24", "198.51.100.0/24"],
        "accept by inet filter input rule 5 (handle 15): ip saddr @admins tcp dport 8080 accept",
        id="nftables-named-set",
    ),
    pytest.param(
        "nftables", "udp", V6, 111, "some", ["fd97:14::/64"],
        "accept by inet filter rpc rule 1 (handle 6): ip6 saddr fd97:14::/64 accept",
        id="nftables-jump-chain-ipv6",
    ),
    pytest.param(
        "nftables", "tcp", V4, 11211, "nobody", [], "policy drop of inet filter input",
        id="nftables-policy-drop",
    ),
    pytest.param(
        "iptables", "tcp", V4, 80, "everyone", [],
        "accept by ip filter INPUT rule 3 (handle 5): "
        "meta l4proto tcp tcp dport { 80, 443 } accept",
        id="iptables-multiport-explained",
    ),
    pytest.param(
        "iptables", "tcp", V4, 8080, "nobody", [],
        "reject by ip filter INPUT rule 5 (handle 7): meta l4proto tcp tcp dport 8080 reject",
        id="iptables-reject",
    ),
    pytest.param(
        "iptables", "tcp", V6, 80, "nobody", [], "policy drop of ip6 filter INPUT",
        id="iptables-ip6tables-rules-apart",
    ),
    pytest.param(
        "legacy", "tcp", V4, 8080, "some", ["10.97.14.0/24"],
        "accept by ip filter (iptables-legacy) INPUT rule 3 (line 9): ip saddr 10.97.14.0/24 "
        "meta l4proto tcp tcp dport { 80, 8080 } accept",
        id="legacy-table-nft-cannot-see",
    ),
    pytest.param(
        "legacy", "tcp", V4, 11211, "nobody", [],
        "policy drop of ip filter (iptables-legacy) INPUT",
        id="legacy-policy-drop",
    ),
    pytest.param(
        "legacy", "tcp", V6, 22, "everyone", [], "no ipv6 filter chain on the input hook",
        id="legacy-ipv4-only-ipv6-open",
    ),
    pytest.param(
        "firewalld", "tcp", V4, 3306, "some", ["10.97.14.0/24"],
        "accept by inet firewalld filter_IN_internal_allow rule 7 (handle 81): "
        "tcp dport 3306 accept",
        id="firewalld-source-bound-zone",
    ),
    pytest.param(
        "firewalld", "tcp", V4, 22, "everyone", [],
        "accept by inet firewalld filter_IN_internal_allow rule 0 (handle 73): tcp dport 22 "
        "accept; accept by inet firewalld filter_IN_public_allow rule 0 (handle 157): "
        "tcp dport 22 accept",
        id="firewalld-both-zones",
    ),
    pytest.param(
        "firewalld", "tcp", V6, 80, "nobody", [],
        "reject by inet firewalld filter_IN_public rule 8 (handle 156): reject",
        id="firewalld-zone-reject",
    ),
    pytest.param(
        "docker", "tcp", V4, 9090, "everyone", [], "no ipv4 filter chain on the input hook",
        id="docker-adds-no-input-chain",
    ),
    pytest.param(
        "docker", "tcp", ("ipv4", "127.0.0.1"), 35721, "nobody", [], "bound to a loopback address",
        id="docker-containerd-on-loopback",
    ),
    pytest.param(
        "firewalld-docker", "tcp", V4, 8080, "nobody", [],
        "reject by inet firewalld filter_IN_public rule 8 (handle 72): reject",
        id="firewalld-docker-zone-is-not-outside",
    ),
    pytest.param(
        "firewalld-docker", "tcp", V6, 9090, "nobody", [],
        "reject by inet firewalld filter_IN_public rule 8 (handle 72): reject",
        id="firewalld-docker-proxy-ipv6-not-published",
    ),
]  # fmt: skip


@pytest.mark.parametrize("scenario,protocol,where,port,exposure,sources,reason", EXPECTED)
def test_expected_answers_and_reasons(scenario, protocol, where, port, exposure, sources, reason):
    host, ev = evaluator(scenario)
    sock = next(
        s for s in sockets(host)
        if (s["protocol"], s["family"], s["address"], s["port"]) == (protocol, *where, port)
    )  # fmt: skip
    answer = ev.exposure(sock)
    assert (answer["exposure"], answer["sources"], answer["reason"]) == (exposure, sources, reason)


def test_docker_zone_accepts_only_what_comes_in_by_docker0():
    """Taken as a way in from outside, docker0's ACCEPT zone would expose every port."""
    host, ev = evaluator("firewalld-docker")
    sock = {"protocol": "tcp", "family": "ipv4", "address": "0.0.0.0", "port": 8080}
    answer = Evaluator(ev.ruleset, interfaces(host), inside=()).exposure(sock)
    assert (answer["exposure"], answer["reason"]) == (
        "everyone", "accept by inet firewalld filter_IN_docker rule 7 (handle 188): accept",
    )  # fmt: skip
