# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""host.ruleset: which commands run, when, and what a failure leaves."""

import os

import pytest
from ansible_collections.portguard.hardening.plugins.module_utils._read.ruleset import (
    legacy_tables,
    read_ruleset,
)

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


def _fixture(name):
    with open(os.path.join(FIXTURES, name)) as f:
        return f.read()


NFT_XT = _fixture("nft_ruleset_xt.json")
NFT_PLAIN = '{"nftables": [{"metainfo": {"version": "1.0.6", "json_schema_version": 1}}]}\n'
NFT_SAVE = _fixture("iptables_nft_save.txt")
LEGACY_SAVE = _fixture("iptables_legacy_save.txt")
ALL_TOOLS = {
    "nft": "/usr/sbin/nft",
    "iptables-nft-save": "/usr/sbin/iptables-nft-save",
    "ip6tables-nft-save": "/usr/sbin/ip6tables-nft-save",
    "iptables-legacy-save": "/usr/sbin/iptables-legacy-save",
    "ip6tables-legacy-save": "/usr/sbin/ip6tables-legacy-save",
}


class Runner:
    """run(argv) answering from a table of {program name: (rc, out, err)}, recording calls."""

    def __init__(self, answers):
        self.answers = answers
        self.calls = []

    def __call__(self, argv):
        self.calls.append(argv)
        return self.answers[os.path.basename(argv[0])]


def _proc(tmp_path, ipv4=None, ipv6=None):
    """A procfs root whose net/ip{,6}_tables_names hold these texts (None: no file)."""
    net = tmp_path / "proc" / "net"
    net.mkdir(parents=True)
    for name, text in (("ip_tables_names", ipv4), ("ip6_tables_names", ipv6)):
        if text is not None:
            (net / name).write_text(text)
    return str(tmp_path / "proc")


ANSWERS = {
    "nft": (0, NFT_XT, ""),
    "iptables-nft-save": (0, NFT_SAVE, "# Warning: iptables-legacy tables present\n"),
    "ip6tables-nft-save": (0, "", ""),
    "iptables-legacy-save": (0, LEGACY_SAVE, ""),
    "ip6tables-legacy-save": (0, "*filter\nCOMMIT\n", ""),
}


