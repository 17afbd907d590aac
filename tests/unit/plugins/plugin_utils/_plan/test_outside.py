# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan's verdicts against what a probe from outside saw (_plan/outside.py)."""

import pytest
from ansible_collections.portguard.hardening.plugins.module_utils._values import PolicyError
from ansible_collections.portguard.hardening.plugins.plugin_utils._plan.outside import (
    check,
    combine,
    global_addresses,
    probe_ports,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._ruleset.evaluate import (
    is_inside,
)


def finding(port, protocol="tcp", status="open", action="block", address="0.0.0.0", **extra):
    entry = {
        "rule": "r",
        "protocol": protocol,
        "family": "ipv6" if ":" in address else "ipv4",
        "address": address,
        "port": port,
        "action": action,
        "status": status,
        "note": None,
        "exposure": "everyone",
        "sources": [],
    }
    entry.update(extra)
    return entry


def probe(tcp=None, udp=None, address="10.88.0.5"):
    return {"address": address, "tcp": tcp or {}, "udp": udp or {}, "notes": [], "errors": []}


PLAN = {
    "findings": [finding(8080), finding(111, "udp")],
    "allowed": [finding(22), finding(80)],
    "compliant": [
        {"protocol": "tcp", "port": 25, "address": "127.0.0.1", "why": "loopback"},
        {"protocol": "tcp", "port": 9090, "address": "0.0.0.0", "why": "firewalled"},
    ],
}


@pytest.mark.parametrize(
    "wanted, tcp, udp",
    [
        ("listeners", [22, 80, 8080, 9090], [111]),
        ([53, "161/udp", "2049"], [22, 53, 80, 2049, 8080, 9090], [53, 111, 161, 2049]),
    ],
)
def test_the_ports_to_probe(wanted, tcp, udp):
    assert probe_ports(PLAN, wanted) == {"tcp": tcp, "udp": udp}


def test_all_is_every_tcp_port_and_the_udp_listeners():
    ports = probe_ports(PLAN, "all")
    assert (len(ports["tcp"]), ports["tcp"][0], ports["tcp"][-1], ports["udp"]) == (
        65535,
        1,
        65535,
        [111],
    )


@pytest.mark.parametrize(
    "wanted, errors",
    [
        ("some", ["exposed_ports_probe_ports: 'some' is not listeners, all or a list of ports"]),
        (
            [0, "53/sctp", True],
            [
                "exposed_ports_probe_ports[0]: 0 is not a port (80) or a port label (53/udp)",
                "exposed_ports_probe_ports[1]: '53/sctp' is not a port (80) or a port label "
                "(53/udp)",
                "exposed_ports_probe_ports[2]: True is not a port (80) or a port label (53/udp)",
            ],
        ),
    ],
)
def test_bad_probe_ports_name_the_field(wanted, errors):
    with pytest.raises(PolicyError) as raised:
        probe_ports(PLAN, wanted)
    assert raised.value.errors == errors


def test_a_closure_the_probe_contradicts_fails_with_both_views():
    findings = [finding(8080, status="remediated"), finding(11211, status="remediated")]
    seen = probe({"8080": "open", "11211": "refused"})
    checked, _allowed, outside = check(findings, [], [], seen)
    assert [(f["port"], f["status"], f["reachable"]) for f in checked] == [
        (8080, "failed", "yes"),
        (11211, "remediated", "refused"),
    ]
    assert checked[0]["note"] == (
        "8080/tcp: the model says closed, but a probe from the controller reached 10.88.0.5"
    )
    assert checked[0]["probe"] == {"from": "the controller", "address": "10.88.0.5",
                                   "state": "open"}  # fmt: skip
    assert outside["disagreements"] == [checked[0]["note"]]


def test_a_restricted_port_may_answer_the_source_it_admits():
    restricted = finding(11211, status="remediated", action="restrict", sources=["10.88.0.0/16"])
    seen = probe({"11211": "open"})
    admitted, _a, _o = check([restricted], [], [], seen, source="10.88.0.1")
    assert admitted[0]["status"] == "remediated"
    other, _a, _o = check([restricted], [], [], seen, source="192.0.2.9")
    assert other[0]["status"] == "failed"


def test_udp_words_and_what_the_probe_did_not_cover():
    findings = [
        finding(111, "udp"),
        finding(5353, "udp"),
        finding(137, "udp"),
        finding(8080, address="::"),  # an IPv6 socket; the probe went to an IPv4 address
        finding(8081, address="10.99.0.5"),  # bound to another of the host's addresses
    ]
    seen = probe(
        {"8080": "open", "8081": "open"},
        {
            "111": {"state": "open", "service": "rpcbind", "detail": "program 100000"},
            "5353": {"state": "closed", "service": "mdns"},
            "137": {"state": "open|filtered", "service": "netbios-ns"},
        },
    )
    checked, _allowed, outside = check(findings, [], [], seen)
    assert [(f["port"], f["reachable"]) for f in checked] == [
        (111, "yes"),
        (5353, "refused"),
        (137, "open|filtered"),
        (8080, "not probed"),
        (8081, "not probed"),
    ]
    assert checked[0]["probe"]["service"] == "rpcbind"
    # Closed to the probe though the model says exposed to everyone: a disagreement, still open.
    assert checked[1]["status"] == "open"
    assert [d.split(":")[0] for d in outside["disagreements"]] == ["5353/udp on 0.0.0.0"]


def test_what_the_model_did_not_know_and_a_firewall_it_misread():
    compliant = [{"protocol": "tcp", "port": 9090, "address": "0.0.0.0", "family": "ipv4",
                  "why": "firewalled"}]  # fmt: skip
    allowed = [finding(22, status=None, action="allow")]
    seen = probe({"22": "open", "9090": "open", "2375": "open", "81": "refused"})
    _f, shown, outside = check([], allowed, compliant, seen)
    assert [(a["port"], a["reachable"]) for a in shown] == [(22, "yes")]
    assert outside["unexpected"] == ["2375/tcp"]
    assert outside["disagreements"] == [
        "9090/tcp on 0.0.0.0: the model says the firewall closes it, but a probe from the "
        "controller reached 10.88.0.5"
    ]
    assert "reached ports no listener of the host read explains: 2375/tcp" in outside["notes"][0]


def test_a_dual_stack_socket_is_reached_by_an_ipv4_probe():
    """python3 -m http.server --bind :: (IPV6_V6ONLY off) answers on the host's IPv4 address."""
    dual = finding(8081, address="::", status="remediated", v6only=False)
    only6 = finding(8082, address="::", status="remediated")
    checked, _a, _o = check([dual, only6], [], [], probe({"8081": "open", "8082": "open"}))
    assert [(f["port"], f["reachable"], f["status"]) for f in checked] == [
        (8081, "yes", "failed"),
        (8082, "not probed", "remediated"),
    ]


def test_the_hosts_global_addresses_leave_out_loopback_guests_and_private_ranges():
    interfaces = {
        "lo": ["127.0.0.1/8", "::1/128"],
        "eth0": ["192.0.2.10/24", "10.0.0.5/8", "2001:db8::10/64", "fe80::1/64"],
        "eth1": ["198.51.100.7/24", "192.0.2.10/24"],
        "docker0": ["172.17.0.1/16"],
        "br-0123456789ab": ["203.0.113.1/24"],
    }
    # 192.0.2.0/24, 198.51.100.0/24 and 2001:db8::/32 are documentation ranges: not global.
    assert global_addresses(interfaces, is_inside) == []
    interfaces["eth0"].append("8.8.4.4/32")
    interfaces["eth1"].append("2606:4700::1111/64")
    assert global_addresses(interfaces, is_inside) == ["8.8.4.4", "2606:4700::1111"]


def test_several_addresses_combine_to_what_reached_each_entry():
    findings = [finding(8080, status="remediated"), finding(8081, status="remediated")]
    first = check(findings, [], [], probe({"8080": "refused", "8081": "refused"}))
    second = check(
        findings,
        [],
        [],
        probe({"8080": "open", "8081": "refused", "2375": "open"}, address="10.99.0.5"),
    )
    combined, _allowed, outside = combine([first, second])
    assert [(f["port"], f["status"], f["probe"]["address"]) for f in combined] == [
        (8080, "failed", "10.99.0.5"),
        (8081, "remediated", "10.88.0.5"),
    ]
    assert outside["addresses"] == ["10.88.0.5", "10.99.0.5"]
    assert outside["unexpected"] == ["2375/tcp on 10.99.0.5"]
    assert outside["disagreements"][0].startswith("10.99.0.5: 8080/tcp: the model says closed")


def test_no_more_global_addresses_than_the_limit():
    interfaces = {"eth0": ["8.8.%d.1/24" % i for i in range(20)]}
    assert global_addresses(interfaces, is_inside) == ["8.8.%d.1" % i for i in range(8)]


def test_a_closure_that_does_not_hold_fails_on_every_run():
    """Run 2 sees the port as compliant (closed by the table), but the probe still reaches it."""
    compliant = [{"rule": None, "protocol": "tcp", "family": "ipv4", "address": "0.0.0.0",
                  "port": 8080, "unit": None, "why": "firewalled", "exposed_to": [],
                  "policy_action": "block", "policy_rule": "builtin-admin",
                  "policy_sources": []}]  # fmt: skip
    checked, _allowed, outside = check([], [], compliant, probe({"8080": "open"}))
    assert [
        (f["port"], f["status"], f["action"], f["rule"], f["was_compliant"]) for f in checked
    ] == [(8080, "failed", "block", "builtin-admin", True)]
    assert outside["disagreements"] == [checked[0]["note"]]
    # Reached from the source a restriction admits: as it should be.
    restricted = [dict(compliant[0], why="restricted", policy_action="restrict",
                       exposed_to=["10.88.0.0/16"], policy_sources=["10.88.0.0/16"])]  # fmt: skip
    checked, _allowed, outside = check(
        [], [], restricted, probe({"8080": "open"}), source="10.88.0.1"
    )
    assert (checked, outside["disagreements"]) == ([], [])


def test_a_view_that_failed_a_finding_wins_a_tie():
    restricted = finding(11211, status="remediated", action="restrict", sources=["10.0.0.0/8"])
    admitted = check([restricted], [], [], probe({"11211": "open"}), source="10.1.1.1")
    outsider = check(
        [restricted], [], [], probe({"11211": "open"}, address="198.51.100.7"), source="192.0.2.1"
    )
    combined, _allowed, _outside = combine([admitted, outsider])
    assert [(f["status"], f["probe"]["address"]) for f in combined] == [("failed", "198.51.100.7")]
