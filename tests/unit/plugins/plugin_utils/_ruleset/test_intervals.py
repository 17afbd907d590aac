# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Integer range sets, the representation of source addresses and ports."""

import ipaddress

import pytest
from ansible_collections.portguard.hardening.plugins.plugin_utils._ruleset import intervals as iv

BIG = tuple((i * 10, i * 10 + 4) for i in range(40))  # over the size that is memoized


@pytest.mark.parametrize(
    "op,a,b,expected",
    [
        pytest.param(iv.union, ((1, 3),), ((4, 6),), ((1, 6),), id="union-adjacent-merges"),
        pytest.param(iv.union, ((1, 3),), ((6, 7),), ((1, 3), (6, 7)), id="union-gap-kept"),
        pytest.param(
            iv.intersect, ((1, 10),), ((3, 4), (8, 12)), ((3, 4), (8, 10)), id="intersect"
        ),  # fmt: skip
        pytest.param(iv.intersect, ((1, 2),), ((3, 4),), (), id="intersect-disjoint"),
        pytest.param(
            iv.subtract, ((1, 10),), ((3, 4), (8, 12)), ((1, 2), (5, 7)), id="subtract"
        ),  # fmt: skip
        pytest.param(iv.subtract, ((1, 10),), ((0, 20),), (), id="subtract-all"),
        pytest.param(iv.subtract, BIG, ((0, 400),), (), id="subtract-big-all"),
        pytest.param(iv.intersect, BIG, ((12, 21),), ((12, 14), (20, 21)), id="intersect-big"),
        pytest.param(iv.subtract, BIG, BIG, (), id="subtract-same"),
    ],
)
def test_set_operations(op, a, b, expected):
    assert op(a, b) == expected
    assert op(a, b) == expected  # a second time, from the memo for big sets


@pytest.mark.parametrize(
    "ranges,family,expected",
    [
        pytest.param(iv.network_range("10.0.0.0/8"), "ipv4", ["10.0.0.0/8"], id="prefix"),
        pytest.param(
            ((167772161, 167772166),),
            "ipv4",
            ["10.0.0.1/32", "10.0.0.2/31", "10.0.0.4/31", "10.0.0.6/32"],
            id="range-as-cidrs",
        ),  # fmt: skip
        pytest.param(
            iv.outside("ipv4")[:1],
            "ipv4",
            [
                "0.0.0.0/2",
                "64.0.0.0/3",
                "96.0.0.0/4",
                "112.0.0.0/5",
                "120.0.0.0/6",
                "124.0.0.0/7",
                "126.0.0.0/8",
            ],
            id="outside-stops-before-loopback",
        ),  # fmt: skip
        pytest.param(iv.network_range("2001:db8::1"), "ipv6", ["2001:db8::1/128"], id="v6-host"),
    ],
)
def test_networks(ranges, family, expected):
    assert iv.networks(ranges, family) == expected


@pytest.mark.parametrize(
    "text,family",
    [
        pytest.param("10.0.0.0/8", "ipv6", id="v4-as-v6"),
        pytest.param("::1", "ipv4", id="v6-as-v4"),
        pytest.param("010.1", "ipv4", id="loose-ipv4"),
    ],
)
def test_addresses_of_the_wrong_family_are_refused(text, family):
    with pytest.raises(ValueError):
        iv.network_range(text, family)


@pytest.mark.parametrize(
    "addr,length,family,expected",
    [
        pytest.param("10.1.0.0", 16, "ipv4", "10.1.0.0/16", id="v4"),
        pytest.param("10.1.2.3", 16, "ipv4", "10.1.0.0/16", id="host-bits-dropped"),
        pytest.param("0.0.0.0", 0, "ipv4", "0.0.0.0/0", id="v4-everything"),
        pytest.param("192.0.2.7", 32, "ipv4", "192.0.2.7/32", id="v4-host"),
        pytest.param("2001:db8::1", 32, "ipv6", "2001:db8::/32", id="v6"),
        pytest.param("::ffff:10.0.0.1", 120, "ipv6", "::ffff:10.0.0.0/120", id="v6-mapped"),
        pytest.param("fe80::1", 128, "ipv6", "fe80::1/128", id="v6-host"),
        pytest.param("10.0.0.0", "8", "ipv4", None, id="length-as-text"),
        pytest.param("10.0.0.0", True, "ipv4", None, id="length-bool"),
        pytest.param("10.0.0.0", 33, "ipv4", None, id="length-too-long"),
        pytest.param("10.0.0.0", -1, "ipv4", None, id="length-negative"),
        pytest.param("::1", 8, "ipv4", None, id="other-family"),
        pytest.param("010.0.0.1", 8, "ipv4", None, id="loose-ipv4"),
        pytest.param("fe80::1%eth0", 64, "ipv6", None, id="scoped"),
        pytest.param(167772160, 8, "ipv4", None, id="address-as-int"),
    ],
)
def test_prefix_range_is_network_range_or_declines(addr, length, family, expected):
    """The quick way reads what inet_pton reads; network_range (ipaddress) has the rest."""
    found = iv.prefix_range(addr, length, family)
    assert found == (None if expected is None else iv.network_range(expected, family))
    if expected is not None:
        assert found == iv.network_range(f"{addr}/{length}", family)


@pytest.mark.parametrize(
    "text,family",
    [
        pytest.param("10.1.2.3/16", "ipv4", id="host-bits"),
        pytest.param("10.0.0.0/08", "ipv4", id="length-leading-zero"),
        pytest.param("2001:db8::/48", "ipv6", id="v6"),
        pytest.param("10.0.0.0/255.255.0.0", "ipv4", id="netmask"),
        pytest.param("fe80::1", "ipv6", id="address"),
    ],
)
def test_network_range_agrees_with_ipaddress(text, family):
    net = ipaddress.ip_network(text, strict=False)
    assert iv.network_range(text, family) == (
        (int(net.network_address), int(net.broadcast_address)),
    )
