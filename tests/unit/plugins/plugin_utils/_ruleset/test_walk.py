# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the walk compiles and shares, and that its short cuts change no answer."""

import json

import pytest
from ansible_collections.portguard.hardening.plugins.plugin_utils._ruleset import walk
from ansible_collections.portguard.hardening.plugins.plugin_utils._ruleset.evaluate import (
    Evaluator,
    evaluate_sockets,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._ruleset.model import (
    RulesetError,
    parse_ruleset,
)
from captured import interfaces, load, sockets
from nftjson import (
    ACCEPT,
    COUNTER,
    DROP,
    RETURN,
    Doc,
    ct_state,
    dport,
    goto,
    iifname,
    jump,
    prefix,
    saddr,
    vmap,
)

HOST = {"lo": ["127.0.0.1/8", "::1/128"], "eth0": ["192.0.2.10/24", "2001:db8::10/64"]}
SCENARIOS = ["docker", "firewalld-docker", "firewalld", "iptables", "legacy", "nftables", "ufw"]


def sock(port, protocol="tcp", family="ipv4", address=None, v6only=None):
    if address is None:
        address = "0.0.0.0" if family == "ipv4" else "::"
    return {"protocol": protocol, "family": family, "address": address, "port": port,
            "v6only": v6only}  # fmt: skip


def paths_doc():
    """Input jumps to svc and, by a verdict map, to web; other hooks have chains of their own."""
    doc = Doc().table("inet", "f")
    doc.chain("inet", "f", "input", hook="input", policy="drop")
    for name in ("svc", "web", "out_only", "fwd_only", "nat_only", "unused"):
        doc.chain("inet", "f", name)
    doc.chain("inet", "f", "output", hook="output")
    doc.chain("inet", "f", "forward", hook="forward", policy="drop")
    doc.chain("inet", "f", "pre", hook="prerouting", prio=-100)
    doc.rule("inet", "f", "input", ct_state(["established", "related"]), ACCEPT)
    doc.rule("inet", "f", "input", iifname("lo"), ACCEPT)
    doc.rule("inet", "f", "input", jump("svc"))
    doc.rule("inet", "f", "input", vmap(dport_key(), [(80, jump("web")), (443, goto("web"))]))
    doc.rule("inet", "f", "svc", dport(22), ACCEPT)
    doc.rule("inet", "f", "web", ACCEPT)
    doc.rule("inet", "f", "output", jump("out_only"))
    doc.rule("inet", "f", "out_only", DROP)
    doc.rule("inet", "f", "forward", jump("fwd_only"))
    doc.rule("inet", "f", "fwd_only", ACCEPT)
    doc.rule("inet", "f", "pre", jump("nat_only"))
    doc.rule("inet", "f", "nat_only", ACCEPT)
    doc.rule("inet", "f", "unused", ACCEPT)
    return doc


def dport_key():
    return {"payload": {"protocol": "tcp", "field": "dport"}}


def test_only_chains_on_the_input_path_are_compiled():
    evaluator = Evaluator(parse_ruleset(paths_doc().json()), HOST)
    answers = [evaluator.exposure(sock(port))["exposure"] for port in (22, 80, 443, 25)]
    assert answers == ["everyone", "everyone", "everyone", "nobody"]
    compiled = {key[2] for key in evaluator.kinds[("ipv4", "tcp")].chains}
    assert compiled == {"input", "svc", "web"}


def test_a_rule_that_means_the_same_for_both_protocols_is_compiled_once():
    evaluator = Evaluator(parse_ruleset(paths_doc().json()), HOST)
    evaluator.exposure(sock(22))
    evaluator.exposure(sock(53, "udp"))
    tcp = evaluator.kinds[("ipv4", "tcp")].chains[("inet", "f", "input")].rules
    udp = evaluator.kinds[("ipv4", "udp")].chains[("inet", "f", "input")].rules
    # ct state established never matches a new packet; iifname lo and the jump to svc are
    # the same rules for TCP and UDP, the verdict map (on tcp dport) is TCP's alone.
    assert [r.rule.index for r in tcp] == [1, 2, 3]
    assert [r.rule.index for r in udp] == [1, 2]
    assert tcp[0] is udp[0] and tcp[1] is udp[1]


def test_sockets_of_one_class_share_one_answer():
    doc = paths_doc()
    socks = [sock(25), sock(26), sock(22), sock(22, address="192.0.2.10"), sock(8080, "udp")]
    answers = evaluate_sockets(parse_ruleset(doc.json()), socks, HOST)
    assert answers[0] is answers[1]  # 25 and 26 meet the same rules
    assert answers[2] is answers[3]  # the wildcard and the address: the same destinations
    assert answers[0] is not answers[2] and answers[0] is not answers[4]
    assert [a["exposure"] for a in answers] == ["nobody", "nobody", "everyone", "everyone",
                                                "nobody"]  # fmt: skip
    assert answers[2]["families"]["ipv4"]["rules"] == answers[2]["rules"]


def test_a_socket_that_cannot_be_a_key_is_still_checked_and_answered():
    class Socket(dict):
        pass

    socks = [Socket(sock(22)), dict(sock(22), interface=["eth0"]), dict(sock(22), extra=[1])]
    with pytest.raises(RulesetError) as err:
        evaluate_sockets(parse_ruleset(paths_doc().json()), socks, HOST)
    assert err.value.errors == ["sockets[1].interface: expected an interface name, got a list"]
    answers = evaluate_sockets(parse_ruleset(paths_doc().json()), [socks[0], socks[2]], HOST)
    assert [a["exposure"] for a in answers] == ["everyone", "everyone"]


def _plain_walk(self, chain, groups, depth):
    """Walk.walk without waiting groups or the port-rule short cut: every rule meets every
    group in flight, as the walk was first written."""
    accepted, returned = [], []
    for rule, wanted in zip(chain.rules, chain.classes):
        if not groups:
            break
        kept = []
        for group in groups:
            if wanted is not None and wanted.isdisjoint(group[0]):
                kept.append(group)
                continue
            hit = self._split(group, wanted)
            if hit is None:
                kept.append(group)
                continue
            if group[0]:
                kept.append(group)
            self._rule(chain, rule, hit, accepted, returned, kept, depth)
        groups = kept
    return accepted, returned + groups


def long_chain_doc(rules=300):
    """Many port rules, some for a few sources only, and a source-restricted jump to a chain
    that returns part of them: port classes in several groups at once, in a long chain."""
    doc = Doc().table("ip", "filter")
    doc.chain("ip", "filter", "INPUT", hook="input", policy="drop")
    doc.chain("ip", "filter", "user")
    doc.chain("ip", "filter", "admins")
    doc.rule("ip", "filter", "INPUT", saddr(prefix("10.0.0.0", 8)), jump("admins"))
    doc.rule("ip", "filter", "INPUT", COUNTER, jump("user"))
    doc.rule("ip", "filter", "admins", saddr(prefix("10.9.0.0", 16)), RETURN)
    doc.rule("ip", "filter", "admins", dport({"range": [1000, 1100]}), ACCEPT)
    for i in range(rules):
        port = 1000 + i * 3
        expr = [dport(port, "udp" if i % 4 == 3 else "tcp"), COUNTER, ACCEPT]
        if i % 5 == 2:
            expr.insert(0, saddr(prefix(f"10.{i % 250}.0.0", 16)))
        if i % 7 == 4:
            expr[-1] = DROP
        doc.rule("ip", "filter", "user", *expr)
    doc.rule("ip", "filter", "user", dport({"range": [1000, 1400]}), saddr("192.0.2.99"), ACCEPT)
    doc.rule("ip", "filter", "user", dport(1003), ACCEPT)
    return doc


def split_sources_doc():
    """Port 22 comes back from mid in three groups (10.1/16, 10.2/16, the rest of 10/8), after
    40 port rules, and meets sub, which accepts 10.2/16 before 10.1/16: the groups' order, not
    the rules', orders the answer's rules."""
    doc = Doc().table("ip", "filter")
    doc.chain("ip", "filter", "INPUT", hook="input", policy="drop")
    doc.chain("ip", "filter", "mid")
    doc.chain("ip", "filter", "sub")
    doc.rule("ip", "filter", "INPUT", saddr(prefix("10.0.0.0", 8)), dport(22), jump("mid"))
    for i in range(40):
        doc.rule("ip", "filter", "INPUT", dport(2000 + i), ACCEPT)
    doc.rule("ip", "filter", "INPUT", dport(22), jump("sub"))
    doc.rule("ip", "filter", "mid", saddr(prefix("10.1.0.0", 16)), RETURN)
    doc.rule("ip", "filter", "mid", saddr(prefix("10.2.0.0", 16)), RETURN)
    doc.rule("ip", "filter", "sub", saddr(prefix("10.2.0.0", 16)), ACCEPT)
    doc.rule("ip", "filter", "sub", saddr(prefix("10.1.0.0", 16)), ACCEPT)
    return doc


def test_groups_that_wait_keep_their_order():
    answer = Evaluator(parse_ruleset(split_sources_doc().json()), HOST).exposure(sock(22))
    assert (answer["exposure"], answer["sources"]) == ("some", ["10.1.0.0/16", "10.2.0.0/16"])
    assert [(r["chain"], r["index"]) for r in answer["rules"]] == [("sub", 1), ("sub", 0)]


def _sockets_for(ports):
    return [sock(port, protocol) for port in ports for protocol in ("tcp", "udp")]


GENERATED = {"long-chain": (long_chain_doc, range(990, 1410)), "split": (split_sources_doc, [22])}
CASES = [pytest.param(s, id=s) for s in SCENARIOS + sorted(GENERATED)]


@pytest.mark.parametrize("scenario", CASES)
def test_waiting_groups_and_short_cuts_change_no_answer(scenario, monkeypatch):
    if scenario in GENERATED:
        make, ports = GENERATED[scenario]
        ruleset, host, socks = parse_ruleset(make().json()), HOST, _sockets_for(ports)
    else:
        captured, ruleset = load(scenario)
        host, socks = interfaces(captured), sockets(captured)
        socks += _sockets_for([22, 80, 111, 3306, 8080, 9090, 11211, 5000])
    quick = json.dumps(evaluate_sockets(ruleset, socks, host))
    monkeypatch.setattr(walk.Walk, "walk", _plain_walk)
    assert json.dumps(evaluate_sockets(ruleset, socks, host)) == quick


def test_walks_of_a_batch_carry_its_port_classes_and_others_are_walked_when_asked():
    ruleset = parse_ruleset(long_chain_doc().json())
    evaluator = Evaluator(ruleset, HOST)
    answers, errors = evaluator._answers([sock(1003), sock(1006)], "sockets", True, batch=True)
    (sweep,) = list(evaluator.runs.values())
    kind = evaluator.kinds[("ipv4", "tcp")]
    assert errors == [] and sweep.covered == {kind.port_class(1003), kind.port_class(1006)}
    later = evaluator.exposure(sock(1009))  # not in the batch: a walk over every class
    (sweep,) = list(evaluator.runs.values())
    assert sweep.covered is None
    fresh = Evaluator(ruleset, HOST)
    assert [answers[0], answers[1], later] == [fresh.exposure(sock(p)) for p in (1003, 1006, 1009)]