@pytest.mark.parametrize(
    "nft, names, tools, ran, expected_nft_save, expected_legacy, errors",
    [
        # The captured host: xt expressions and legacy tables of both families.
        (
            NFT_XT,
            ("filter\n", "filter\n"),
            ALL_TOOLS,
            [
                "nft",
                "iptables-nft-save",
                "ip6tables-nft-save",
                "iptables-legacy-save",
                "ip6tables-legacy-save",
            ],
            {"ipv4": NFT_SAVE, "ipv6": ""},
            {"ipv4": LEGACY_SAVE, "ipv6": "*filter\nCOMMIT\n"},
            [],
        ),
        # No xt, no legacy file (ip_tables not loaded): nft alone.
        (
            NFT_PLAIN,
            (None, None),
            ALL_TOOLS,
            ["nft"],
            {"ipv4": None, "ipv6": None},
            {"ipv4": None, "ipv6": None},
            [],
        ),
        # Empty names files: the module is loaded but no legacy table exists.
        (
            NFT_PLAIN,
            ("", "\n"),
            ALL_TOOLS,
            ["nft"],
            {"ipv4": None, "ipv6": None},
            {"ipv4": None, "ipv6": None},
            [],
        ),
        # Only IPv4 legacy tables.
        (
            NFT_PLAIN,
            ("nat\nfilter\n", ""),
            ALL_TOOLS,
            ["nft", "iptables-legacy-save"],
            {"ipv4": None, "ipv6": None},
            {"ipv4": LEGACY_SAVE, "ipv6": None},
            [],
        ),
        # Needed tools that are missing are named.
        (
            NFT_XT,
            ("filter\nnat\n", None),
            {"nft": "/usr/sbin/nft"},
            ["nft"],
            {"ipv4": None, "ipv6": None},
            {"ipv4": None, "ipv6": None},
            [
                "nft shows iptables extensions (xt) but iptables-nft-save is not installed: "
                "their options are unknown",
                "nft shows iptables extensions (xt) but ip6tables-nft-save is not installed: "
                "their options are unknown",
                "legacy ipv4 tables are loaded (filter, nat) but iptables-legacy-save is not "
                "installed: their rules are not read",
            ],
        ),
        # No nft at all: the iptables-nft save texts are the only view of those tables; legacy
        # still read.
        (
            None,
            ("filter\n", None),
            dict(ALL_TOOLS, nft=None),
            ["iptables-nft-save", "ip6tables-nft-save", "iptables-legacy-save"],
            {"ipv4": NFT_SAVE, "ipv6": ""},
            {"ipv4": LEGACY_SAVE, "ipv6": None},
            [],
        ),
        # Neither nft nor the iptables tools: nothing runs.
        (
            None,
            ("", None),
            {},
            [],
            {"ipv4": None, "ipv6": None},
            {"ipv4": None, "ipv6": None},
            [],
        ),
    ],
)
def test_what_runs(tmp_path, nft, names, tools, ran, expected_nft_save, expected_legacy, errors):
    answers = dict(ANSWERS)
    if nft is not None:
        answers["nft"] = (0, nft, "")
    run = Runner(answers)
    ruleset, problems = read_ruleset(run, tools, _proc(tmp_path, *names))
    assert [os.path.basename(c[0]) for c in run.calls] == ran
    if "nft" in ran:
        assert run.calls[0] == ["/usr/sbin/nft", "-j", "list", "ruleset"]
    assert all(len(c) == 1 for c in run.calls[1:])  # the saves take no argument
    assert ruleset == {
        "nft": nft if tools.get("nft") else None,
        "iptables_nft_save": expected_nft_save,
        "iptables_legacy_save": expected_legacy,
    }
    assert problems == errors


def test_failures_give_none_and_name_the_command(tmp_path):
    run = Runner(
        dict(
            ANSWERS,
            nft=(1, "", "Error: Could not process rule: Operation not permitted\nmore\n"),
            **{"iptables-legacy-save": (4, "", "")},
        )
    )
    ruleset, problems = read_ruleset(run, ALL_TOOLS, _proc(tmp_path, "filter\n", None))
    assert ruleset["nft"] is None
    assert ruleset["iptables_nft_save"] == {"ipv4": None, "ipv6": None}
    assert ruleset["iptables_legacy_save"] == {"ipv4": None, "ipv6": None}
    assert problems == [
        "nft -j list ruleset failed (rc 1): Error: Could not process rule: Operation not permitted",
        "iptables-legacy-save failed (rc 4): no output",
    ]


def test_a_command_that_cannot_start(tmp_path):
    def run(argv):
        raise PermissionError(13, "Permission denied")

    ruleset, problems = read_ruleset(run, {"nft": "/usr/sbin/nft"}, _proc(tmp_path))
    assert ruleset["nft"] is None
    assert problems == ["nft -j list ruleset: cannot run it: Permission denied"]


def test_unreadable_names_file(tmp_path):
    root = _proc(tmp_path)
    os.mkdir(os.path.join(root, "net", "ip_tables_names"))  # reading a directory fails
    assert legacy_tables(root, "ipv4")[0] == []
    assert legacy_tables(root, "ipv4")[1].startswith(os.path.join(root, "net", "ip_tables_names"))
    ruleset, problems = read_ruleset(Runner(ANSWERS), {}, root)
    assert ruleset["iptables_legacy_save"] == {"ipv4": None, "ipv6": None}
    assert len(problems) == 1
    assert problems[0].startswith("cannot tell whether legacy ipv4 tables are loaded: ")


def test_captured_names_file(tmp_path):
    """The file as the kernel wrote it after one iptables-legacy rule: one table a line."""
    root = _proc(tmp_path, _fixture("ip_tables_names.txt"), "")
    assert legacy_tables(root, "ipv4") == (["filter"], None)
    assert legacy_tables(root, "ipv6") == ([], None)
