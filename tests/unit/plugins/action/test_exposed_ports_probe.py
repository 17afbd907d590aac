# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The exposed_ports_probe action: the host's address (given, or its ansible_host resolved on
the controller), the probe's result unchanged, check mode alike, errors naming the field. Only
loopback is ever probed; names resolve through a stand-in resolver, never a real one."""

import socket

import pytest
import support
from ansible.errors import AnsibleActionFail
from ansible_collections.portguard.hardening.plugins.action import (
    exposed_ports_probe as probe_action,
)
from ansible_collections.portguard.hardening.plugins.modules import exposed_ports_probe

NAMES = {
    "web.lab": ["127.0.0.1", "::1"],
    "one.lab": ["127.0.0.1"],
    "none.lab": [],
}


@pytest.fixture(autouse=True)
def resolver(monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", support.stand_in_resolver(NAMES))


@pytest.fixture
def listener():
    yield from support.loopback_listener()


def run(args, check_mode=False, **task_vars):
    task_vars.setdefault("inventory_hostname", "web1")
    return support.run_action(
        "exposed_ports_probe", args, check_mode=check_mode, task_vars=task_vars
    )


@pytest.mark.parametrize("check_mode", [False, True])
@pytest.mark.kernel
def test_probes_the_given_address(listener, check_mode):
    result = run(
        {"address": "127.0.0.1", "tcp_ports": [listener], "udp_ports": []}, check_mode=check_mode
    )
    assert result["changed"] is False
    probe = result["probe"]
    assert probe["address"] == "127.0.0.1"
    assert probe["tcp"] == {str(listener): "open"}
    assert probe["settings"] == {
        "concurrency": 256,
        "rate": 2000.0,
        "timeout": 1.0,
        "budget": 120.0,
        "tries": 2,
    }
    assert probe["notes"] == []


@pytest.mark.parametrize(
    "task_vars,address,notes",
    [
        ({"ansible_host": "127.0.0.1"}, "127.0.0.1", []),
        ({"ansible_host": "one.lab"}, "127.0.0.1", []),
        (
            {"ansible_host": "web.lab"},
            "127.0.0.1",
            ["'web.lab' resolves to 2 addresses (127.0.0.1, ::1); probed the first only"],
        ),
        ({"inventory_hostname": "one.lab"}, "127.0.0.1", []),  # no ansible_host: the name
    ],
)
@pytest.mark.kernel
def test_the_default_address_is_the_hosts(listener, task_vars, address, notes):
    result = run({"tcp_ports": [listener], "udp_ports": []}, **task_vars)
    assert result["probe"]["address"] == address
    assert result["probe"]["notes"] == notes
    assert result["probe"]["tcp"] == {str(listener): "open"}


@pytest.mark.kernel
def test_ranges_and_strings_are_ports(listener):
    result = run(
        {
            "address": "127.0.0.1",
            "tcp_ports": ["%d-%d" % (listener, listener), str(listener)],
            "udp_ports": [],
            "timeout": 0.2,
        }
    )
    assert list(result["probe"]["tcp"]) == [str(listener)]


@pytest.mark.parametrize(
    "args,task_vars,message",
    [
        (
            {"address": "nowhere.lab"},
            {},
            "'web1': 1 problem: address: cannot resolve 'nowhere.lab'",
        ),
        ({"address": "none.lab"}, {}, "'web1': 1 problem: address: 'none.lab' resolves to no"),
        (
            {},
            {"ansible_host": "nowhere.lab"},
            "'web1': 1 problem: address (ansible_host): cannot resolve 'nowhere.lab'",
        ),
        ({"address": "0.0.0.0"}, {}, "'web1': 1 problem: address: '0.0.0.0' is not the address"),
        (
            {"address": "127.0.0.1", "tcp_ports": ["x", 70000], "udp_ports": ["1-2-3"]},
            {},
            "'web1': 3 problems: tcp_ports[0]: expected a port or FIRST-LAST, got 'x'; "
            "tcp_ports[1]: 70000 is not within 1-65535",
        ),
        (
            {"address": "127.0.0.1", "concurrency": 0, "tries": 99},
            {},
            "'web1': 2 problems: concurrency: expected an integer from 1 to 65535",
        ),
        ({"address": "127.0.0.1", "rate": -1.0}, {}, "'web1': 1 problem: rate: expected"),
        ({"address": "127.0.0.1", "timeout": 0}, {}, "'web1': 1 problem: timeout: expected"),
        ({"address": "127.0.0.1", "budget": 0}, {}, "'web1': 1 problem: budget: expected"),
        # Ports and settings together, before the name is looked up.
        (
            {"address": "nowhere.lab", "tcp_ports": [0], "tries": 0},
            {},
            "'web1': 2 problems: tcp_ports[0]: 0 is not within 1-65535, first to last; tries:",
        ),
    ],
)
@pytest.mark.kernel
def test_errors_name_the_field(args, task_vars, message):
    with pytest.raises(AnsibleActionFail) as caught:
        run(args, **task_vars)
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize(
    "args,word",
    [({"concurrency": "many"}, "concurrency"), ({"rate": "fast"}, "rate"), ({"bogus": 1}, "bogus")],
)
def test_ansible_checks_the_option_types(args, word):
    with pytest.raises(AnsibleActionFail) as caught:
        run(dict(args, address="127.0.0.1"))
    assert word in str(caught.value)


def test_resolve_keeps_literals_and_the_resolvers_order():
    assert probe_action.resolve("::1", "address") == ("::1", [])
    assert probe_action.resolve("web.lab", "address")[0] == "127.0.0.1"


def test_documentation_matches_the_argument_spec():
    support.assert_documented(
        exposed_ports_probe.DOCUMENTATION,
        exposed_ports_probe.EXAMPLES,
        probe_action.ARGUMENT_SPEC,
        "portguard.hardening.exposed_ports_probe",
    )


def plan_entry(port, status="open", action="block", address="0.0.0.0"):
    return {"rule": "r", "protocol": "tcp", "family": "ipv4", "address": address, "port": port,
            "action": action, "status": status, "note": None, "exposure": "everyone",
            "sources": []}  # fmt: skip


@pytest.mark.kernel
def test_the_plans_verdicts_are_checked_where_the_address_is_given(listener):
    """A remediated finding whose port still answers fails; a closed one stays remediated."""
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    free = closed.getsockname()[1]
    closed.close()
    findings = [plan_entry(listener, "remediated"), plan_entry(free, "remediated")]
    allowed = [plan_entry(listener, None, "allow")]
    result = run({"address": "127.0.0.1", "findings": findings, "allowed": allowed})
    assert [(f["port"], f["reachable"], f["status"]) for f in result["findings"]] == [
        (listener, "yes", "failed"),
        (free, "refused", "remediated"),
    ]
    assert [a["reachable"] for a in result["allowed"]] == ["yes"]
    assert result["outside"]["address"] == "127.0.0.1"
    assert result["outside"]["addresses"] == ["127.0.0.1"]
    assert result["changed"] is False


@pytest.mark.parametrize(
    "task_vars, why",
    [
        ({"ansible_host": "127.0.0.1"}, "127.0.0.1 is a loopback address: the probe would see "
         "the controller's own ports"),
        ({"ansible_host": "nowhere.lab"}, "address (ansible_host): cannot resolve 'nowhere.lab'"),
        ({"ansible_host": "one.lab", "ansible_connection": "local"},
         "the host is the controller itself: a probe would not come from outside"),
    ],
)  # fmt: skip
@pytest.mark.kernel
def test_a_host_the_controller_cannot_probe_from_outside_is_not_probed(task_vars, why):
    findings = [plan_entry(22, "remediated")]
    result = run({"findings": findings}, **task_vars)
    assert result["probe"] is None
    assert [(f["reachable"], f["status"]) for f in result["findings"]] == [
        ("not probed", "remediated")
    ]
    assert result["outside"]["notes"][0].startswith("not probed from outside: " + why)


def test_bad_plan_probe_options_name_the_field():
    with pytest.raises(AnsibleActionFail) as raised:
        run({"address": "127.0.0.1", "findings": [], "ports": "some", "addresses": ["x"]})
    assert "exposed_ports_probe_ports: 'some' is not listeners, all or a list of ports" in str(
        raised.value
    )


@pytest.mark.kernel
def test_the_hosts_own_addresses_are_probed_only_inside_the_operators_networks(listener):
    findings = [plan_entry(listener, "remediated")]
    result = run(
        {
            "address": "127.0.0.1",
            "findings": findings,
            "addresses": ["127.0.0.2", "127.1.0.9"],
            "networks": ["127.0.0.0/24"],
        }
    )
    assert result["outside"]["addresses"] == ["127.0.0.1", "127.0.0.2"]
    assert [p["address"] for p in result["probes"]] == ["127.0.0.2"]
    assert (
        "not probed: 127.1.0.9, outside exposed_ports_probe_networks"
        in result["outside"]["notes"][0]
    )


def test_bad_networks_and_addresses_name_the_field():
    with pytest.raises(AnsibleActionFail) as raised:
        run(
            {
                "address": "127.0.0.1",
                "findings": [],
                "addresses": ["x"],
                "networks": ["10.0.0.0/33"],
            }
        )
    assert "networks[0]: '10.0.0.0/33' is not a network" in str(raised.value)
    assert "addresses[0]: 'x' is not an IP address" in str(raised.value)


def scanner_probe(host, port, state, address="192.0.2.10", source="198.51.100.5"):
    return {"host": host, "address": address, "source": source, "tcp": {str(port): state},
            "udp": {}, "notes": [], "errors": [], "elapsed": 0.2}  # fmt: skip


def scanned(*items):
    return {"changed": False, "results": list(items)}


@pytest.mark.kernel
def test_a_scanners_view_fails_a_closure_the_controller_sees_hold(listener):
    """The controller finds the port refused; the scanner reaches it: the finding fails, and the
    view that failed it is the one reported."""
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    free = closed.getsockname()[1]
    closed.close()
    findings = [plan_entry(free, "remediated")]
    views = scanned(
        {"item": "scan1", "probes": [scanner_probe("web1", free, "open"),
                                     scanner_probe("web2", free, "refused")],
         "unprobed": []},
    )  # fmt: skip
    result = run({"address": "127.0.0.1", "findings": findings, "scanned": views})
    [finding] = result["findings"]
    assert (finding["status"], finding["reachable"]) == ("failed", "yes")
    assert finding["probe"] == {"from": "scanner 'scan1'", "address": "192.0.2.10", "state": "open"}
    assert result["outside"]["from"] == "the controller, scanner 'scan1'"
    assert result["outside"]["addresses"] == ["127.0.0.1", "192.0.2.10"]
    assert result["outside"]["disagreements"] == [
        "192.0.2.10: %d/tcp: the model says closed, but a probe from scanner 'scan1' reached "
        "192.0.2.10" % free
    ]
    assert result["probe"]["tcp"] == {str(free): "refused"}


def test_the_scanners_views_alone_when_the_controller_is_left_out():
    findings = [plan_entry(22, "open")]
    views = scanned(
        {"item": "scan1", "probes": [scanner_probe("web1", 22, "filtered")], "unprobed": []},
        {"item": "scan2", "unreachable": True, "msg": "ssh: connect to host scan2 port 22"},
        {"item": "scan3", "failed": False, "failed_when_result": False, "msg": "no python3"},
        {"item": "scan4", "probes": [], "unprobed": [
            {"host": "web1", "address": "192.0.2.10", "why": "192.0.2.10 is an address of "
             "this scanner itself"}]},
        {"item": "scan5", "probes": [dict(scanner_probe("web1", 22, "open"), address="x")]},
    )  # fmt: skip
    result = run({"findings": findings, "scanned": views, "here": False}, ansible_host="one.lab")
    assert result["probe"] is None
    assert [(f["reachable"], f["probe"]["from"]) for f in result["findings"]] == [
        ("filtered", "scanner 'scan1'")
    ]
    assert result["outside"]["from"] == "scanner 'scan1'"
    assert result["outside"]["notes"][:4] == [
        "not probed from scanner 'scan2': 'ssh: connect to host scan2 port 22'",
        "not probed from scanner 'scan3': 'no python3'",
        "not probed from scanner 'scan4': '192.0.2.10 is an address of this scanner itself'",
        "scanner 'scan5' sent an answer that is not a probe's; left out",
    ]


@pytest.mark.parametrize(
    "args, task_vars, notes",
    [
        ({"here": False}, {}, ["no scanner host is named in exposed_ports_probe_from"]),
        (
            {"scanned": scanned({"item": "scan1", "probes": [], "unprobed": []})},
            {"ansible_host": "127.0.0.1"},
            [
                "not probed from the controller: 127.0.0.1 is a loopback address: the probe "
                "would see the controller's own ports",
                "not probed from scanner 'scan1': the host was not among its targets",
            ],
        ),
    ],
)
@pytest.mark.kernel
def test_no_view_at_all_says_why_for_each_prober(args, task_vars, notes):
    result = run(dict(args, findings=[plan_entry(22, "remediated")]), **task_vars)
    assert [(f["reachable"], f["status"]) for f in result["findings"]] == [
        ("not probed", "remediated")
    ]
    assert result["outside"]["notes"] == notes


GOOD = scanner_probe("web1", 22, "open")


@pytest.mark.parametrize(
    "change",
    [
        {"tcp": {"22": ["open"]}},
        {"tcp": {"ssh": "open"}},
        {"tcp": {"0": "open"}},
        {"tcp": {"22": "answered"}},
        {"tcp": ["22"]},
        {"udp": {"111": "open"}},
        {"udp": {"111": {"state": "open", "service": "anything"}}},
        {"address": "192.0.2.10%x"},
        {"address": "0.0.0.0"},
        {"source": "the scanner"},
        {"notes": 5},
        {"errors": [1]},
        {"elapsed": "1"},
        {"elapsed": True},
    ],
    ids=lambda change: repr(change)[:40],
)
def test_a_malformed_scanner_answer_is_left_out_with_a_note(change):
    """Whatever part of a scanner's answer is not the probe's own shape, that answer is left
    out, the other scanner's view stands, and nothing fails."""
    views = scanned(
        {"item": "bad", "probes": [dict(GOOD, **change)], "unprobed": []},
        {"item": "good", "probes": [scanner_probe("web1", 22, "refused", address="192.0.2.11")]},
    )
    result = run({"findings": [plan_entry(22, "remediated")], "scanned": views, "here": False})
    assert (
        result["outside"]["notes"][0]
        == "scanner 'bad' sent an answer that is not a probe's; left out"
    )
    [finding] = result["findings"]
    assert (finding["status"], finding["reachable"], finding["probe"]["from"]) == (
        "remediated",
        "refused",
        "scanner 'good'",
    )


