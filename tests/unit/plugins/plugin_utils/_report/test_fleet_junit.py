# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""junit.xml: the test cases, their outcomes and texts, and that it always parses."""

import pytest
from ansible_collections.portguard.hardening.plugins.plugin_utils._report.encode import (
    terminal_lines,
    terminal_safe,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._report.fleet import (
    fleet_data,
    render_junit,
)
from fleet_views import (
    HOSTILE_NAMES,
    HOSTILE_NOTE,
    HOSTILE_REASON,
    HOSTILE_UNIT,
    RAW_CONTROLS,
    RPC_REASON,
    RUN,
    SSH_ERROR,
    hostile_fleet,
    junit_cases,
    parse_xml,
    report,
    sample_doc,
    sample_hosts,
)


@pytest.fixture
def doc():
    return sample_doc()


def test_junit(doc):
    text = render_junit(doc)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuite ')
    suite, cases = junit_cases(text)
    assert suite.tag == "testsuite"
    assert dict(suite.attrib) == {
        "name": "portguard.exposed_ports",
        "tests": "5",
        "failures": "1",
        "errors": "1",
        "skipped": "0",
        "timestamp": "2025-01-31T10:00:00Z",
    }
    assert [(p.get("name"), p.get("value")) for p in suite.find("properties")] == [
        ("playbook", "audit"),
        ("check_mode", "true"),
        ("started", "2025-01-31T10:00:00Z"),
        ("default_action", "report"),
    ]
    assert cases == [
        ("db1", "db1 reachable", [("error", "unreachable", "unreachable: " + SSH_ERROR)]),
        ("web1", "builtin-rpcbind 111/tcp", [("system-out", None, None)]),
        ("web1", "builtin-admin 8080/tcp", [("system-out", None, None)]),
        (
            "web2",
            "builtin-rpcbind 111/tcp",
            [("failure", "open", "111/tcp open on 0.0.0.0, :: (rpcbind.service): disable")],
        ),
        ("web2", "ssh-alt 2222/tcp", [("system-out", None, None)]),
    ]


def test_junit_texts_list_every_socket(doc):
    suite = parse_xml(render_junit(doc))
    texts = [case[0].text for case in suite.findall("testcase")]
    assert texts[3] == (
        "open       disable  tcp 0.0.0.0:111 (rpcbind.service) rule builtin-rpcbind: "
        + RPC_REASON
        + "\nopen       disable  tcp [::]:111 (rpcbind.service) rule builtin-rpcbind: "
        + RPC_REASON
    )
    # The kept one passes with its note, hostile text and all, read back unchanged.
    assert texts[4] == (
        "kept       report   tcp 0.0.0.0:2222 (%s) rule ssh-alt: %s [%s]"
        % (HOSTILE_UNIT, HOSTILE_REASON, HOSTILE_NOTE)
    )


def test_junit_failed_findings_failed_hosts_and_clean_hosts():
    hosts = sample_hosts()
    hosts["web1"]["state"] = "failed"
    hosts["web1"]["error"] = "not remediated: 111/tcp disable"
    hosts["web1"]["report"]["findings"][1].update(status="failed", note="still listening")
    hosts["web3"] = {"state": "ok", "report": report("web3", [])}
    hosts["db1"]["error"] = "bell \x07 and nul \x00"
    suite, cases = junit_cases(render_junit(fleet_data(hosts, RUN)))
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("7", "2", "2")
    # XML 1.0 cannot carry these at all: written out, as on the terminal.
    assert cases[0][2] == [("error", "unreachable", "unreachable: bell \\x07 and nul \\x00")]
    assert cases[1:4] == [
        (
            "web1",
            "web1 completed",
            [("error", "failed", "failed: not remediated: 111/tcp disable")],
        ),
        (
            "web1",
            "builtin-rpcbind 111/tcp",
            [
                (
                    "failure",
                    "failed",
                    "111/tcp failed on :: (rpcbind.service): disable; still listening",
                )
            ],
        ),
        ("web1", "builtin-admin 8080/tcp", [("system-out", None, None)]),
    ]
    assert cases[-1] == ("web3", "web3 no exposed violations", [])


# ---------------------------------------------------------------------------


# Everything XML 1.0 cannot carry, and what a terminal acts on.
UNCARRIABLE = "".join(chr(c) for c in range(0x20)) + "\x7f\x85\x9b\ud800\udfff\ufffe\uffff"


@pytest.mark.parametrize("name", HOSTILE_NAMES + [pytest.param(UNCARRIABLE, id="not-xml")])
def test_junit_parses_and_shows_host_names_as_text(name):
    text = render_junit(fleet_data(hostile_fleet(name), RUN))
    # It parses (a lone surrogate would not even encode), with no raw control but line breaks.
    suite = parse_xml(text)
    assert set(text) & RAW_CONTROLS <= {"\n"}
    shown = terminal_safe(name)
    cases = {}
    for case in suite.findall("testcase"):
        outcomes = [(o.tag, o.get("message"), o.text) for o in case]
        cases.setdefault(case.get("classname"), []).append((case.get("name"), outcomes))
    assert sorted(cases) == sorted([shown, "down"])
    error = ("error", "unreachable: " + shown, terminal_lines(name))
    assert cases["down"] == [("down reachable", [error])]
    (by_unit, by_process) = cases[shown]
    assert by_unit[0] == shown + " 111/tcp"
    ((tag, message, body),) = by_unit[1]
    assert tag == "failure"
    assert message == "111/tcp open on 0.0.0.0 (%s): disable; %s" % (shown, shown)
    assert body.startswith("open       disable  tcp 0.0.0.0:111 (%s) rule %s: " % (shown, shown))
    assert by_process[0] == "web 8080/tcp"
    assert by_process[1][0][1] == "8080/tcp open on 0.0.0.0 (%s): disable" % shown
