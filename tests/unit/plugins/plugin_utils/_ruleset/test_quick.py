# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""quick.py's one-pass compiler against compile.py's: the same Compiled, or no answer."""

import pytest
from ansible_collections.portguard.hardening.plugins.plugin_utils._ruleset.compile import (
    compile_rule,
    protocols_named,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._ruleset.model import (
    parse_ruleset,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._ruleset.quick import (
    quick_compile,
)
from nftjson import (
    ACCEPT,
    COUNTER,
    DROP,
    REJECT,
    RETURN,
    Doc,
    dport,
    jump,
    match,
    payload,
    prefix,
    saddr,
)

LOG = {"log": {"prefix": "x "}}
LIMIT = {"limit": {"rate": 3, "per": "minute"}}

# (expressions, whether quick.py reads the rule: True, False, or for that family only; an
# ``ip`` match in an IPv6 packet never matches, whatever its value)
CASES = [
    pytest.param([dport(22), COUNTER, ACCEPT], True, id="port-accept"),
    pytest.param([dport(53, "udp"), ACCEPT], True, id="udp-port-accept"),
    pytest.param([match(payload("th", "dport"), 80), DROP], True, id="th-port-drop"),
    pytest.param([dport(22), dport(22), REJECT], True, id="same-port-twice"),
    pytest.param([dport(22), dport(23), ACCEPT], True, id="disjoint-ports-never-match"),
    pytest.param([saddr(prefix("10.1.0.0", 16)), dport(8080), ACCEPT], True, id="source-prefix"),
    pytest.param([saddr(prefix("10.1.2.3", 16)), ACCEPT], True, id="prefix-host-bits-set"),
    pytest.param([saddr("192.0.2.7"), dport(22), ACCEPT], True, id="source-address"),
    pytest.param(
        [saddr(prefix("2001:db8::", 32), "ip6"), dport(22), ACCEPT], True, id="ip6-prefix"
    ),
    pytest.param([dport(22), saddr("10.0.0.1"), dport(53, "udp"), ACCEPT], True, id="ip-then-udp"),
    pytest.param([LIMIT, COUNTER, LOG, DROP], True, id="limit-log-drop"),
    pytest.param([COUNTER, LOG], True, id="only-observes"),
    pytest.param([dport(22), RETURN, dport(53, "udp")], True, id="other-protocol-after-verdict"),
    pytest.param([dport(22), dport(53, "udp"), ACCEPT], True, id="two-protocols"),
    pytest.param([ACCEPT, saddr("not-an-address")], True, id="after-verdict-never-read"),
    pytest.param([saddr(prefix("10.0.0.0", "8")), ACCEPT], "ipv6", id="prefix-length-text"),
    pytest.param([saddr("10.0.0.0/8"), ACCEPT], "ipv6", id="cidr-text"),
    pytest.param([saddr("not-an-address"), ACCEPT], "ipv6", id="bad-address"),
    pytest.param([saddr("@admins"), ACCEPT], "ipv6", id="named-set"),
    pytest.param([dport({"set": [22, 80]}), ACCEPT], False, id="port-set"),
    pytest.param([dport(22, op="!="), ACCEPT], False, id="not-equal"),
    pytest.param([match(payload("tcp", "sport"), 22), ACCEPT], False, id="source-port"),
    pytest.param([dport(True), ACCEPT], False, id="bool-port"),
    pytest.param([{"limit": {"rate": 3, "per": "second", "inv": True}}, DROP], False, id="over"),
    pytest.param([dport(22), jump("svc")], False, id="jump"),
    pytest.param([dport(22), {"continue": None}], False, id="continue"),
    pytest.param([{"xt": {"type": "match", "name": "conntrack"}}, ACCEPT], False, id="xt"),
]


def _rules(expr):
    doc = (
        Doc()
        .table("inet", "t")
        .chain("inet", "t", "in", hook="input")
        .chain("inet", "t", "svc")
        .set("inet", "t", "admins", [prefix("10.0.0.0", 8)])
        .rule("inet", "t", "in", *expr)
    )
    ruleset = parse_ruleset(doc.json())
    return ruleset, ruleset.chains[("inet", "t", "in")].rules[0]


def _shape(compiled):
    if compiled is None:
        return None
    return (compiled.ports, compiled.saddr, compiled.verdict, list(compiled.tests),
            list(compiled.unknown), compiled.per_port)  # fmt: skip


@pytest.mark.parametrize("expr,read", CASES)
@pytest.mark.parametrize("family", ["ipv4", "ipv6"])
def test_quick_compile_agrees_with_the_full_compiler(expr, read, family):
    ruleset, rule = _rules(expr)
    quick = quick_compile(rule, family)
    assert (quick is not None) == (read is True or read == family)
    if quick is None:
        return
    named, compiled, env = quick
    assert named == protocols_named(rule.expr)
    for protocol in ("tcp", "udp"):
        full, full_env = compile_rule(rule, ruleset, family, protocol)
        if named and (len(named) > 1 or protocol not in named):
            assert (full, full_env) == (None, None)  # another protocol's header
            continue
        assert _shape(compiled) == _shape(full)
        assert env.by_protocol == full_env.by_protocol
        assert not (full_env.iif_patterns or full_env.daddr_ranges or full_env.sport_ranges)
        assert not (full_env.dport_ranges or full_env.targets)


def test_a_quick_rule_is_one_object_for_both_protocols():
    """th dport means the same for TCP and UDP: one Compiled serves both walks."""
    ruleset, rule = _rules([match(payload("th", "dport"), 80), ACCEPT])
    named, compiled, env = quick_compile(rule, "ipv4")
    assert (named, compiled.ports, env.by_protocol) == (frozenset(), ((80, 80),), False)
