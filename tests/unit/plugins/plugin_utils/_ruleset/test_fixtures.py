# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rulesets captured from real lab hosts, judged against what a connection from outside saw.

Each fixture (fixtures/README.md) holds the host's ``nft -j list ruleset``, its legacy tables,
interfaces and listening sockets, and the result of connecting from the controller to every
address of the host. A probe that got in must be admitted by the answer for the socket that
took it; a probe that was dropped or refused by a rule must not be.
"""

import glob
import os

import pytest
from captured import FIXTURES, admits, evaluator, sockets

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
            if _receivers(socks, probe):
                label = f"{scenario}-{probe['address']}-{probe['protocol']}{probe['port']}"
                yield pytest.param(scenario, probe, id=label)


@pytest.mark.parametrize("scenario,probe", list(_probes()))
def test_answers_agree_with_the_outside_probe(scenario, probe):
    host, ev = evaluator(scenario)
    source = probe["source"] or probe["gateway"]
    admitted = [admits(ev.exposure(s), source) for s in _receivers(sockets(host), probe)]
    assert any(admitted) == (probe["result"] == "open"), (probe, admitted)