@pytest.mark.parametrize("unprobed", [5, "x", [5]])
def test_a_malformed_list_of_unprobed_targets_is_no_answer(unprobed):
    views = scanned({"item": "scan1", "probes": [], "unprobed": unprobed})
    result = run({"findings": [plan_entry(22, "open")], "scanned": views, "here": False})
    assert result["outside"]["notes"] == [
        "not probed from scanner 'scan1': the host was not among its targets"
    ]
    assert result["outside"]["from"] is None


def test_one_answer_per_scanner_and_host_and_only_the_hosts_scanners():
    """A second answer for the same host is ignored, a scanner the host does not name is not
    its view, and one it names that did not run is named."""
    views = scanned(
        {"item": "scan1", "probes": [GOOD, scanner_probe("web1", 22, "refused")]},
        {"item": "scan1", "probes": [scanner_probe("web1", 22, "refused")]},
        {"item": "other", "probes": [scanner_probe("web1", 22, "refused")]},
    )
    result = run(
        {
            "findings": [plan_entry(22, "open")],
            "scanned": views,
            "here": False,
            "scanners": ["scan1", "scan9"],
        }
    )
    [finding] = result["findings"]
    assert (finding["reachable"], finding["probe"]["from"]) == ("yes", "scanner 'scan1'")
    assert result["outside"]["from"] == "scanner 'scan1'"
    assert result["outside"]["notes"] == [
        "scanner 'scan1' sent 2 answers for this host; the first is taken",
        "not probed from scanner 'scan9': it did not run for this batch",
    ]


HOSTILE = {"ansible_facts": {"exposed_ports_probe_address": "198.51.100.99"}}


def test_a_host_whose_facts_set_role_variables_is_not_probed_in_the_role():
    views = scanned({"item": "scan1", "probes": [GOOD]})
    result = run({"findings": [plan_entry(22, "remediated")], "scanned": views}, **HOSTILE)
    assert [(f["status"], f["reachable"]) for f in result["findings"]] == [
        ("remediated", "not probed")
    ]
    assert result["outside"]["from"] is None
    assert result["outside"]["notes"][0].startswith(
        "not probed from outside: the host's facts set 'exposed_ports_probe_address': the role's "
        "variables are the operator's"
    )


def test_a_host_whose_facts_set_role_variables_is_not_probed_on_its_own():
    with pytest.raises(AnsibleActionFail) as raised:
        run({"address": "192.0.2.10", "tcp_ports": [22]}, **HOSTILE)
    message = str(raised.value)
    assert message.startswith("'web1': the host's facts set 'exposed_ports_probe_address'")
    assert message.endswith("; nothing was sent")
