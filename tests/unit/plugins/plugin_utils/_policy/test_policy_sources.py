# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Restrict sources through the policy: refused with the rule named, stored canonical, and the
only thing rich rules are built from."""

import pytest
from ansible_collections.portguard.hardening.plugins.module_utils._firewalld import rich_rules
from ansible_collections.portguard.hardening.plugins.plugin_utils._policy import (
    PolicyError,
    evaluate,
    validate_policy,
)

FOREIGN = "(interface scopes such as %eth0, spaces and quotes are not accepted)"


def restrict(rule_id, *sources):
    return {
        "id": rule_id,
        "match": {"ports": [11211], "protocols": ["tcp"]},
        "action": "restrict",
        "sources": list(sources),
    }


MEMCACHED = {
    "protocol": "tcp",
    "family": "ipv4",
    "address": "0.0.0.0",
    "port": 11211,
    "scope": "any",
    "unit": "memcached.service",
    "processes": [{"pid": 40, "name": "memcached"}],
}


@pytest.mark.parametrize(
    "rules,expected",
    [
        pytest.param(
            [restrict("mc", "10.0.0.0/8", 'fe80::1%x" accept')],
            [
                "rule 'mc': sources: 'fe80::1%x\" accept' is not an IP address or CIDR network: "
                "it contains '%' " + FOREIGN
            ],
            id="scope-id-injection",
        ),
        pytest.param(
            [restrict("mc", 'fe80::1%a" accept rule x="0/0')],
            [
                "rule 'mc': sources: 'fe80::1%a\" accept rule x=\"0/0' is not an IP address or "
                "CIDR network: it contains '%' " + FOREIGN
            ],
            id="widening-injection",
        ),
        pytest.param(
            [restrict("mc", "10.0.0.1/8", "::0/0")],
            [
                "rule 'mc': sources: '10.0.0.1/8' has host bits set: write '10.0.0.0/8' for the "
                "network or '10.0.0.1' for the one address",
                "rule 'mc': sources: '::0/0' admits every address: write '::/0' if that is meant",
            ],
            id="host-bits-and-hidden-everyone",
        ),
        pytest.param(
            [{"match": {"ports": [1]}, "action": "restrict", "sources": ["a b"]}],
            [
                "rule #1: id is required",
                "rule #1: sources: 'a b' is not an IP address or CIDR network: it contains ' ' "
                + FOREIGN,
            ],
            id="no-id-named-by-position",
        ),
        pytest.param(
            [restrict("ok", "0.0.0.0/0", "::/0", "10.0.0.1/32")],
            [],
            id="everyone-written-as-such-is-accepted",
        ),
    ],
)
def test_validate_policy_refuses_sources(rules, expected):
    assert validate_policy(rules) == expected


@pytest.mark.parametrize(
    "sources,stored",
    [
        pytest.param(["10.0.0.1/32"], ["10.0.0.1"], id="host-prefix-dropped"),
        pytest.param(["10.0.0.0/255.0.0.0"], ["10.0.0.0/8"], id="netmask-to-prefix"),
        pytest.param(
            ["2001:0DB8::/32", "2001:db8::/32", "192.0.2.7"],
            ["192.0.2.7", "2001:db8::/32"],
            id="v6-compressed-and-deduplicated",
        ),
    ],
)
def test_sources_are_stored_canonical(sources, stored):
    result = evaluate([MEMCACHED], [restrict("mc", *sources)])
    [finding] = result["findings"]
    assert finding["sources"] == stored
    assert result["plan"]["firewall_restrict"][0]["sources"] == stored


def test_rich_rules_from_the_policy_carry_canonical_sources():
    result = evaluate([MEMCACHED], [restrict("mc", "10.0.0.0/255.0.0.0", "2001:0DB8::1/128")])
    assert rich_rules(result["plan"]) == [
        'rule family="ipv4" priority="-20" source address="10.0.0.0/8" port port="11211" '
        'protocol="tcp" accept',
        'rule family="ipv6" priority="-20" source address="2001:db8::1" port port="11211" '
        'protocol="tcp" accept',
        'rule priority="-10" port port="11211" protocol="tcp" reject',
    ]


def test_evaluate_refuses_a_hostile_source_and_builds_nothing():
    with pytest.raises(PolicyError) as err:
        evaluate([MEMCACHED], [restrict("mc", 'fe80::1%a" accept rule x="0/0')])
    assert err.value.errors == [
        "rule 'mc': sources: 'fe80::1%a\" accept rule x=\"0/0' is not an IP address or CIDR "
        "network: it contains '%' " + FOREIGN
    ]
