# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""rich_rules() writes values into firewalld's rule language: it checks them again and refuses
anything but canonical sources, ports and protocols, naming the plan entry."""

import pytest
from ansible_collections.portguard.hardening.plugins.module_utils._firewalld import rich_rules
from ansible_collections.portguard.hardening.plugins.module_utils._values import PolicyError

FOREIGN = "(interface scopes such as %eth0, spaces and quotes are not accepted)"


def restrict(*sources, port=11211, protocol="tcp"):
    entry = {"port": port, "protocol": protocol, "sources": list(sources), "rules": ["mc"]}
    return {"firewall_restrict": [entry]}


def block(port=8080, protocol="tcp"):
    return {"firewall_block": [{"port": port, "protocol": protocol, "rules": ["builtin-admin"]}]}


WHERE = "plan.firewall_restrict[0] (rules 'mc')"


@pytest.mark.parametrize(
    "plan,errors",
    [
        pytest.param(
            restrict('fe80::1%x" accept'),
            [
                f"{WHERE}: sources[0]: 'fe80::1%x\" accept' is not an IP address or CIDR "
                "network: it contains '%' " + FOREIGN
            ],
            id="scope-id-injection",
        ),
        pytest.param(
            restrict("10.0.0.0/8", 'fe80::1%a" accept rule x="0/0'),
            [
                f"{WHERE}: sources[1]: 'fe80::1%a\" accept rule x=\"0/0' is not an IP address "
                "or CIDR network: it contains '%' " + FOREIGN
            ],
            id="widening-injection",
        ),
        pytest.param(
            restrict("10.0.0.1/32"),
            [f"{WHERE}: sources[0]: '10.0.0.1/32' is not in canonical form (expected '10.0.0.1')"],
            id="not-canonical",
        ),
        pytest.param(
            restrict("10.0.0.1/8"),
            [
                f"{WHERE}: sources[0]: '10.0.0.1/8' has host bits set: write '10.0.0.0/8' for "
                "the network or '10.0.0.1' for the one address"
            ],
            id="host-bits",
        ),
        pytest.param(
            restrict("::0/0"),
            [f"{WHERE}: sources[0]: '::0/0' admits every address: write '::/0' if that is meant"],
            id="hidden-everyone",
        ),
        pytest.param(
            restrict(), [f"{WHERE}: sources must be a non-empty list, got a list"], id="no-sources"
        ),
        pytest.param(
            restrict("10.0.0.0/8", port='80" accept'),
            [f"{WHERE}: port '80\" accept' is not a port (1-65535)"],
            id="port-text",
        ),
        pytest.param(
            restrict("10.0.0.0/8", port=True),
            [f"{WHERE}: port True is not a port (1-65535)"],
            id="port-bool",
        ),
        pytest.param(
            block(protocol='tcp" accept'),
            [
                "plan.firewall_block[0] (rules 'builtin-admin'): protocol 'tcp\" accept' is not "
                "tcp or udp"
            ],
            id="protocol-text",
        ),
        pytest.param(
            block(port=0, protocol="sctp"),
            [
                "plan.firewall_block[0] (rules 'builtin-admin'): port 0 is not a port (1-65535)",
                "plan.firewall_block[0] (rules 'builtin-admin'): protocol 'sctp' is not tcp or udp",
            ],
            id="port-and-protocol",
        ),
        pytest.param(
            {"firewall_block": ["8080/tcp"]},
            ["plan.firewall_block[0]: expected a mapping, got '8080/tcp'"],
            id="entry-not-a-mapping",
        ),
    ],
)
def test_rich_rules_refuse(plan, errors):
    with pytest.raises(PolicyError) as err:
        rich_rules(plan)
    assert err.value.errors == errors


@pytest.mark.parametrize(
    "plan,rules",
    [
        pytest.param(
            restrict("0.0.0.0/0", "::/0"),
            [
                'rule family="ipv4" priority="-20" source address="0.0.0.0/0" port port="11211" '
                'protocol="tcp" accept',
                'rule family="ipv6" priority="-20" source address="::/0" port port="11211" '
                'protocol="tcp" accept',
                'rule priority="-10" port port="11211" protocol="tcp" reject',
            ],
            id="everyone-as-written",
        ),
        pytest.param(
            restrict("fe80::1", port=53, protocol="udp"),
            [
                'rule family="ipv6" priority="-20" source address="fe80::1" port port="53" '
                'protocol="udp" accept',
                'rule priority="-10" port port="53" protocol="udp" reject',
            ],
            id="link-local-without-scope",
        ),
    ],
)
def test_rich_rules_write_checked_values(plan, rules):
    assert rich_rules(plan) == rules
