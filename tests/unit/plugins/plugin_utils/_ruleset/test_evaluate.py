# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The evaluator on hand-written rulesets: one case per netfilter behaviour it models."""

import pytest
from ansible_collections.portguard.hardening.plugins.plugin_utils._ruleset.evaluate import (
    Evaluator,
    evaluate_sockets,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._ruleset.model import (
    RulesetError,
    parse_ruleset,
)
from nftjson import (
    ACCEPT,
    COUNTER,
    DROP,
    REJECT,
    RETURN,
    Doc,
    ct_state,
    dport,
    goto,
    iifname,
    inet_input,
    jump,
    match,
    meta,
    payload,
    prefix,
    saddr,
    vmap,
)

HOST = {
    "lo": ["127.0.0.1/8", "::1/128"],
    "eth0": ["192.0.2.10/24", "2001:db8::10/64", "fe80::10/64"],
    "eth1": ["10.1.0.10/24"],
}


def sock(port, protocol="tcp", family="ipv4", address=None, v6only=None):
    if address is None:
        address = "0.0.0.0" if family == "ipv4" else "::"
    return {"protocol": protocol, "family": family, "address": address, "port": port,
            "v6only": v6only}  # fmt: skip


V4_22 = sock(22)
DUAL_22 = sock(22, family="ipv6", v6only=False)
V6_22 = sock(22, family="ipv6", v6only=True)


def summary(answer):
    rules = [(r["chain"], r["index"], r["verdict"]) for r in answer["rules"]]
    return answer["exposure"], answer["sources"], answer["excluded"], answer["unknown"], rules


def answer_for(doc, socket, host=None):
    return Evaluator(parse_ruleset(doc.json()), HOST if host is None else host).exposure(socket)


def base_drop(*rules):
    return inet_input("drop", *rules)


FIB_RPF = {"fib": {"flags": ["saddr", "iif"], "result": "oif"}}
FIB_TYPE = {"fib": {"flags": ["daddr"], "result": "type"}}
EST = [ct_state(["established", "related"]), ACCEPT]
LO = [iifname("lo"), ACCEPT]
SSH = [dport(22), COUNTER, ACCEPT]
POLICY_DROP = [("input", None, "policy drop")]

CASES = [
    pytest.param(base_drop(), V4_22, ("nobody", [], [], [], POLICY_DROP), id="policy-drop"),
    pytest.param(
        inet_input("accept"),
        V4_22,
        ("everyone", [], [], [], [("input", None, "policy accept")]),
        id="policy-accept",
    ),
    pytest.param(
        base_drop(EST, LO, SSH),
        V4_22,
        ("everyone", [], [], [], [("input", 2, "accept")]),
        id="accept-port-after-ct-and-lo",
    ),
    pytest.param(
        base_drop(EST, LO, SSH),
        sock(80),
        ("nobody", [], [], [], POLICY_DROP),
        id="other-port-dropped-established-does-not-count",
    ),
    pytest.param(
        base_drop(LO),
        V4_22,
        ("nobody", [], [], [], POLICY_DROP),
        id="lo-accept-not-from-outside",
    ),
    pytest.param(
        base_drop([ct_state("new"), ACCEPT]),
        V4_22,
        ("everyone", [], [], [], [("input", 0, "accept")]),
        id="ct-state-new-accepts",
    ),
    pytest.param(
        base_drop([ct_state(["invalid"]), DROP], [ct_state(["new"], op="!="), DROP], SSH),
        V4_22,
        ("everyone", [], [], [], [("input", 2, "accept")]),
        id="ct-state-invalid-and-not-new",
    ),
    pytest.param(
        base_drop(SSH),
        DUAL_22,
        ("everyone", [], [], [], [("input", 0, "accept"), ("input", 0, "accept")]),
        id="dual-stack-inet",
    ),
    pytest.param(
        inet_input("drop", SSH, family="ip"),
        DUAL_22,
        ("everyone", [], [], [], [("input", 0, "accept")]),
        id="dual-stack-ip-table-only-ipv6-unfiltered",
    ),
    pytest.param(
        inet_input("drop", SSH, family="ip"),
        V6_22,
        ("everyone", [], [], [], []),
        id="ipv6-only-ip-table-does-not-apply",
    ),
    pytest.param(
        inet_input("drop", SSH, family="ip6"),
        sock(22, address="192.0.2.10"),
        ("everyone", [], [], [], []),
        id="ipv4-ip6-table-does-not-apply",
    ),
    pytest.param(
        base_drop([saddr(prefix("10.0.0.0", 8)), dport(22), ACCEPT]),
        DUAL_22,
        ("some", ["10.0.0.0/8"], [], [], [("input", 0, "accept"), ("input", None, "policy drop")]),
        id="dual-stack-ipv4-source-rule-leaves-ipv6-dropped",
    ),
    pytest.param(
        base_drop([saddr(prefix("2001:db8:1::", 48), "ip6"), dport(22), ACCEPT]),
        V6_22,
        ("some", ["2001:db8:1::/48"], [], [], [("input", 0, "accept")]),
        id="ipv6-source-prefix",
    ),
    pytest.param(
        base_drop([dport({"set": [21, {"range": [20, 30]}, 80]}), ACCEPT]),
        V4_22,
        ("everyone", [], [], [], [("input", 0, "accept")]),
        id="anonymous-set-with-range",
    ),
    pytest.param(
        base_drop([dport({"range": [1024, 65535]}), ACCEPT]),
        sock(8080),
        ("everyone", [], [], [], [("input", 0, "accept")]),
        id="port-range",
    ),
    pytest.param(
        base_drop([dport(22, op="!="), DROP], [ACCEPT]),
        sock(23),
        ("nobody", [], [], [], [("input", 0, "drop")]),
        id="port-not-equal",
    ),
    pytest.param(
        base_drop([dport(1024, op="<"), ACCEPT]),
        sock(1023),
        ("everyone", [], [], [], [("input", 0, "accept")]),
        id="port-less-than",
    ),
    pytest.param(
        base_drop([dport(22, proto="udp"), ACCEPT]),
        V4_22,
        ("nobody", [], [], [], POLICY_DROP),
        id="udp-rule-not-tcp",
    ),
    pytest.param(
        base_drop([match(meta("l4proto"), {"set": ["tcp", "udp"]}), dport(53, "th"), ACCEPT]),
        sock(53, "udp"),
        ("everyone", [], [], [], [("input", 0, "accept")]),
        id="l4proto-th-dport",
    ),
    pytest.param(
        base_drop([match(payload("ip", "protocol"), "udp"), ACCEPT]),
        V4_22,
        ("nobody", [], [], [], POLICY_DROP),
        id="ip-protocol-mismatch",
    ),
    pytest.param(
        base_drop([match(payload("ip6", "nexthdr"), 6), ACCEPT]),
        DUAL_22,
        ("everyone", [], [], [], [("input", None, "policy drop"), ("input", 0, "accept")]),
        id="ip6-nexthdr-number",
    ),
    pytest.param(
        base_drop([match(payload("icmp", "type"), "echo-request"), ACCEPT]),
        V4_22,
        ("nobody", [], [], [], POLICY_DROP),
        id="icmp-rule-not-tcp",
    ),
    pytest.param(
        Doc()
        .table("inet", "f")
        .chain("inet", "f", "input", hook="input", policy="drop")
        .chain("inet", "f", "svc")
        .rule("inet", "f", "input", jump("svc"))
        .rule("inet", "f", "svc", dport(22), ACCEPT),
        V4_22,
        ("everyone", [], [], [], [("svc", 0, "accept")]),
        id="jump-accept",
    ),
    pytest.param(
        Doc()
        .table("inet", "f")
        .chain("inet", "f", "input", hook="input", policy="accept")
        .chain("inet", "f", "svc")
        .rule("inet", "f", "input", jump("svc"))
        .rule("inet", "f", "svc", dport(22), RETURN)
        .rule("inet", "f", "svc", DROP),
        V4_22,
        ("everyone", [], [], [], [("input", None, "policy accept")]),
        id="jump-return-continues-to-policy",
    ),
    pytest.param(
        Doc()
        .table("inet", "f")
        .chain("inet", "f", "input", hook="input", policy="accept")
        .chain("inet", "f", "zone")
        .rule("inet", "f", "input", goto("zone"))
        .rule("inet", "f", "input", DROP),
        V4_22,
        ("everyone", [], [], [], [("input", None, "policy accept")]),
        id="goto-falls-to-base-policy-not-back",
    ),
    pytest.param(
        Doc()
        .table("inet", "f")
        .chain("inet", "f", "input", hook="input", policy="drop")
        .chain("inet", "f", "a")
        .chain("inet", "f", "b")
        .rule("inet", "f", "input", jump("a"))
        .rule("inet", "f", "a", goto("b"))
        .rule("inet", "f", "a", ACCEPT)
        .rule("inet", "f", "input", dport(22), ACCEPT),
        V4_22,
        ("everyone", [], [], [], [("input", 1, "accept")]),
        id="goto-returns-to-jumper",
    ),
    pytest.param(
        base_drop()
        .set("inet", "filter", "ok", [22, {"range": [8000, 8100]}], "inet_service")
        .rule("inet", "filter", "input", dport("@ok"), ACCEPT),
        sock(8080),
        ("everyone", [], [], [], [("input", 0, "accept")]),
        id="named-port-set",
    ),
    pytest.param(
        base_drop()
        .set(
            "inet",
            "filter",
            "adm",
            [prefix("10.0.0.0", 8), "192.0.2.7", {"range": ["172.16.0.1", "172.16.0.2"]}],
        )
        .rule("inet", "filter", "input", saddr("@adm"), dport(22), ACCEPT),
        V4_22,
        (
            "some",
            ["10.0.0.0/8", "172.16.0.1/32", "172.16.0.2/32", "192.0.2.7/32"],
            [],
            [],
            [("input", 0, "accept")],
        ),
        id="named-address-set",
    ),
    pytest.param(
        base_drop([saddr({"set": ["203.0.113.9"]}), DROP], SSH),
        V4_22,
        ("everyone", [], ["203.0.113.9/32"], [], [("input", 1, "accept")]),
        id="ban-list-everyone-but",
    ),
    pytest.param(
        base_drop([saddr(prefix("10.0.0.0", 8), op="!="), dport(22), DROP], SSH),
        V4_22,
        ("some", ["10.0.0.0/8"], [], [], [("input", 1, "accept")]),
        id="source-not-equal",
    ),
    pytest.param(
        base_drop([vmap(payload("tcp", "dport"), [(22, ACCEPT), (23, DROP)])]),
        V4_22,
        ("everyone", [], [], [], [("input", 0, "accept")]),
        id="vmap-port-accept",
    ),
    pytest.param(
        base_drop([vmap(payload("tcp", "dport"), [(22, ACCEPT), (23, DROP)])], [ACCEPT]),
        sock(23),
        ("nobody", [], [], [], [("input", 0, "drop")]),
        id="vmap-port-drop",
    ),
    pytest.param(
        base_drop([vmap(payload("tcp", "dport"), [(22, ACCEPT)])], [ACCEPT]),
        sock(24),
        ("everyone", [], [], [], [("input", 1, "accept")]),
        id="vmap-no-element-continues",
    ),
    pytest.param(
        base_drop(
            [
                vmap(
                    {"ct": {"key": "state"}},
                    [("established", ACCEPT), ("related", ACCEPT), ("invalid", DROP)],
                )
            ],
            SSH,
        ),
        V4_22,
        ("everyone", [], [], [], [("input", 1, "accept")]),
        id="ct-state-vmap",
    ),
    pytest.param(
        base_drop(
            [
                vmap(
                    payload("ip", "saddr"),
                    [(prefix("10.0.0.0", 8), ACCEPT), (prefix("0.0.0.0", 0), DROP)],
                )
            ]
        ),
        V4_22,
        ("some", ["10.0.0.0/8"], [], [], [("input", 0, "accept")]),
        id="vmap-source",
    ),
    pytest.param(
        base_drop([vmap(meta("iifname"), [("eth1", ACCEPT)])]),
        V4_22,
        ("everyone", [], [], [], [("input", 0, "accept")]),
        id="vmap-iifname",
    ),
    pytest.param(
        base_drop([iifname("eth1"), dport(22), ACCEPT]),
        sock(22, address="192.0.2.10"),
        ("everyone", [], [], [], [("input", 0, "accept")]),
        id="iifname-other-interface-weak-host",
    ),
    pytest.param(
        base_drop([iifname("eth*"), ACCEPT]),
        V4_22,
        ("everyone", [], [], [], [("input", 0, "accept")]),
        id="iifname-wildcard",
    ),
    pytest.param(
        base_drop([iifname("wg*"), ACCEPT]),
        V4_22,
        ("nobody", [], [], [], POLICY_DROP),
        id="iifname-wildcard-no-such-interface",
    ),
    pytest.param(
        base_drop([match(payload("ip", "daddr"), "10.1.0.10"), DROP], SSH),
        V4_22,
        ("everyone", [], [], [], [("input", 1, "accept")]),
        id="daddr-drop-one-address-of-two",
    ),
    pytest.param(
        base_drop([match(payload("ip", "daddr"), "10.1.0.10"), DROP], SSH),
        sock(22, address="10.1.0.10"),
        ("nobody", [], [], [], [("input", 0, "drop")]),
        id="daddr-drop-bound-address",
    ),
    pytest.param(
        base_drop([dport(68, "udp"), match(payload("udp", "sport"), 67), ACCEPT]),
        sock(68, "udp"),
        ("everyone", [], [], [], [("input", 0, "accept")]),
        id="source-port-chosen-by-sender",
    ),
    pytest.param(
        base_drop([match(payload("udp", "sport"), 53), ACCEPT]),
        sock(5000, "udp"),
        ("everyone", [], [], [], [("input", 0, "accept")]),
        id="stateless-dns-reply-rule-opens-every-udp-port",
    ),
    pytest.param(
        base_drop([dport(68, "udp"), match(payload("udp", "sport"), 67), ACCEPT]),
        sock(69, "udp"),
        ("nobody", [], [], [], POLICY_DROP),
        id="source-port-rule-only-for-its-port",
    ),
    pytest.param(
        base_drop(
            [{"limit": {"rate": 3, "per": "minute", "inv": True}}, DROP],
            [{"limit": {"rate": 3, "per": "minute"}}, dport(22), ACCEPT],
        ),
        V4_22,
        ("everyone", [], [], [], [("input", 1, "accept")]),
        id="limit-does-not-decide",
    ),
    pytest.param(
        base_drop([{"log": {"prefix": "in "}}, DROP]),
        V4_22,
        ("nobody", [], [], [], [("input", 0, "drop")]),
        id="log-then-drop",
    ),
    pytest.param(
        base_drop([dport(22), REJECT]),
        V4_22,
        ("nobody", [], [], [], [("input", 0, "reject")]),
        id="reject",
    ),
    pytest.param(
        base_drop(SSH),
        sock(22, address="127.0.0.1"),
        ("nobody", [], [], [], []),
        id="loopback-bound",
    ),
    pytest.param(
        base_drop(SSH),
        sock(22, family="ipv6", address="::ffff:127.0.0.1"),
        ("nobody", [], [], [], []),
        id="mapped-loopback-bound",
    ),
    pytest.param(
        inet_input("accept"),
        sock(22, family="ipv6", address="::1", v6only=True),
        ("nobody", [], [], [], []),
        id="ipv6-loopback-bound",
    ),
    pytest.param(
        base_drop([match(FIB_RPF, False), DROP], SSH),
        V4_22,
        ("everyone", [], [], [], [("input", 1, "accept")]),
        id="rpfilter-oif-missing-not-from-a-routable-source",
    ),
    pytest.param(
        base_drop(
            [match(FIB_TYPE, {"set": ["broadcast", "multicast"]}), DROP],
            [match(FIB_TYPE, "local"), ACCEPT],
        ),
        V4_22,
        ("everyone", [], [], [], [("input", 1, "accept")]),
        id="fib-daddr-type-local-unicast",
    ),
    pytest.param(
        base_drop([match(meta("pkttype"), "host", op="!="), DROP], SSH),
        V4_22,
        ("everyone", [], [], [], [("input", 1, "accept")]),
        id="pkttype-host",
    ),
    pytest.param(
        Doc(),
        V4_22,
        ("everyone", [], [], [], []),
        id="empty-ruleset",
    ),
]


@pytest.mark.parametrize("doc,socket,expected", CASES)
def test_answer_and_deciding_rules(doc, socket, expected):
    assert summary(answer_for(doc, socket)) == expected


TWO_BASES = [
    pytest.param("accept", "drop", "nobody", id="accept-then-drop-is-dropped"),
    pytest.param("drop", "accept", "nobody", id="drop-first-is-final"),
    pytest.param("accept", "accept", "everyone", id="accept-in-both"),
]


@pytest.mark.parametrize("first,second,exposure", TWO_BASES)
def test_every_base_chain_of_the_hook(first, second, exposure):
    """Accept ends one base chain only; the next (by priority, any table) still judges."""
    doc = (
        Doc().table("inet", "b").table("ip", "a")
        .chain("ip", "a", "in2", hook="input", prio=10, policy=second)
        .chain("inet", "b", "in1", hook="input", prio=-10, policy=first)
    )  # fmt: skip
    assert answer_for(doc, V4_22)["exposure"] == exposure


def test_chains_other_than_filter_input_do_not_filter():
    doc = (
        Doc().table("inet", "f")
        .chain("inet", "f", "nat_in", hook="input", type="nat", policy="accept")
        .rule("inet", "f", "nat_in", DROP)
        .chain("inet", "f", "fwd", hook="forward", policy="drop")
        .chain("inet", "f", "pre", hook="prerouting", type="nat", prio=-100)
        .rule("inet", "f", "pre", {"dnat": {"addr": "10.0.0.2"}})
    )  # fmt: skip
    assert summary(answer_for(doc, V4_22)) == ("everyone", [], [], [], [])


def test_dual_stack_answer_keeps_each_family():
    doc = base_drop(
        [saddr(prefix("10.0.0.0", 8)), dport(22), ACCEPT],
        [dport(22, "tcp"), match(payload("ip6", "saddr"), prefix("2001:db8::", 32)), ACCEPT],
    )
    answer = answer_for(doc, DUAL_22)
    assert answer["exposure"] == "some"
    assert answer["sources"] == ["10.0.0.0/8", "2001:db8::/32"]
    assert {f: a["sources"] for f, a in answer["families"].items()} == {
        "ipv4": ["10.0.0.0/8"], "ipv6": ["2001:db8::/32"],
    }  # fmt: skip


@pytest.mark.parametrize(
    "device,exposure",
    [
        pytest.param("eth1", "everyone", id="bound-to-the-accepted-interface"),
        pytest.param("eth0", "nobody", id="bound-to-another-interface"),
        pytest.param("lo", "nobody", id="bound-to-lo"),
        pytest.param(None, "everyone", id="not-bound-any-interface"),
    ],
)
def test_socket_bound_to_a_device(device, exposure):
    doc = base_drop([iifname("eth1"), dport(22), ACCEPT])
    assert answer_for(doc, dict(V4_22, interface=device))["exposure"] == exposure


GUEST_HOST = dict(HOST, docker0=["172.17.0.1/16"], br0=["10.2.0.1/24"])


@pytest.mark.parametrize(
    "bridge,inside,exposure",
    [
        pytest.param("docker0", None, "nobody", id="docker-bridge-is-not-outside"),
        pytest.param("docker0", (), "everyone", id="docker-bridge-outside-when-asked"),
        pytest.param("br0", None, "everyone", id="a-plain-bridge-faces-outside"),
    ],
)
def test_guest_bridges_are_not_a_way_in_from_outside(bridge, inside, exposure):
    """firewalld's docker zone accepts all that comes in by docker0: the host's containers."""
    doc = base_drop([iifname(bridge), ACCEPT])
    args = () if inside is None else (inside,)
    evaluator = Evaluator(parse_ruleset(doc.json()), GUEST_HOST, *args)
    assert evaluator.exposure(sock(8080))["exposure"] == exposure


def test_wildcard_without_an_address_of_the_family():
    host = {"lo": ["127.0.0.1/8", "::1/128"], "eth0": ["192.0.2.10/24"]}
    answer = answer_for(inet_input("accept"), V6_22, host)
    assert (answer["exposure"], answer["reason"]) == (
        "nobody", "no ipv6 address on an interface other than lo",
    )  # fmt: skip


def test_reason_names_table_chain_rule_and_text():
    answer = answer_for(base_drop(EST, LO, SSH), V4_22)
    assert answer["reason"] == (
        "accept by inet filter input rule 2 (handle 5): tcp dport 22 accept"
    )
    assert (answer["rules"][0]["handle"], answer["rules"][0]["family"]) == (5, "ipv4")


@pytest.mark.parametrize(
    "interfaces,problem",
    [
        pytest.param(
            [],
            "interfaces: expected a mapping of names to addresses, got a list",
            id="not-a-mapping",
        ),
        pytest.param(
            {"eth0": "10.0.0.1"},
            "interfaces['eth0']: expected a list of addresses, got '10.0.0.1'",
            id="addresses-not-a-list",
        ),
        pytest.param(
            {"eth0": ["10.0.0.300"]},
            "interfaces['eth0']: '10.0.0.300' is not an address",
            id="bad-address",
        ),
    ],
)
def test_bad_interfaces_are_refused(interfaces, problem):
    with pytest.raises(RulesetError) as err:
        Evaluator(parse_ruleset(Doc().json()), interfaces)
    assert err.value.errors == [problem]


def test_bad_sockets_are_named():
    sockets = [V4_22, {"protocol": "sctp", "family": "ipv4", "address": "0.0.0.0", "port": 99999}]
    with pytest.raises(RulesetError) as err:
        evaluate_sockets(parse_ruleset(Doc().json()), sockets, HOST)
    assert err.value.errors == [
        "sockets[1].protocol: expected tcp or udp, got 'sctp'",
        "sockets[1].port: expected a port number, got 99999",
    ]


def test_an_uplink_named_like_a_guest_bridge_faces_outside():
    """OpenStack's br-ex and OpenWrt's br-lan carry other hosts' traffic."""
    from ansible_collections.portguard.hardening.plugins.plugin_utils._ruleset.evaluate import (
        evaluate_sockets,
    )
    from ansible_collections.portguard.hardening.plugins.plugin_utils._ruleset.model import (
        parse_ruleset,
    )

    ruleset = parse_ruleset({"nftables": [
        {"table": {"family": "inet", "name": "filter", "handle": 1}},
        {"chain": {"family": "inet", "table": "filter", "name": "input", "handle": 1,
                   "type": "filter", "hook": "input", "prio": 0, "policy": "drop"}},
        {"rule": {"family": "inet", "table": "filter", "chain": "input", "handle": 2, "expr": [
            {"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "br-ex"}},
            {"accept": None}]}},
    ]})  # fmt: skip
    sock = {"protocol": "tcp", "family": "ipv4", "address": "0.0.0.0", "port": 8080}
    (answer,) = evaluate_sockets(
        ruleset, [sock], {"lo": ["127.0.0.1/8"], "br-ex": ["192.0.2.10/24"]}
    )
    assert answer["exposure"] == "everyone"
