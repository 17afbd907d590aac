# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""firewalld's configuration as the policy reads it (firewall_model), and restricted exposure."""

import pytest
from ansible_collections.portguard.hardening.plugins.plugin_utils._policy import (
    PolicyError,
    evaluate,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._policy.firewall_model import (
    exposure,
    parse_firewall,
    parse_rich_rule,
)
from policy_cases import (
    LAB,
    REMEDIATED_RESTRICT,
    RICH_MC,
    lab_context,
    rule,
    running,
    sock,
    zone,
)

# ---------------------------------------------------------------------------
# firewalld


@pytest.mark.parametrize(
    "text,expected",
    [
        pytest.param(
            RICH_MC,
            {
                "family": "ipv4",
                "source": "10.0.0.0/8",
                "element": "ports",
                "ports": [("tcp", 11211, 11211)],
                "action": "accept",
            },
            id="port-from-source",
        ),
        pytest.param(
            'rule source NOT address="192.0.2.0/24" port port="6000-6010" protocol="udp" drop',
            {
                "source": "192.0.2.0/24",
                "source_not": True,
                "ports": [("udp", 6000, 6010)],
                "action": "drop",
            },
            id="not-source-range",
        ),
        pytest.param(
            'rule family="ipv6" service name="http" log prefix="web in" level="info" limit '
            'value="1/m" accept',
            {"family": "ipv6", "element": "service", "service": "http", "action": "accept"},
            id="service-with-log",
        ),
        pytest.param(
            'rule source ipset="admins" accept',
            {"source": "ipset:admins", "element": "any", "action": "accept"},
            id="ipset-everything",
        ),
        pytest.param(
            'rule protocol value="tcp" reject type="icmp-host-prohibited"',
            {"element": "protocol", "protocol": "tcp", "action": "reject"},
            id="protocol",
        ),
        pytest.param(
            'rule destination address="192.0.2.1" port port="80" protocol="tcp" accept',
            {"destination": True, "element": "ports", "action": "accept"},
            id="destination",
        ),
        pytest.param('rule icmp-block name="echo-request"', {"element": "other"}, id="icmp"),
        pytest.param('rule family="ipv4" masquerade', {"element": "other"}, id="masquerade"),
        pytest.param('rule forward-port port="80" protocol="tcp" to-port="8080"', None, id="fwd"),
        pytest.param('rule source-port port="53" protocol="udp" accept', None, id="source-port"),
        pytest.param(
            'rule family="ipv4" priority="-20" source address="10.0.0.0/8" accept',
            {"priority": -20, "source": "10.0.0.0/8", "element": "any"},
            id="priority",
        ),
        pytest.param('rule priority="high" accept', None, id="bad-priority"),
        pytest.param('rule family="ipv5" accept', None, id="bad-family"),
        pytest.param('rule port port="80" accept', None, id="port-without-protocol"),
        pytest.param('rule source address="10.0.0.0/8 accept', None, id="unbalanced-quote"),
        pytest.param('family="ipv4" rule accept', None, id="attribute-first"),
        pytest.param("accept", None, id="not-a-rule"),
        pytest.param("", None, id="empty"),
        pytest.param(None, None, id="none"),
    ],
)
def test_parse_rich_rule(text, expected):
    parsed = parse_rich_rule(text)
    if expected is None:
        assert parsed is None
    else:
        assert dict((k, parsed[k]) for k in expected) == expected
        assert parsed["text"] == text


def test_parse_rich_rule_full_shape():
    assert parse_rich_rule('rule port port="22" protocol="tcp" accept') == {
        "text": 'rule port port="22" protocol="tcp" accept',
        "family": None,
        "priority": 0,
        "source": None,
        "source_not": False,
        "destination": False,
        "element": "ports",
        "ports": [("tcp", 22, 22)],
        "service": None,
        "protocol": None,
        "action": "accept",
    }


# What the role adds for a plan restricting 11211/tcp to 10.0.0.0/8.
MC4 = sock("tcp", "0.0.0.0", 11211)
MC6 = sock("tcp", "::", 11211)
MC_DUAL = sock("tcp", "::", 11211, v6only=False)


@pytest.mark.parametrize(
    "socket,firewall,expected",
    [
        pytest.param(MC4, None, ("everyone", [], ["no firewall state given"]), id="unknown"),
        pytest.param(
            MC4, {"state": "stopped"}, ("everyone", [], ["firewalld is stopped"]), id="stopped"
        ),
        pytest.param(
            MC4, {"state": "absent"}, ("everyone", [], ["firewalld is absent"]), id="absent"
        ),
        pytest.param(MC4, running(zone()), ("closed", [], []), id="closed"),
        pytest.param(
            MC4,
            running(zone(ports=["11000-12000/tcp"])),
            ("everyone", [], ["zone 'public' opens 11211/tcp"]),
            id="port-range",
        ),
        pytest.param(MC4, running(zone(ports=["11211/udp"])), ("closed", [], []), id="other-proto"),
        pytest.param(
            MC4,
            running(zone(services_ports=["11211/tcp"])),
            ("everyone", [], ["zone 'public' allows a service on 11211/tcp"]),
            id="service",
        ),
        pytest.param(
            MC4,
            running(zone(target="ACCEPT")),
            ("everyone", [], ["zone 'public' has target ACCEPT"]),
            id="target-accept",
        ),
        pytest.param(
            MC4,
            running(zone(ports=["11211/tcp"], active=False)),
            ("closed", [], []),
            id="inactive-zone",
        ),
        pytest.param(
            MC4, running(zone(rich_rules=[RICH_MC])), ("restricted", ["10.0.0.0/8"], []), id="rich"
        ),
        pytest.param(
            MC6, running(zone(rich_rules=[RICH_MC])), ("closed", [], []), id="rich-v4-only"
        ),
        pytest.param(
            MC_DUAL,
            running(zone(rich_rules=[RICH_MC])),
            ("restricted", ["10.0.0.0/8"], []),
            id="dual-stack",
        ),
        pytest.param(
            MC6,
            running(zone(rich_rules=['rule source address="2001:db8::/32" accept'])),
            ("restricted", ["2001:db8::/32"], []),
            id="rich-source-everything",
        ),
        pytest.param(
            MC4,
            running(
                zone(
                    rich_rules=[
                        'rule source NOT address="10.0.0.0/8" port port="11211" '
                        'protocol="tcp" accept'
                    ]
                )
            ),
            (
                "everyone",
                [],
                [
                    "zone 'public' rich rule: rule source NOT address=\"10.0.0.0/8\" "
                    'port port="11211" protocol="tcp" accept'
                ],
            ),
            id="rich-not-source",
        ),
        pytest.param(
            MC4,
            running(
                zone(ports=["11211/tcp"], rich_rules=['rule port port="11211" protocol="tcp" drop'])
            ),
            ("closed", [], []),
            id="drop-beats-port",
        ),
        pytest.param(
            MC4,
            running(
                zone(
                    ports=["11211/tcp"],
                    rich_rules=[
                        'rule source address="192.0.2.0/24" port port="11211" protocol="tcp" reject'
                    ],
                )
            ),
            ("everyone", [], ["zone 'public' opens 11211/tcp"]),
            id="reject-from-source-leaves-open",
        ),
        pytest.param(
            MC_DUAL,
            running(
                zone(
                    ports=["11211/tcp"], rich_rules=['rule family="ipv6" protocol value="tcp" drop']
                )
            ),
            ("everyone", [], ["zone 'public' opens 11211/tcp"]),
            id="drop-ipv6-only",
        ),
        pytest.param(
            MC4,
            running(zone("internal", ports=["11211/tcp"], sources=["10.1.0.0/16"], interfaces=[])),
            ("restricted", ["10.1.0.0/16"], []),
            id="source-zone",
        ),
        pytest.param(
            MC4,
            running(zone("trusted", target="ACCEPT", sources=["0.0.0.0/0"], interfaces=[])),
            ("everyone", [], ["zone 'trusted' has target ACCEPT"]),
            id="source-zone-everyone",
        ),
        pytest.param(
            MC4,
            running(
                zone("internal", ports=["11211/tcp"], sources=["10.1.0.0/16"], interfaces=[]),
                zone(rich_rules=[RICH_MC]),
            ),
            ("restricted", ["10.0.0.0/8", "10.1.0.0/16"], []),
            id="sources-of-all-zones",
        ),
        pytest.param(
            MC4,
            running(
                zone(rich_rules=['rule family="ipv4" service name="memcache" accept']),
                services={"memcache": ["11211/tcp"]},
            ),
            (
                "everyone",
                [],
                ['zone \'public\' rich rule: rule family="ipv4" service name="memcache" accept'],
            ),
            id="rich-service-resolved",
        ),
        pytest.param(
            MC4,
            running(zone(services_ports=["11211/tcp"], rich_rules=REMEDIATED_RESTRICT)),
            ("restricted", ["10.0.0.0/8"], []),
            id="priority-restrict-before-reject",
        ),
        pytest.param(
            MC4,
            running(zone(target="ACCEPT", rich_rules=[REMEDIATED_RESTRICT[1]])),
            ("closed", [], []),
            id="priority-reject-before-target",
        ),
        pytest.param(
            MC4,
            running(
                zone(
                    rich_rules=[
                        'rule priority="5" port port="11211" protocol="tcp" accept',
                        'rule port port="11211" protocol="tcp" reject',
                    ]
                )
            ),
            ("closed", [], []),
            id="positive-priority-after-reject",
        ),
        pytest.param(
            MC4,
            running(
                zone(
                    rich_rules=[
                        'rule port port="11211" protocol="tcp" drop',
                        'rule priority="-1" port port="11211" protocol="tcp" accept',
                    ]
                )
            ),
            (
                "everyone",
                [],
                [
                    "zone 'public' rich rule: "
                    'rule priority="-1" port port="11211" protocol="tcp" accept'
                ],
            ),
            id="negative-priority-before-drop",
        ),
        pytest.param(
            MC4,
            running(
                zone(rich_rules=['rule forward-port port="80" protocol="tcp" to-port="11211"'])
            ),
            ("closed", [], []),
            id="not-understood-ignored",
        ),
    ],
)
def test_exposure(socket, firewall, expected):
    reach = exposure(socket, parse_firewall(firewall))
    assert (reach["exposure"], reach["sources"], reach["via"]) == expected


def test_parse_firewall_notes_what_it_ignores():
    firewall = running(
        zone(
            ports=["80/tcp", "http", 80],
            rich_rules=[
                'rule forward-port port="80" protocol="tcp" to-port="8080"',
                'rule service name="cockpit" accept',
                'rule service name="http" accept',
            ],
        ),
        services={"http": ["80/tcp", "bad"]},
    )
    assert parse_firewall(firewall)["notes"] == [
        "zone 'public': port 'http' not understood, ignored",
        "zone 'public': port 80 not understood, ignored",
        "zone 'public': rich rule not understood, ignored: "
        'rule forward-port port="80" protocol="tcp" to-port="8080"',
        "zone 'public': rich rule ignored, the ports of service 'cockpit' are not known (add them "
        'to firewall.services): rule service name="cockpit" accept',
        "zone 'public': port 'bad' not understood, ignored",
    ]


def test_firewall_notes_reach_the_result():
    firewall = running(zone(rich_rules=["rule bogus"]))
    result = evaluate([MC4], [], "report", True, {"firewall": firewall})
    assert result["notes"] == ["zone 'public': rich rule not understood, ignored: rule bogus"]


@pytest.mark.parametrize(
    "firewall,errors",
    [
        ("running", ["firewall must be a mapping, got 'running'"]),
        ({"zones": []}, ["firewall.state None is not one of absent, running, stopped"]),
        (
            {"state": "up", "zones": {}, "services": []},
            [
                "firewall.state 'up' is not one of absent, running, stopped",
                "firewall.services must be a mapping, got a list",
                "firewall.zones must be a list, got a mapping",
            ],
        ),
        (
            running("public", zone(ports="80/tcp", rich_rules=None)),
            [
                "firewall.zones[0] must be a mapping, got 'public'",
                "firewall.zones[1].ports must be a list, got '80/tcp'",
            ],
        ),
        (
            running(zone(default="yes")),
            ["firewall.zones[0].default must be true or false, got 'yes'"],
        ),
    ],
)
def test_parse_firewall_errors(firewall, errors):
    with pytest.raises(PolicyError) as raised:
        parse_firewall(firewall)
    assert raised.value.errors == errors
    assert str(raised.value) == "; ".join(errors)


# ---------------------------------------------------------------------------
# Restrict and restricted exposure

MC_RESTRICT = dict(rule("mc", "restrict", ports=[11211]), sources=["10.0.0.0/8", "192.0.2.7"])


def test_restrict_plan_when_exposed_to_everyone():
    result = evaluate(LAB, [MC_RESTRICT], "report", True, lab_context())
    memcached = [f for f in result["findings"] if f["port"] == 11211]
    assert [(f["rule"], f["action"], f["status"], f["sources"]) for f in memcached] == [
        ("mc", "restrict", "open", ["10.0.0.0/8", "192.0.2.7"])
    ]
    assert result["plan"]["firewall_restrict"] == [
        {"port": 11211, "protocol": "tcp", "sources": ["10.0.0.0/8", "192.0.2.7"], "rules": ["mc"]}
    ]
    assert [b["port"] for b in result["plan"]["firewall_block"]] == [8080]
    # Accepts for the admitted sources, then the rejects of the blocked and restricted ports.
    assert result["plan"]["rich_rules"] == [
        'rule family="ipv4" priority="-20" source address="10.0.0.0/8" port port="11211" '
        'protocol="tcp" accept',
        'rule family="ipv4" priority="-20" source address="192.0.2.7" port port="11211" '
        'protocol="tcp" accept',
        'rule priority="-10" port port="8080" protocol="tcp" reject',
        'rule priority="-10" port port="11211" protocol="tcp" reject',
    ]


@pytest.mark.parametrize(
    "rules,rich,expected",
    [
        pytest.param(
            [MC_RESTRICT], [RICH_MC], ("compliant", "restricted", ["10.0.0.0/8"]), id="restrict-met"
        ),
        pytest.param(
            [MC_RESTRICT],
            ['rule source address="10.20.0.0/16" port port="11211" protocol="tcp" accept'],
            ("compliant", "restricted", ["10.20.0.0/16"]),
            id="narrower-sources",
        ),
        pytest.param(
            [MC_RESTRICT],
            [RICH_MC, 'rule source address="198.51.100.0/24" accept'],
            ("finding", "open", ["10.0.0.0/8", "198.51.100.0/24"]),
            id="extra-source",
        ),
        pytest.param(
            [MC_RESTRICT],
            ['rule source ipset="office" accept'],
            ("finding", "open", ["ipset:office"]),
            id="ipset-unknown",
        ),
        pytest.param([], [RICH_MC], ("compliant", "restricted", ["10.0.0.0/8"]), id="block-met"),
        pytest.param(
            [rule("mc", "report", ports=[11211])],
            [RICH_MC],
            ("finding", "open", ["10.0.0.0/8"]),
            id="report-restricted",
        ),
        pytest.param(
            [rule("mc", "allow", ports=[11211])],
            [RICH_MC],
            ("allowed", None, None),
            id="allow-restricted",
        ),
    ],
)
def test_restricted_exposure(rules, rich, expected):
    context = {"firewall": running(zone(rich_rules=rich))}
    result = evaluate([MC4], rules, "report", True, context)
    kind, status, sources = expected
    if kind == "compliant":
        assert [(c["rule"], c["why"], c["exposed_to"]) for c in result["compliant"]] == [
            ("mc" if rules else "builtin-memcached", status, sources)
        ]
    elif kind == "finding":
        assert [(f["status"], f["exposure"], f["exposed_to"]) for f in result["findings"]] == [
            (status, "restricted", sources)
        ]
    else:
        assert [(a["rule"], a["exposure"]) for a in result["allowed"]] == [("mc", "restricted")]
        # Restricted on purpose: never widened by opening the port to everyone.
        assert result["plan"]["firewall_open"] == []
