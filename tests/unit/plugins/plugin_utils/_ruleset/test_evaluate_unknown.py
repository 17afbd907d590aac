# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Expressions the evaluator does not model: named, and ``unknown`` only when they decide."""

import pytest
from ansible_collections.portguard.hardening.plugins.plugin_utils._ruleset.evaluate import (
    Evaluator,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._ruleset.model import (
    parse_ruleset,
)
from nftjson import ACCEPT, COUNTER, DROP, Doc, dport, inet_input, match, meta, payload, saddr

HOST = {"lo": ["127.0.0.1/8"], "eth0": ["192.0.2.10/24"], "eth1": ["10.1.0.10/24"]}
V4_22 = {"protocol": "tcp", "family": "ipv4", "address": "0.0.0.0", "port": 22}
SSH = [dport(22), COUNTER, ACCEPT]


def sock(port, address):
    return {"protocol": "tcp", "family": "ipv4", "address": address, "port": port}


def base_drop(*rules):
    return inet_input("drop", *rules)


def answer_for(doc, socket):
    return Evaluator(parse_ruleset(doc.json()), HOST).exposure(socket)


UNKNOWN = [
    pytest.param(
        base_drop([match(meta("skuid"), 0), dport(22), ACCEPT]),
        V4_22,
        "unknown",
        ["meta skuid"],
        id="unmodelled-accept-decides",
    ),
    pytest.param(
        base_drop([match(meta("skuid"), 0), dport(22), DROP], SSH),
        V4_22,
        "unknown",
        ["meta skuid"],
        id="unmodelled-drop-decides",
    ),
    pytest.param(
        base_drop([match(meta("skuid"), 0), dport(22), DROP]),
        V4_22,
        "nobody",
        [],
        id="unmodelled-drop-before-policy-drop-does-not-decide",
    ),
    pytest.param(
        base_drop([match(meta("skuid"), 0), dport(22), ACCEPT], SSH),
        V4_22,
        "everyone",
        [],
        id="unmodelled-accept-before-accept-does-not-decide",
    ),
    pytest.param(
        base_drop([{"xt": {"type": "match", "name": "recent"}}, DROP], SSH),
        V4_22,
        "unknown",
        ["xt match recent"],
        id="xt-match",
    ),
    pytest.param(
        base_drop([dport(22), {"queue": {"num": 1}}]),
        V4_22,
        "unknown",
        ["queue"],
        id="queue-verdict",
    ),
    pytest.param(
        base_drop([match(payload("tcp", "flags"), "syn"), dport(22), ACCEPT]),
        V4_22,
        "unknown",
        ["tcp flags"],
        id="tcp-flags",
    ),
    pytest.param(
        Doc()
        .table("netdev", "edge")
        .chain(
            "netdev", "edge", "in", hook="ingress", prio=-500, policy="accept", dev=["eth0", "eth1"]
        )
        .rule("netdev", "edge", "in", saddr("198.51.100.1"), DROP),
        V4_22,
        "unknown",
        ["netdev ingress chain in may drop"],
        id="netdev-ingress-drop",
    ),
    pytest.param(
        Doc()
        .table("netdev", "edge")
        .chain("netdev", "edge", "in", hook="ingress", prio=-500, policy="drop", dev="eth0"),
        V4_22,
        "everyone",
        [],
        id="netdev-ingress-drop-on-one-device-eth1-open",
    ),
    pytest.param(
        Doc()
        .table("netdev", "edge")
        .chain("netdev", "edge", "in", hook="ingress", prio=-500, policy="drop", dev="eth0"),
        sock(22, "10.1.0.10"),
        "everyone",
        [],
        id="netdev-ingress-weak-host-eth1-reaches-any-address",
    ),
    pytest.param(
        Doc()
        .table("netdev", "edge")
        .chain("netdev", "edge", "in", hook="ingress", prio=-500, policy="accept", dev="eth0")
        .rule("netdev", "edge", "in", COUNTER),
        V4_22,
        "everyone",
        [],
        id="netdev-ingress-counting-only",
    ),
]


@pytest.mark.parametrize("doc,socket,exposure,names", UNKNOWN)
def test_unmodelled_expressions_are_named_when_they_decide(doc, socket, exposure, names):
    answer = answer_for(doc, socket)
    assert (answer["exposure"], answer["unknown"]) == (exposure, names)
    if exposure == "unknown":
        assert answer["at_most"] == "everyone"
        assert answer["reason"] == "not modelled: " + "; ".join(names)


DUAL_22 = {"protocol": "tcp", "family": "ipv6", "address": "::", "port": 22, "v6only": False}
HOST6 = dict(HOST, eth0=["192.0.2.10/24", "2001:db8::10/64"])
SKUID_V6 = [match(meta("skuid"), 0), match(payload("ip6", "saddr"), "2001:db8::9"), ACCEPT]


@pytest.mark.parametrize(
    "v4_rule,exposure,at_most,sources",
    [
        pytest.param(SSH, "everyone", None, [], id="ipv4-everyone-outweighs-ipv6-unknown"),
        pytest.param([saddr("198.51.100.7"), dport(22), ACCEPT], "unknown", "some",
                     ["198.51.100.7/32", "2001:db8::9/128"], id="ipv4-some-ipv6-unknown"),
        pytest.param([DROP], "unknown", "some", ["2001:db8::9/128"], id="ipv4-nobody-ipv6-unknown"),
    ],
)  # fmt: skip
def test_dual_stack_with_one_family_unknown(v4_rule, exposure, at_most, sources):
    doc = base_drop(SKUID_V6, [match(meta("nfproto"), "ipv4")] + v4_rule)
    answer = Evaluator(parse_ruleset(doc.json()), HOST6).exposure(DUAL_22)
    assert (answer["exposure"], answer.get("at_most"), answer["sources"]) == (
        exposure, at_most, sources,
    )  # fmt: skip
    assert answer["families"]["ipv6"]["exposure"] == "unknown"


def test_a_ruleset_that_jumps_exponentially_is_unknown_not_endless():
    """Chains that each jump four times to the next: 4**12 walks without a budget."""
    import json as _json

    from ansible_collections.portguard.hardening.plugins.plugin_utils._ruleset.evaluate import (
        evaluate_sockets,
    )
    from ansible_collections.portguard.hardening.plugins.plugin_utils._ruleset.model import (
        parse_ruleset,
    )

    def chain(name, **base):
        return {"chain": dict({"family": "inet", "table": "f", "name": name, "handle": 1}, **base)}

    def jump(source, target):
        return {"rule": {"family": "inet", "table": "f", "chain": source, "handle": 1,
                         "expr": [{"jump": {"target": target}}]}}  # fmt: skip

    items = [{"table": {"family": "inet", "name": "f", "handle": 1}},
             chain("input", type="filter", hook="input", prio=0, policy="accept")]  # fmt: skip
    items += [chain(f"c{i}") for i in range(12)]
    items += [jump("input", "c0")] * 4
    for i in range(11):
        items += [jump(f"c{i}", f"c{i + 1}")] * 4
    sock = {"protocol": "tcp", "family": "ipv4", "address": "0.0.0.0", "port": 8080}
    ruleset = parse_ruleset(_json.dumps({"nftables": items}))
    (answer,) = evaluate_sockets(ruleset, [sock], {"eth0": ["192.0.2.10/24"]})
    assert answer["exposure"] == "unknown"
    assert any("chain entries (a ruleset too costly to walk)" in n for n in answer["unknown"])
