# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""junit.xml: the test cases, their outcomes and texts, and that it always parses."""

import pytest
from ansible_collections.portguard.hardening.plugins.module_utils._fleet import (
    fleet_data,
    render_junit,
)
from fleet_views import (
    HOSTILE_NOTE,
    HOSTILE_REASON,
    HOSTILE_UNIT,
    RPC_REASON,
    RUN,
    SSH_ERROR,
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
    assert cases[0][2] == [("error", "unreachable", "unreachable: bell \ufffd and nul \ufffd")]
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
