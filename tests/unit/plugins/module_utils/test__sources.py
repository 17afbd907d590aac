# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Restrict sources: only canonical addresses and networks, hostile text refused."""

import pytest
from ansible_collections.portguard.hardening.plugins.module_utils._sources import (
    canonical_source,
)

NOT_A_NETWORK = "is not an IP address or CIDR network (hostnames are not accepted)"
FOREIGN = "(interface scopes such as %eth0, spaces and quotes are not accepted)"


@pytest.mark.parametrize(
    "value,expected",
    [
        pytest.param("10.0.0.0/8", "10.0.0.0/8", id="v4-network"),
        pytest.param("192.0.2.7", "192.0.2.7", id="v4-address"),
        pytest.param("192.0.2.7/32", "192.0.2.7", id="v4-host-prefix"),
        pytest.param("10.0.0.0/255.0.0.0", "10.0.0.0/8", id="v4-netmask"),
        pytest.param("10.0.0.0/08", "10.0.0.0/8", id="v4-prefix-leading-zero"),
        pytest.param("2001:0DB8:0000::/32", "2001:db8::/32", id="v6-uncompressed"),
        pytest.param("fd00::1/128", "fd00::1", id="v6-host-prefix"),
        pytest.param("fe80::1", "fe80::1", id="v6-link-local-without-scope"),
        pytest.param("0.0.0.0/0", "0.0.0.0/0", id="everyone-v4-as-written"),
        pytest.param("::/0", "::/0", id="everyone-v6-as-written"),
    ],
)
def test_canonical_source(value, expected):
    assert canonical_source(value) == expected


@pytest.mark.parametrize(
    "value,message",
    [
        # The injections: a scope id that carries a quote and rich-rule syntax.
        pytest.param(
            'fe80::1%x" accept',
            "'fe80::1%x\" accept' is not an IP address or CIDR network: it contains '%' " + FOREIGN,
            id="scope-id-with-quote",
        ),
        pytest.param(
            'fe80::1%a" accept rule x="0/0',
            "'fe80::1%a\" accept rule x=\"0/0' is not an IP address or CIDR network: it "
            "contains '%' " + FOREIGN,
            id="scope-id-widening-to-everyone",
        ),
        pytest.param(
            "fe80::1%eth0",
            "'fe80::1%eth0' is not an IP address or CIDR network: it contains '%' " + FOREIGN,
            id="plain-scope-id",
        ),
        pytest.param(
            '10.0.0.1" accept',
            "'10.0.0.1\" accept' is not an IP address or CIDR network: it contains '\"' " + FOREIGN,
            id="quote",
        ),
        pytest.param(
            "10.0.0.0/8\nrule",
            "'10.0.0.0/8\\nrule' is not an IP address or CIDR network: it contains '\\n' "
            + FOREIGN,
            id="newline",
        ),
        pytest.param(
            " 10.0.0.1",
            "' 10.0.0.1' is not an IP address or CIDR network: it contains ' ' " + FOREIGN,
            id="space",
        ),
        pytest.param(
            "10.0.0.1\x00",
            "'10.0.0.1\\x00' is not an IP address or CIDR network: it contains '\\x00' " + FOREIGN,
            id="nul",
        ),
        pytest.param(
            "１０.0.0.1",
            "'１０.0.0.1' is not an IP address or CIDR network: it contains '１' " + FOREIGN,
            id="fullwidth-digits",
        ),
        pytest.param("db.example.com", f"'db.example.com' {NOT_A_NETWORK}", id="hostname"),
        pytest.param("10.0.0.0/33", f"'10.0.0.0/33' {NOT_A_NETWORK}", id="prefix-too-long"),
        pytest.param("010.0.0.1", f"'010.0.0.1' {NOT_A_NETWORK}", id="octal-looking-octet"),
        pytest.param("0/0", f"'0/0' {NOT_A_NETWORK}", id="short-everyone"),
        pytest.param("", f"'' {NOT_A_NETWORK}", id="empty"),
        pytest.param(167772160, f"167772160 {NOT_A_NETWORK}", id="integer"),
        pytest.param(None, f"None {NOT_A_NETWORK}", id="none"),
        pytest.param(["10.0.0.0/8"], f"a list {NOT_A_NETWORK}", id="list"),
        pytest.param(
            "10.0.0.1/8",
            "'10.0.0.1/8' has host bits set: write '10.0.0.0/8' for the network or '10.0.0.1' "
            "for the one address",
            id="host-bits-v4",
        ),
        pytest.param(
            "2001:db8::1/32",
            "'2001:db8::1/32' has host bits set: write '2001:db8::/32' for the network or "
            "'2001:db8::1' for the one address",
            id="host-bits-v6",
        ),
        pytest.param(
            "1.2.3.4/0",
            "'1.2.3.4/0' has host bits set: write '0.0.0.0/0' for the network or '1.2.3.4' for "
            "the one address",
            id="host-bits-everyone",
        ),
        pytest.param(
            "::0/0",
            "'::0/0' admits every address: write '::/0' if that is meant",
            id="everyone-v6-spelled-otherwise",
        ),
        pytest.param(
            "0:0::/0",
            "'0:0::/0' admits every address: write '::/0' if that is meant",
            id="everyone-v6-long",
        ),
        pytest.param(
            "0.0.0.0/0.0.0.0",
            "'0.0.0.0/0.0.0.0' admits every address: write '0.0.0.0/0' if that is meant",
            id="everyone-v4-netmask",
        ),
    ],
)
def test_canonical_source_refuses(value, message):
    with pytest.raises(ValueError) as err:
        canonical_source(value)
    assert str(err.value) == message
