# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading ``nft -j list ruleset``: structure kept, malformed documents refused by name."""

import json

import pytest
from ansible_collections.portguard.hardening.plugins.plugin_utils._ruleset.model import (
    RulesetError,
    parse_ruleset,
)
from nftjson import ACCEPT, DROP, Doc, dport


def test_chains_rules_and_sets_keep_their_order_and_attributes():
    doc = (
        Doc()
        .table("inet", "f")
        .table("ip", "filter")
        .chain("ip", "filter", "INPUT", hook="input", prio=0, policy="drop")
        .chain("inet", "f", "input", hook="input", prio=-10, policy="accept")
        .chain("inet", "f", "svc")
        .chain("netdev", "edge", "in", hook="ingress", prio=-500, dev=["eth0", "eth1"])
        .set("inet", "f", "ok", [22], type="inet_service")
        .set("inet", "f", "ports", [[22, ACCEPT]], type="inet_service", kind="map", map="verdict")
        .rule("inet", "f", "input", dport(80), ACCEPT)
        .rule("inet", "f", "input", DROP, comment="last")
    )
    ruleset = parse_ruleset(json.dumps(doc.json()))
    bases = ruleset.base_chains("input", ("ip", "inet"))
    assert [(c.family, c.name, c.prio, c.policy, c.type) for c in bases] == [
        ("inet", "input", -10, "accept", "filter"),
        ("ip", "INPUT", 0, "drop", "filter"),
    ]
    rules = ruleset.chains[("inet", "f", "input")].rules
    assert [(r.index, r.handle, r.comment) for r in rules] == [(0, 9, None), (1, 10, "last")]
    assert ruleset.chains[("netdev", "edge", "in")].devices == ("eth0", "eth1")
    assert not ruleset.chains[("inet", "f", "svc")].is_base
    named = ruleset.named_set("inet", "f", "ports")
    assert (named.kind, named.map, named.elements) == ("map", "verdict", [[22, ACCEPT]])
    assert ruleset.version == "1.0.6"


@pytest.mark.parametrize(
    "data,errors",
    [
        pytest.param(
            "{",
            [
                "ruleset: not JSON (Expecting property name enclosed in double "
                "quotes: line 1 column 2 (char 1))"
            ],
            id="not-json",
        ),  # fmt: skip
        pytest.param(
            {"rules": []},
            ["ruleset: expected an object with an 'nftables' list"],
            id="no-nftables-list",
        ),  # fmt: skip
        pytest.param(
            {"nftables": [[1]]},
            ["nftables[0]: expected an object with one key, got a list"],
            id="item-not-an-object",
        ),  # fmt: skip
        pytest.param(
            {"nftables": [{"chain": {"family": "inet", "table": "f"}}]},
            ["nftables[0] (chain inet f).name: expected a non-empty string, got None"],
            id="chain-without-name",
        ),
        pytest.param(
            {"nftables": [{"table": {"family": "ipx", "name": "f"}}]},
            ["nftables[0] (table ipx f).family: unknown family 'ipx'"],
            id="unknown-family",
        ),
        pytest.param(
            {
                "nftables": [
                    {
                        "chain": {
                            "family": "ip",
                            "table": "f",
                            "name": "c",
                            "hook": "input",
                            "prio": "early",
                            "policy": "maybe",
                        }
                    }
                ]
            },  # fmt: skip
            [
                "nftables[0] (chain ip f c).prio: expected an integer, got 'early'",
                "nftables[0] (chain ip f c).policy: expected accept or drop, got 'maybe'",
            ],
            id="bad-prio-and-policy",
        ),
        pytest.param(
            {"nftables": [{"rule": {"family": "ip", "table": "f", "chain": "gone", "expr": []}}]},
            ["nftables[0] (rule ip f gone): chain 'gone' is not in the ruleset"],
            id="rule-in-missing-chain",
        ),
        pytest.param(
            {
                "nftables": [
                    {"chain": {"family": "ip", "table": "f", "name": "c"}},
                    {
                        "rule": {
                            "family": "ip",
                            "table": "f",
                            "chain": "c",
                            "expr": {"accept": None},
                        }
                    },
                ]
            },  # fmt: skip
            ["nftables[1] (rule ip f c).expr: expected a list, got a mapping"],
            id="expr-not-a-list",
        ),
    ],
)
def test_malformed_documents_are_refused_naming_the_object(data, errors):
    with pytest.raises(RulesetError) as err:
        parse_ruleset(data)
    assert err.value.errors == errors


def test_named_priority_and_kinds_that_cannot_filter():
    data = {
        "nftables": [
            {
                "chain": {
                    "family": "ip",
                    "table": "f",
                    "name": "c",
                    "hook": "input",
                    "prio": "filter",
                    "type": "filter",
                }
            },  # fmt: skip
            {"flowtable": {"family": "ip", "table": "f", "name": "ft"}},
            {"counter": {"family": "ip", "table": "f", "name": "n"}},
            {"tunnel": {"family": "ip", "table": "f", "name": "t"}},
            {"wormhole": {"family": "ip", "table": "f", "name": "w"}},
        ]
    }
    ruleset = parse_ruleset(data)
    assert ruleset.chains[("ip", "f", "c")].prio == 0
    assert ruleset.notes == ["nftables[4] (wormhole ip f w): object kind 'wormhole' not read"]


@pytest.mark.parametrize("as_text", [True, False], ids=["text", "decoded"])
def test_rules_are_the_same_from_text_and_from_the_decoded_document(as_text):
    doc = Doc().table("inet", "f").chain("inet", "f", "input", hook="input")
    doc.rule("inet", "f", "input", dport(22), ACCEPT)
    data = doc.json()
    ruleset = parse_ruleset(json.dumps(data) if as_text else data)
    rule = ruleset.chains[("inet", "f", "input")].rules[0]
    assert rule.expr == [dport(22), ACCEPT]
    # A document handed in decoded stays the caller's: changing it later changes no rule.
    data["nftables"][-1]["rule"]["expr"].append(DROP)
    assert rule.expr == [dport(22), ACCEPT]
