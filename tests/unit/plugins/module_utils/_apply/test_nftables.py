# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's nftables table: rendering, validation, the kernel comparison, and apply()
on a fake host.

fixtures/nftables/example.nft is render_table() of EXAMPLE, loaded with the real nft 1.0.6
(Debian 12) and 1.1.3 (Debian 13); example.*.json is what each listed back
(`nft -j list table inet portguard`), dormant.bookworm.json the same table after
`nft add table inet portguard { flags dormant; }`, tables.bookworm.json `nft -j list tables` of a
host running nftables.service with the table loaded.
"""

import copy
import json
import os

import pytest
from ansible_collections.portguard.hardening.plugins.module_utils._apply import nftables
from ansible_collections.portguard.hardening.plugins.module_utils._apply.host import FileState
from ansible_collections.portguard.hardening.plugins.module_utils._apply.nftables import (
    ApplyError,
    apply,
    desired_files,
    expected_shape,
    has_table,
    render_dropin,
    render_table,
    table_shape,
)
from ansible_collections.portguard.hardening.plugins.module_utils._apply.rules import validate
from ansible_collections.portguard.hardening.plugins.module_utils._values import PolicyError
from nft_fake import NFT, FakeHost, unit_state

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "nftables")
EXAMPLE = [
    {"port": 8080, "protocol": "tcp", "action": "block", "ids": ["r1", "bad id"]},
    {
        "port": 11211,
        "protocol": "tcp",
        "action": "restrict",
        "sources": ["192.0.2.1", "10.0.0.0/8", "10.1.0.0/16", "2001:db8::/32"],
        "ids": ["memcached"],
        # Published by a container too: its DNAT'd packets are closed in the forward chain.
        "forwarded": True,
    },
    {"port": 161, "protocol": "udp", "action": "block"},
]
KEEP = [{"port": 22, "protocol": "tcp"}]
DROPINS = sorted(nftables.dropin_path(unit) for unit, _reload in nftables.HOOKED_UNITS)
ALL_FILES = sorted([nftables.RULES_PATH, nftables.UNIT_PATH] + DROPINS)


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as f:
        return f.read()


def example_table():
    return render_table(validate(EXAMPLE, KEEP)[0])


# ---------------------------------------------------------------------------
# Rendering


def test_the_example_renders_to_the_file_nft_loaded():
    assert example_table().text == fixture("example.nft")


@pytest.mark.parametrize(
    "rule, lines",
    [
        (
            {"port": 8080, "protocol": "tcp", "action": "block"},
            ['tcp dport 8080 reject with tcp reset comment "8080/tcp block"'],
        ),
        (
            {"port": 53, "protocol": "udp", "action": "block", "ids": ["dns"]},
            ['udp dport 53 reject comment "53/udp block; ids dns"'],
        ),
        (
            {"port": 6379, "protocol": "tcp", "action": "restrict", "sources": ["2001:db8::1"]},
            [
                'tcp dport 6379 ip6 saddr 2001:db8::1 accept comment "6379/tcp restrict: ip6 '
                'sources admitted"',
                'tcp dport 6379 reject with tcp reset comment "6379/tcp restrict: everyone else"',
            ],
        ),
        (
            {
                "port": 5353,
                "protocol": "udp",
                "action": "restrict",
                "sources": ["192.0.2.128/25", "192.0.2.0/25", "198.51.100.7/32"],
            },
            [
                'udp dport 5353 ip saddr { 192.0.2.0/24, 198.51.100.7 } accept comment "5353/udp '
                'restrict: ip sources admitted"',
                'udp dport 5353 reject comment "5353/udp restrict: everyone else"',
            ],
        ),
    ],
)
def test_rule_lines(rule, lines):
    rule = dict(rule, forwarded=True)
    text = render_table(validate([rule])[0]).text
    _head, inputs, forwards = text.split("policy accept;\n")
    body = inputs.splitlines()
    assert body[:2] == [
        '\t\tiif "lo" accept comment "portguard sha256:%s"'
        % render_table(validate([rule])[0]).digest,
        '\t\tct state established,related accept comment "running connections"',
    ]
    assert [line.strip() for line in body[2:-3]] == lines
    assert body[-3:] == ["\t}", "\tchain forward {", "\t\ttype filter hook forward priority -10; "]
    forward = forwards.splitlines()
    assert forward[0] == '\t\tct state established,related accept comment "running connections"'
    # The same rules for packets DNAT'd from the port (published container ports).
    match = "{protocol} dport {port}".format(**rule)
    dnat = "meta l4proto {protocol} ct status dnat ct original proto-dst {port}".format(**rule)
    label = "{port}/{protocol}".format(**rule)
    assert [line.strip() for line in forward[1:-2]] == [
        line.replace(match, dnat, 1).replace(f'"{label} ', f'"{label} forwarded ', 1)
        for line in lines
    ]
    assert forward[-2:] == ["\t}", "}"]


def test_a_port_that_is_not_forwarded_leaves_dnat_traffic_alone():
    """A router's port forward or a Kubernetes service on the same port is nobody's finding."""
    text = render_table(validate([{"port": 6379, "protocol": "tcp", "action": "block"}])[0]).text
    forward = text.split("hook forward priority -10; policy accept;\n", 1)[1]
    assert "6379" not in forward
    assert "tcp dport 6379 reject with tcp reset" in text


def test_no_rules_still_accepts_loopback_and_running_connections():
    table = render_table([])
    assert [(chain, verdict) for chain, _comment, verdict in table.rules] == [
        ("input", "accept"),
        ("input", "accept"),
        ("forward", "accept"),
    ]
    assert "dport" not in table.text


def test_the_digest_follows_the_content():
    one = render_table(validate([{"port": 1, "protocol": "tcp", "action": "block"}])[0])
    two = render_table(validate([{"port": 2, "protocol": "tcp", "action": "block"}])[0])
    assert one.digest != two.digest
    assert one.rules[0] == ("input", "portguard sha256:" + one.digest, "accept")
    assert one == render_table(validate([{"port": 1, "protocol": "tcp", "action": "block"}])[0])


@pytest.mark.parametrize("count", [1, 5, 40])
def test_ids_fit_in_a_comment(count):
    ids = ["rule-%02d-%s" % (i, "x" * 50) for i in range(count)]
    table = render_table(
        validate([{"port": 8080, "protocol": "tcp", "action": "block", "ids": ids}])[0]
    )
    comment = table.rules[2][1]
    assert len(comment) <= nftables.COMMENT_MAX
    assert comment.startswith("8080/tcp block; ids rule-00-")
    if count > 1:
        assert comment.endswith(" +%d more" % (count - 1))


@pytest.mark.parametrize(
    "unit, reload",
    [
        ("nftables.service", True),
        ("netfilter-persistent.service", False),
        ("ufw.service", False),
        ("firewalld.service", True),
    ],
)
def test_dropins_reload_only_units_with_a_reload_of_their_own(unit, reload):
    assert dict(nftables.HOOKED_UNITS)[unit] is reload
    text = render_dropin(unit, NFT, reload)
    load = "-/usr/sbin/nft -f /etc/portguard/nftables.nft"
    directives = [line for line in text.splitlines() if not line.startswith("#")]
    expected = ["[Service]", "ExecStartPost=" + load]
    expected += ["ExecReload=" + load] if reload else []
    assert directives == expected + ["ExecStopPost=" + load]


def test_the_unit_loads_the_file_before_the_network():
    files = desired_files(example_table(), NFT)
    assert sorted(files) == ALL_FILES
    unit = [
        line for line in files[nftables.UNIT_PATH].splitlines() if "=" in line and line[0] != "#"
    ]
    assert unit == [
        "Description=portguard: nftables table of the ports the policy closes",
        "Documentation=file:/etc/portguard/nftables.nft",
        "DefaultDependencies=no",
        "After=local-fs.target",
        "Before=network-pre.target",
        "Wants=network-pre.target",
        "Type=oneshot",
        "RemainAfterExit=yes",
        "StandardInput=null",
        "ExecStart=/usr/sbin/nft -f /etc/portguard/nftables.nft",
        "ExecReload=/usr/sbin/nft -f /etc/portguard/nftables.nft",
        "WantedBy=sysinit.target",
    ]


@pytest.mark.parametrize("nft", ["usr/sbin/nft", "/opt/my nft/nft", "/usr/sbin/nft\nExecStart=x"])
def test_an_odd_nft_path_is_never_written_into_a_unit(nft):
    with pytest.raises(ApplyError, match="refusing to write nft's path"):
        desired_files(example_table(), nft)


# ---------------------------------------------------------------------------
# The kernel's table compared with the file


@pytest.mark.parametrize("release", ["bookworm", "trixie"])
def test_the_real_listing_matches_the_file_it_loaded(release):
    listed = fixture(f"example.{release}.json")
    assert table_shape(listed) == expected_shape(example_table())


def _edited(edit):
    document = json.loads(fixture("example.bookworm.json"))
    edit(document["nftables"])
    return json.dumps(document)


def _rule_index(objects, comment):
    return next(i for i, o in enumerate(objects) if o.get("rule", {}).get("comment") == comment)


def _accept_8080(objects):
    rule = objects[_rule_index(objects, "8080/tcp block; ids r1")]["rule"]
    rule["expr"][-1] = {"accept": None}


def _extra_chain(objects):
    chain = copy.deepcopy(objects[2])
    chain["chain"]["name"] = "more"
    objects.append(chain)


@pytest.mark.parametrize(
    "listed",
    [
        pytest.param(fixture("dormant.bookworm.json"), id="dormant"),
        pytest.param(
            _edited(lambda objs: objs.pop(_rule_index(objs, "8080/tcp block; ids r1"))),
            id="rule deleted",
        ),
        pytest.param(_edited(_accept_8080), id="reject made accept"),
        pytest.param(_edited(lambda objs: objs.append(copy.deepcopy(objs[-1]))), id="rule added"),
        pytest.param(_edited(lambda objs: objs[2]["chain"].update(prio=0)), id="priority"),
        pytest.param(_edited(lambda objs: objs[2]["chain"].update(policy="drop")), id="policy"),
        pytest.param(_edited(_extra_chain), id="extra chain"),
        pytest.param(
            _edited(lambda objs: objs.append({"set": {"name": "s", "table": "portguard"}})),
            id="a set",
        ),
    ],
)
def test_a_changed_table_is_not_the_file(listed):
    assert table_shape(listed) != expected_shape(example_table())


def test_another_digest_is_not_the_file():
    other = render_table(validate([{"port": 8080, "protocol": "tcp", "action": "block"}])[0])
    assert table_shape(fixture("example.bookworm.json")) != expected_shape(other)


@pytest.mark.parametrize(
    "text, present",
    [
        (fixture("tables.bookworm.json"), True),
        (
            '{"nftables": [{"metainfo": {}}, {"table": {"family": "ip", "name": "portguard"}}]}',
            False,
        ),
        ('{"nftables": [{"metainfo": {}}]}', False),
    ],
)
def test_has_table(text, present):
    assert has_table(text) is present


@pytest.mark.parametrize("text", ["", "Error: something", '{"rules": []}', "[1, 2]"])
def test_a_listing_that_is_not_nft_json_is_an_error(text):
    with pytest.raises(ApplyError, match="nft printed no JSON ruleset"):
        table_shape(text)


# ---------------------------------------------------------------------------
# apply() on a fake host


@pytest.mark.parametrize(
    "rule",
    [
        {"port": 22, "protocol": "tcp", "action": "block"},
        {"port": 22, "protocol": "tcp", "action": "restrict", "sources": ["192.0.2.0/24"]},
    ],
)
def test_a_kept_port_is_never_closed(rule):
    host = FakeHost()
    with pytest.raises(PolicyError) as info:
        apply(host, [rule, {"port": 53, "protocol": "udp", "action": "block"}], KEEP)
    assert info.value.errors == [
        "rules[0]: refusing to close 22/tcp, which keep names (the management connection)"
    ]
    assert host.calls == []


def installed_host():
    """A host after a first successful run of EXAMPLE."""
    host = FakeHost()
    apply(host, EXAMPLE, KEEP)
    host.calls = []
    return host


def test_first_run_writes_enables_and_loads():
    host = FakeHost()
    result, warnings = apply(host, EXAMPLE, KEEP)
    assert result["changed"] is True
    assert result["files_changed"] == ALL_FILES
    assert (result["loaded"], result["unit_enabled"], result["rules"]) == (True, True, 3)
    assert result["path"] == "/etc/portguard/nftables.nft"
    assert result["diff"]["before"] == ""
    assert result["diff"]["after"] == fixture("example.nft")
    assert len(warnings) == 1
    writes = [("write", p) for p in nftables.MANAGED_PATHS]
    assert host.commands() == [("nft", "-c", "-f", "-")] + writes + [
        ("systemctl", "reenable", "--no-reload", "--", nftables.UNIT),
        ("systemctl", "daemon-reload"),
        ("systemctl", "start", "--", nftables.UNIT),
    ]
    assert host.files[nftables.RULES_PATH] == FileState(fixture("example.nft"), 0o644, 0, 0)
    assert host.kernel == fixture("example.nft")


def test_second_run_changes_nothing():
    host = installed_host()
    result, _warnings = apply(host, EXAMPLE, KEEP)
    assert (result["changed"], result["files_changed"]) == (False, [])
    assert (result["loaded"], result["unit_enabled"]) == (True, True)
    assert host.commands() == []


def test_check_mode_reports_and_changes_nothing():
    host = FakeHost()
    result, _warnings = apply(host, EXAMPLE, KEEP, check_mode=True)
    assert result["changed"] is True
    assert result["files_changed"] == ALL_FILES
    assert (result["loaded"], result["unit_enabled"]) == (False, False)
    assert host.commands() == [("nft", "-c", "-f", "-")]
    assert host.files == {}
    assert host.kernel is None


def _flushed(host):
    host.kernel = None


def _dormant(host):
    host.listing = fixture("dormant.bookworm.json")


def _rule_changed(host):
    host.kernel = host.kernel.replace("reject with tcp reset", "accept")


@pytest.mark.parametrize("drift", [_flushed, _dormant, _rule_changed])
def test_a_table_that_drifted_is_loaded_again(drift):
    host = installed_host()
    drift(host)
    result, _warnings = apply(host, EXAMPLE, KEEP)
    assert (result["changed"], result["files_changed"], result["loaded"]) == (True, [], True)
    assert host.commands() == [("systemctl", "reload", "--", nftables.UNIT)]
    assert host.kernel == fixture("example.nft")


def test_new_rules_rewrite_only_the_rules_file():
    host = installed_host()
    rules = [{"port": 8080, "protocol": "tcp", "action": "block"}]
    result, _warnings = apply(host, rules, KEEP)
    assert result["files_changed"] == [nftables.RULES_PATH]
    assert result["diff"]["before"] == fixture("example.nft")
    assert host.commands() == [
        ("nft", "-c", "-f", "-"),
        ("write", nftables.RULES_PATH),
        ("systemctl", "reload", "--", nftables.UNIT),
    ]
    assert "11211" not in host.kernel


def test_a_unit_file_made_writable_is_written_again():
    host = installed_host()
    host.files[nftables.UNIT_PATH] = host.files[nftables.UNIT_PATH]._replace(mode=0o666)
    result, _warnings = apply(host, EXAMPLE, KEEP)
    assert result["files_changed"] == [nftables.UNIT_PATH]
    assert host.commands() == [
        ("write", nftables.UNIT_PATH),
        ("systemctl", "reenable", "--no-reload", "--", nftables.UNIT),
        ("systemctl", "daemon-reload"),
    ]


def test_a_stopped_unit_is_started():
    host = installed_host()
    host.unit["ActiveState"] = "inactive"
    result, _warnings = apply(host, EXAMPLE, KEEP)
    assert result["changed"] is True
    assert host.commands() == [("systemctl", "start", "--", nftables.UNIT)]


def test_a_unit_file_systemd_has_not_read_is_read():
    host = installed_host()
    host.unit["NeedDaemonReload"] = "yes"
    result, _warnings = apply(host, EXAMPLE, KEEP)
    assert (result["changed"], result["files_changed"]) == (True, [])
    assert host.commands() == [("systemctl", "daemon-reload")]


def test_a_disabled_unit_is_enabled():
    host = installed_host()
    host.unit["UnitFileState"] = "disabled"
    result, _warnings = apply(host, EXAMPLE, KEEP)
    assert (result["changed"], result["unit_enabled"]) == (True, True)
    assert host.commands() == [
        ("systemctl", "reenable", "--no-reload", "--", nftables.UNIT),
        ("systemctl", "daemon-reload"),
    ]


def test_a_table_nft_refuses_changes_nothing():
    host = FakeHost()
    host.check = (1, "", "/dev/stdin:9:1: Error: syntax error")
    with pytest.raises(ApplyError) as info:
        apply(host, EXAMPLE, KEEP)
    assert str(info.value) == (
        "nft -c (checking the rendered table) failed (rc 1): /dev/stdin:9:1: Error: syntax error"
    )
    assert host.files == {}


def test_a_table_that_does_not_load_as_written_fails():
    host = FakeHost()
    host.listing = fixture("dormant.bookworm.json")
    original = host._load

    def load_stays_dormant():
        original()
        host.listing = fixture("dormant.bookworm.json")

    host._load = load_stays_dormant
    with pytest.raises(ApplyError, match="is not the one the file describes"):
        apply(host, EXAMPLE, KEEP)


@pytest.mark.parametrize(
    "host, message",
    [
        (FakeHost(nft=None), nftables.NOT_INSTALLED),
        (FakeHost(systemd=False), nftables.NO_SYSTEMD),
    ],
)
@pytest.mark.parametrize("state", ["present", "absent"])
def test_refusals_change_nothing(host, message, state):
    if state == "absent":
        host.files[nftables.RULES_PATH] = FileState("x", 0o644, 0, 0)
    with pytest.raises(ApplyError) as info:
        apply(host, EXAMPLE if state == "present" else [], KEEP, state)
    assert str(info.value) == message
    assert message.startswith(("nftables (the nft command) is not installed", "systemd is not"))
    assert host.calls == []


def test_absent_removes_everything():
    host = installed_host()
    result, _warnings = apply(host, [], [], "absent")
    assert result["changed"] is True
    assert result["files_changed"] == sorted(ALL_FILES + [nftables.WANTS_LINK])
    assert (result["loaded"], result["unit_enabled"], result["rules"]) == (False, False, 0)
    assert result["diff"] == {
        "before": fixture("example.nft"),
        "after": "",
        "before_header": nftables.RULES_PATH,
        "after_header": nftables.RULES_PATH,
    }
    removed_units = [("remove", p) for p in nftables.MANAGED_PATHS[1:]]
    assert host.commands() == [
        ("systemctl", "stop", "--", nftables.UNIT),
        ("systemctl", "disable", "--no-reload", "--", nftables.UNIT),
        *removed_units,
        ("remove", nftables.WANTS_LINK),
        ("systemctl", "daemon-reload"),
        ("nft", "delete", "table", "inet", "portguard"),
        ("remove", nftables.RULES_PATH),
    ]
    assert host.files == {} and host.kernel is None
    dropin_dirs = [
        nftables.dropin_path(unit).rsplit("/", 1)[0] for unit, _r in nftables.HOOKED_UNITS
    ]
    assert host.dirs_removed == dropin_dirs + ["/etc/portguard"]
    again, _warnings = apply(host, [], [], "absent")
    assert (again["changed"], again["files_changed"]) == (False, [])


def test_absent_in_check_mode_reports_what_is_there():
    host = installed_host()
    result, _warnings = apply(host, [], [], "absent", check_mode=True)
    assert (result["changed"], result["loaded"], result["unit_enabled"]) == (True, True, True)
    assert host.commands() == []
    assert host.kernel == fixture("example.nft")


def test_absent_where_nothing_was_ever_installed_needs_no_nft():
    host = FakeHost(nft=None, systemd=False)
    result, _warnings = apply(host, [], [], "absent")
    assert result["changed"] is False
    assert host.calls == []


def test_absent_removes_a_table_left_without_files():
    host = FakeHost()
    host.kernel = fixture("example.nft")
    result, _warnings = apply(host, [], [], "absent")
    assert (result["changed"], result["files_changed"]) == (True, [])
    assert host.commands() == [("nft", "delete", "table", "inet", "portguard")]


def test_absent_on_a_clean_host_changes_nothing():
    host = FakeHost()
    host.unit = unit_state(LoadState="loaded", UnitFileState="static")
    result, _warnings = apply(host, [], [], "absent", check_mode=True)
    assert result["changed"] is False


def test_the_docs_show_the_table_the_code_renders():
    with open(os.path.join(nftables_docs(), "firewalls.md")) as f:
        docs = f.read()
    assert "```\n" + fixture("example.nft") + "```\n" in docs
    for unit, _reload in nftables.HOOKED_UNITS:
        assert unit in docs
    dropin = render_dropin("nftables.service", NFT, True)
    assert "\n".join(dropin.splitlines()[3:]) in docs


def nftables_docs():
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.join(here, "..", "..", "..", "..", "..", "docs")
