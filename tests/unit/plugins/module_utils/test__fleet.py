# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet reports: the document, its four views, their escaping, and that they agree."""

import copy
import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest
import support
from ansible_collections.portguard.hardening.plugins.module_utils._fleet import (
    FleetError,
    fleet_data,
    fleet_errors,
    host_document,
    render_html,
    render_json,
    render_junit,
    render_markdown,
    verdict,
)
from ansible_collections.portguard.hardening.plugins.module_utils._report import STATUSES
from markdown_it import MarkdownIt

RPC_REASON = "rpcbind tells anyone which RPC services run."
ADMIN_REASON = "Admin consoles are not for the internet."
HOSTILE_UNIT = '<script>alert("unit")</script>|ü.service'
HOSTILE_REASON = "Management <script>alert(1)</script> | never close it — ü"
HOSTILE_NOTE = "serves the connection Ansible is using; 'single' \"double\" | pipe <b>ö</b>"
SSH_ERROR = "ssh: connect to host db1 port 22: Connection timed out"
RUN = {
    "playbook": "audit",
    "check_mode": True,
    "started": "2025-01-31T10:00:00Z",
    "policy": {"default_action": "report", "rules": ["ssh-alt", "web"]},
}


def finding(**changes):
    """A finding as the role reports it: rpcbind on 0.0.0.0:111/tcp, open, to be disabled."""
    base = dict(
        rule="builtin-rpcbind",
        reason=RPC_REASON,
        port=111,
        policy_action="disable",
        action="disable",
        processes=["systemd", "rpcbind"],
        pids=[1, 48],
        unit="rpcbind.service",
        activated_by=["rpcbind.socket"],
    )
    base.update(changes)
    return support.finding(**base)


def allowed(port, family="ipv4", address="0.0.0.0"):
    return {
        "rule": "web",
        "protocol": "tcp",
        "family": family,
        "address": address,
        "port": port,
        "unit": "nginx.service",
        "management": False,
        "exposure": "everyone",
    }


def report(host, findings, allowed_=(), check_mode=True, firewall="running", nfs=False):
    return {
        "host": host,
        "check_mode": check_mode,
        "firewall": firewall,
        "nfs_in_use": nfs,
        "findings": list(findings),
        "allowed": list(allowed_),
        # Deliberately wrong: fleet_data counts the findings itself.
        "summary": {"open": 99},
    }


V6 = {"family": "ipv6", "address": "::"}
ADMIN = {
    "rule": "builtin-admin",
    "reason": ADMIN_REASON,
    "port": 8080,
    "unit": "lab-admin.service",
    "processes": ["python3"],
    "pids": [90],
    "activated_by": [],
    "policy_action": "block",
    "action": "block",
}
KEPT_SSH = {
    "rule": "ssh-alt",
    "reason": HOSTILE_REASON,
    "port": 2222,
    "unit": HOSTILE_UNIT,
    "processes": ["sshd"],
    "pids": [60],
    "activated_by": [],
    "policy_action": "block",
    "action": "report",
    "status": "kept",
    "note": HOSTILE_NOTE,
}


def sample_hosts():
    """web1 hardened, web2 audited (IPv4 and IPv6 sockets on 111/tcp), db1 unreachable."""
    return {
        "web2": {
            "state": "ok",
            "error": None,
            "report": report(
                "web2",
                [finding(), finding(**V6), finding(**KEPT_SSH)],
                firewall="stopped",
            ),
        },
        "web1": {
            "state": "ok",
            "error": None,
            "report": report(
                "web1",
                [
                    finding(status="remediated"),
                    finding(status="remediated", **V6),
                    finding(status="remediated", **ADMIN),
                ],
                [allowed(80), allowed(80, **V6), allowed(443)],
                check_mode=False,
            ),
        },
        "db1": {"state": "unreachable", "report": None, "error": SSH_ERROR},
    }


@pytest.fixture
def doc():
    return fleet_data(sample_hosts(), copy.deepcopy(RUN))


# ---------------------------------------------------------------------------
# The document


def test_fleet_summary(doc):
    assert doc["version"] == 1
    assert doc["run"] == RUN
    assert doc["summary"] == {
        "hosts": 3,
        "ok": 2,
        "unreachable": 1,
        "failed": 0,
        "open": 2,
        "remediated": 3,
        "kept": 1,
        "failed_findings": 0,
        "by_action": {"block": 1, "disable": 4, "report": 1},
    }


def test_hosts_are_sorted_and_unreachable_ones_kept(doc):
    assert list(doc["hosts"]) == ["db1", "web1", "web2"]
    assert doc["hosts"]["db1"] == {
        "state": "unreachable",
        "error": SSH_ERROR,
        "findings": [],
        "allowed": [],
        "summary": {
            "open": 0,
            "remediated": 0,
            "kept": 0,
            "failed": 0,
            "total": 0,
            "by_action": {},
        },
        "firewall": None,
        "nfs_in_use": None,
        "baseline_missing": [],
    }


def test_host_entry_keeps_findings_in_order_and_recounts(doc):
    web2 = doc["hosts"]["web2"]
    assert web2["findings"] == [finding(), finding(**V6), finding(**KEPT_SSH)]
    assert web2["allowed"] == []
    assert web2["summary"] == {
        "open": 2,
        "remediated": 0,
        "kept": 1,
        "failed": 0,
        "total": 3,
        "by_action": {"disable": 2, "report": 1},
    }
    assert (web2["state"], web2["error"], web2["firewall"], web2["nfs_in_use"]) == (
        "ok",
        None,
        "stopped",
        False,
    )


def test_document_is_a_copy():
    hosts = sample_hosts()
    doc = fleet_data(hosts, RUN)
    doc["hosts"]["web2"]["findings"][0]["unit"] = "changed"
    assert hosts == sample_hosts()


def _templated(value):
    """value as templating hands it to an action: tagged (2.19 on) or marked unsafe (before)."""
    try:
        from ansible._internal._datatag._tags import Origin
    except ImportError:
        from ansible.utils.unsafe_proxy import wrap_var

        return wrap_var(value)
    return Origin(path="/play.yml", line_num=3).tag(value)


def test_tagged_ansible_values_become_plain():
    # What the action gets from templating: str, dict and list subclasses.
    hosts = sample_hosts()
    hosts["web2"]["report"]["findings"][0]["unit"] = _templated("rpcbind.service")
    doc = fleet_data(_templated(hosts), _templated(copy.deepcopy(RUN)))
    unit = doc["hosts"]["web2"]["findings"][0]["unit"]
    assert unit.__class__ is str and unit == "rpcbind.service"
    assert doc["hosts"].__class__ is dict and doc["run"].__class__ is dict


def test_a_failed_host_keeps_its_report():
    hosts = sample_hosts()
    hosts["web1"]["state"] = "failed"
    hosts["web1"]["error"] = "not remediated: 111/tcp disable"
    doc = fleet_data(hosts, RUN)
    assert doc["hosts"]["web1"]["summary"]["remediated"] == 3
    assert (doc["summary"]["ok"], doc["summary"]["failed"], doc["summary"]["remediated"]) == (
        1,
        1,
        3,
    )


def test_host_document(doc):
    document = host_document("db1", doc["hosts"]["db1"], doc["run"])
    assert document == dict(doc["hosts"]["db1"], host="db1", run=RUN)
    assert sorted(document) == [
        "allowed",
        "baseline_missing",
        "error",
        "findings",
        "firewall",
        "host",
        "nfs_in_use",
        "run",
        "state",
        "summary",
    ]


def test_render_json_is_stable(doc):
    text = render_json({"b": "ü", "a": [2, 1]})
    assert text == '{\n  "a": [\n    2,\n    1\n  ],\n  "b": "ü"\n}\n'
    assert json.loads(render_json(doc)) == doc


# ---------------------------------------------------------------------------
# Validation


def with_change(path, value):
    """sample_hosts() with the value at path (a tuple of keys and indexes) replaced or removed."""
    hosts = sample_hosts()
    target = hosts
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return hosts


@pytest.mark.parametrize(
    ("hosts", "expected"),
    [
        (
            with_change(("web1", "state"), "weird"),
            ["hosts.web1.state: 'weird' is not one of ok, unreachable, failed"],
        ),
        (with_change(("web1", "state"), KeyError), ["hosts.web1: missing state"]),
        (
            with_change(("web1", "reason"), "x"),
            ["hosts.web1: unknown key 'reason' (known: error, report, state)"],
        ),
        (
            with_change(("web1", "report"), None),
            ["hosts.web1.report: an ok host needs its exposed_ports_report"],
        ),
        (
            with_change(("web1", "error"), "boom"),
            ["hosts.web1.error: an ok host has no error, got 'boom'"],
        ),
        (
            with_change(("db1", "error"), 3),
            ["hosts.db1.error: expected a message or null, got 3"],
        ),
        (
            with_change(("web1", "report"), [1]),
            ["hosts.web1.report: expected an exposed_ports_report mapping or null, got a list"],
        ),
        (
            with_change(("web1", "report", "findings"), KeyError),
            ["hosts.web1.report: missing findings (is it an exposed_ports_report?)"],
        ),
        (
            with_change(("web1", "report", "host"), "web2"),
            ["hosts.web1.report.host: 'web2' is another host's report"],
        ),
        (
            with_change(("web1", "report", "findings", 1, "status"), "closed"),
            [
                "hosts.web1.report.findings[1].status: expected one of open, remediated, kept, "
                "failed, got 'closed'"
            ],
        ),
        (
            with_change(("web1", "report", "findings", 0, "port"), True),
            ["hosts.web1.report.findings[0].port: expected a port (1-65535), got True"],
        ),
        (
            with_change(("web1", "report", "findings", 0, "processes"), "sshd"),
            ["hosts.web1.report.findings[0].processes: expected a list of strings, got 'sshd'"],
        ),
        (
            with_change(("web1", "report", "findings", 2), "x"),
            ["hosts.web1.report.findings[2]: expected a mapping, got 'x'"],
        ),
        (
            with_change(("web1", "report", "findings", 0), {"rule": "r", "status": "open"}),
            ["hosts.web1.report.findings[0]: missing protocol, address, port, action"],
        ),
        (
            with_change(("web1", "report", "allowed", 0, "port"), "80"),
            ["hosts.web1.report.allowed[0].port: expected a port (1-65535), got '80'"],
        ),
        (
            with_change(("web1", "report", "firewall"), "up"),
            ["hosts.web1.report.firewall: 'up' is not one of absent, running, stopped"],
        ),
        (
            with_change(("web1", "report", "nfs_in_use"), "no"),
            ["hosts.web1.report.nfs_in_use: expected true or false, got 'no'"],
        ),
        (
            with_change(("web2",), "ok"),
            ["hosts.web2: expected a mapping with state, report and error, got 'ok'"],
        ),
        (
            {"": {"state": "unreachable"}},
            ["hosts: a host name must be a non-empty string, got ''"],
        ),
        (
            ["web1"],
            [
                "hosts: expected a mapping of inventory host names to {state, report, error}, "
                "got a list"
            ],
        ),
        (
            dict(
                with_change(("web1", "state"), "weird"),
                db1={"state": "failed", "report": None, "error": None},
            ),
            ["hosts.web1.state: 'weird' is not one of ok, unreachable, failed"],
        ),
    ],
)
def test_bad_hosts(hosts, expected):
    assert fleet_errors(hosts, RUN) == expected
    with pytest.raises(FleetError) as info:
        fleet_data(hosts, RUN)
    assert info.value.errors == expected
    assert str(info.value) == "; ".join(expected)


@pytest.mark.parametrize(
    ("run", "expected"),
    [
        (
            dict(RUN, playbook="scan"),
            ["run.playbook: 'scan' is not one of audit, harden, baseline"],
        ),
        (dict(RUN, check_mode="yes"), ["run.check_mode: expected true or false, got 'yes'"]),
        (dict(RUN, started=""), ["run.started: expected an ISO 8601 time, got ''"]),
        (
            {"playbook": "audit", "inventory": "lab"},
            [
                "run: missing check_mode, policy, started",
                "run: unknown key 'inventory' (known: check_mode, playbook, policy, started)",
            ],
        ),
        (
            dict(RUN, policy=["web"]),
            ["run.policy: expected a mapping with default_action and rules, got a list"],
        ),
        (
            dict(RUN, policy={"rules": "web"}),
            [
                "run.policy: missing default_action",
                "run.policy.rules: expected a list of strings, got 'web'",
            ],
        ),
        (
            None,
            ["run: expected a mapping with playbook, check_mode, started and policy, got None"],
        ),
    ],
)
def test_bad_run(run, expected):
    assert fleet_errors(sample_hosts(), run) == expected


def test_every_problem_is_reported_at_once():
    hosts = with_change(("web1", "state"), "weird")
    assert fleet_errors(hosts, dict(RUN, playbook="scan")) == [
        "run.playbook: 'scan' is not one of audit, harden, baseline",
        "hosts.web1.state: 'weird' is not one of ok, unreachable, failed",
    ]


def test_an_empty_fleet_is_valid():
    doc = fleet_data({}, RUN)
    assert doc["hosts"] == {}
    assert doc["summary"]["hosts"] == 0
    assert verdict(doc) == (False, "No hosts were reported.")


# ---------------------------------------------------------------------------
# Verdict


def summary_doc(**counts):
    summary = {
        "hosts": 2,
        "ok": 2,
        "unreachable": 0,
        "failed": 0,
        "open": 0,
        "remediated": 0,
        "kept": 0,
        "failed_findings": 0,
    }
    summary.update(counts)
    hosts = {"a": {"summary": {"open": counts.get("open", 0)}}, "b": {"summary": {"open": 0}}}
    return {"summary": summary, "hosts": hosts}


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ({}, (True, "No open findings on 2 hosts.")),
        (
            {"remediated": 6, "kept": 1},
            (True, "No open findings on 2 hosts (6 remediated, 1 kept)."),
        ),
        ({"open": 1}, (False, "Action needed: 1 finding open on 1 host.")),
        (
            {"open": 3, "failed_findings": 2, "failed": 1, "unreachable": 2, "ok": 0},
            (
                False,
                "Action needed: 2 findings failed remediation; 3 findings open on 1 host; "
                "1 host failed; 2 hosts unreachable.",
            ),
        ),
    ],
)
def test_verdict(counts, expected):
    assert verdict(summary_doc(**counts)) == expected


# ---------------------------------------------------------------------------
# Markdown


EXPECTED_MARKDOWN = """\
# Exposed ports: audit, check mode, nothing changed

Started 2025-01-31T10:00:00Z. Policy: default action report; rules ssh-alt, web.

**Action needed: 2 findings open on 1 host; 1 host unreachable.**

| host | state | open | remediated | kept | failed |
| --- | --- | ---: | ---: | ---: | ---: |
| db1 | unreachable | 0 | 0 | 0 | 0 |
| web1 | ok | 0 | 3 | 0 | 0 |
| web2 | ok | 2 | 0 | 1 | 0 |
| **total** | 2 ok, 1 unreachable | 2 | 3 | 1 | 0 |

## db1

**unreachable**: ssh: connect to host db1 port 22: Connection timed out

## web1

firewall running; NFS not in use; allowed 80/tcp, 443/tcp.

| status | port | address | unit | action | rule | reason / note |
| --- | --- | --- | --- | --- | --- | --- |
| remediated | 111/tcp | 0.0.0.0 | rpcbind.service | disable | builtin-rpcbind | \
rpcbind tells anyone which RPC services run. |
| remediated | 111/tcp | :: | rpcbind.service | disable | builtin-rpcbind | \
rpcbind tells anyone which RPC services run. |
| remediated | 8080/tcp | 0.0.0.0 | lab-admin.service | block | builtin-admin | \
Admin consoles are not for the internet. |

## web2

firewall stopped; NFS not in use.

| status | port | address | unit | action | rule | reason / note |
| --- | --- | --- | --- | --- | --- | --- |
| open | 111/tcp | 0.0.0.0 | rpcbind.service | disable | builtin-rpcbind | \
rpcbind tells anyone which RPC services run. |
| open | 111/tcp | :: | rpcbind.service | disable | builtin-rpcbind | \
rpcbind tells anyone which RPC services run. |
| kept | 2222/tcp | 0.0.0.0 | \\<script>alert("unit")\\</script>\\|ü.service | \
report (policy: block) | ssh-alt | serves the connection Ansible is using; \
'single' "double" \\| pipe \\<b>ö\\</b> |

## Rules

| rule | action | reason |
| --- | --- | --- |
| builtin-rpcbind | disable | rpcbind tells anyone which RPC services run. |
| ssh-alt | block | Management \\<script>alert(1)\\</script> \\| never close it — ü |
| builtin-admin | block | Admin consoles are not for the internet. |
"""


def test_markdown(doc):
    assert render_markdown(doc) == EXPECTED_MARKDOWN


def markdown_tables(text):
    """Every table of a Markdown text as a list of rows of cell texts, as a renderer sees them."""
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    tables, row, in_table = [], None, False
    for token in tokens:
        if token.type == "table_open":
            tables.append([])
            in_table = True
        elif token.type == "table_close":
            in_table = False
        elif in_table and token.type == "tr_open":
            row = []
            tables[-1].append(row)
        elif in_table and token.type == "inline":
            row.append("".join(child.content for child in token.children))
    return tables


def test_markdown_cells_survive_hostile_text(doc):
    tokens = MarkdownIt("commonmark").enable("table").parse(render_markdown(doc))
    assert "html_block" not in set(t.type for t in tokens)
    inline = set(child.type for t in tokens if t.type == "inline" for child in t.children)
    assert inline == {"text", "strong_open", "strong_close"}
    tables = markdown_tables(render_markdown(doc))
    assert [len(table) for table in tables] == [5, 4, 4, 4]
    assert all(len(row) == len(table[0]) for table in tables for row in table)
    kept = tables[2][3]
    assert kept == [
        "kept",
        "2222/tcp",
        "0.0.0.0",
        HOSTILE_UNIT,
        "report (policy: block)",
        "ssh-alt",
        HOSTILE_NOTE,
    ]
    assert tables[3][2] == ["ssh-alt", "block", HOSTILE_REASON]


def test_markdown_joins_lines_and_shows_failed_hosts():
    hosts = sample_hosts()
    hosts["web1"]["state"] = "failed"
    hosts["web1"]["error"] = "not remediated:\n111/tcp disable"
    hosts["web1"]["report"]["findings"] = hosts["web1"]["report"]["findings"][:1]
    hosts["web1"]["report"]["findings"][0].update(status="failed", note="still\nlistening")
    text = render_markdown(fleet_data(hosts, RUN))
    section = text.split("## web1\n\n")[1].split("\n\n## ")[0]
    assert section.splitlines() == [
        "**failed**: not remediated: 111/tcp disable",
        "",
        "firewall running; NFS not in use; allowed 80/tcp, 443/tcp.",
        "",
        "| status | port | address | unit | action | rule | reason / note |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        "| failed | 111/tcp | 0.0.0.0 | rpcbind.service | disable | builtin-rpcbind | "
        "still listening |",
    ]


def test_markdown_host_without_findings():
    hosts = {"web3": {"state": "ok", "report": report("web3", [], firewall="absent")}}
    text = render_markdown(fleet_data(hosts, RUN))
    assert text.endswith("## web3\n\nfirewall absent; NFS not in use.\n\nNo exposed violations.\n")
    assert "**No open findings on 1 host.**" in text


# ---------------------------------------------------------------------------
# HTML


class PageParser(HTMLParser):
    """What a browser sees: tags, text, the matrix rows and their chips."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags = []
        self.attributes = []
        self.text = []
        self.headers = []
        self.rows = {}
        self._row = None
        self._in_matrix = False
        self._in_head_th = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        self.tags.append(tag)
        self.attributes.extend(v for v in attrs.values() if v)
        if tag == "table":
            self._in_matrix = "matrix" in classes
        elif self._in_matrix and tag == "th" and self._row is None:
            self._in_head_th = True
            self.headers.append("")
        elif self._in_matrix and tag == "tr" and "data-host" in attrs:
            self._row = {
                "classes": classes,
                "state": attrs.get("data-state"),
                "cells": [],
                "chips": [],
                "error": None,
            }
            self.rows[attrs["data-host"]] = self._row
        elif self._row is not None and tag == "td":
            self._row["cells"].append(attrs.get("class"))
        elif self._row is not None and tag == "span" and "f" in classes:
            self._row["chips"].append((classes[1], attrs.get("title")))

    def handle_endtag(self, tag):
        if tag == "table":
            self._in_matrix = False
        elif tag == "tr":
            self._row = None
        elif tag == "th":
            self._in_head_th = False

    def handle_data(self, data):
        self.text.append(data)
        if self._in_head_th:
            self.headers[-1] += data
        if self._row is not None and self._row["cells"] and self._row["cells"][-1] == "error":
            self._row["error"] = data


def parse_page(text):
    parser = PageParser()
    parser.feed(text)
    parser.close()
    return parser


def test_html_matrix(doc):
    page = parse_page(render_html(doc))
    assert page.headers == [
        "host",
        "111/tcpbuiltin-rpcbind",
        "2222/tcpssh-alt",
        "8080/tcpbuiltin-admin",
        "allowed",
    ]
    assert page.rows["db1"] == {
        "classes": ["host", "down"],
        "state": "unreachable",
        "cells": ["error"],
        "chips": [],
        "error": SSH_ERROR,
    }
    assert page.rows["web1"]["cells"] == ["c-remediated", "c-none", "c-remediated", "allowed"]
    assert page.rows["web2"]["cells"] == ["c-open", "c-kept", "c-none", "allowed"]
    assert page.rows["web2"]["chips"] == [
        ("s-open", "open: 111/tcp on 0.0.0.0 (rpcbind.service), disable"),
        ("s-open", "open: 111/tcp on :: (rpcbind.service), disable"),
        ("s-kept", "kept: 2222/tcp on 0.0.0.0 (%s), report (policy: block)" % HOSTILE_UNIT),
    ]


def test_html_is_self_contained_and_escaped(doc):
    text = render_html(doc)
    page = parse_page(text)
    assert "script" not in page.tags
    assert set(page.tags) <= {
        "html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "span", "p", "div",
        "b", "table", "thead", "tbody", "tr", "th", "td", "small", "a", "i", "section", "footer",
    }  # fmt: skip
    assert not re.search(r"https?:|//|url\(|@import|<link|src=", text.split("</style>")[1])
    assert not re.search(r"https?:|url\(|@import", text.split("</style>", maxsplit=1)[0])
    for hostile in (HOSTILE_UNIT, HOSTILE_REASON, HOSTILE_NOTE):
        assert hostile in page.text
    assert '<script>alert("unit")</script>' not in text
    assert "&lt;script&gt;alert(&quot;unit&quot;)&lt;/script&gt;|ü.service" in text
    assert "&#x27;single&#x27; &quot;double&quot; | pipe &lt;b&gt;ö&lt;/b&gt;" in text


def test_html_legend_rules_and_details(doc):
    page = parse_page(render_html(doc))
    text = "".join(page.text)
    assert "Action needed: 2 findings open on 1 host; 1 host unreachable." in text
    assert "builtin-rpcbinddisable" + RPC_REASON in text
    assert "ssh-altblock" + HOSTILE_REASON in text
    # The web2 details: every column of its kept finding, then its note in a row of its own.
    row = "kept2222/tcp0.0.0.0" + HOSTILE_UNIT + "sshd-report (policy: block)ssh-alt"
    assert row in text
    assert text.index(HOSTILE_NOTE) > text.index(row)
    assert text[text.index(row) + len(row) :].lstrip().startswith(HOSTILE_NOTE)
    assert "failedopenkeptremediatednot exposedhost not reported" in text


def test_html_mixed_cell_takes_the_worst_status():
    hosts = sample_hosts()
    hosts["web1"]["report"]["findings"][1]["status"] = "failed"
    page = parse_page(render_html(fleet_data(hosts, RUN)))
    assert page.rows["web1"]["cells"][0] == "c-failed"
    assert [chip[0] for chip in page.rows["web1"]["chips"]] == [
        "s-remediated",
        "s-failed",
        "s-remediated",
    ]


# ---------------------------------------------------------------------------
# JUnit


def parse_xml(text):
    return ET.fromstring(text.encode("utf-8"))  # noqa: S314 - our own output, no entities


def junit_cases(text):
    suite = parse_xml(text)
    cases = []
    for case in suite.findall("testcase"):
        outcome = [(child.tag, child.get("type"), child.get("message")) for child in case]
        cases.append((case.get("classname"), case.get("name"), outcome))
    return suite, cases


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
# The views agree


def counts_from_markdown(text):
    hosts_table = markdown_tables(text)[0]
    assert hosts_table[0] == ["host", "state", "open", "remediated", "kept", "failed"]
    rows = dict((row[0], row[1:]) for row in hosts_table[1:])
    total = rows.pop("total")
    return {
        "hosts": dict(
            (name, (row[0], dict(zip(STATUSES, map(int, row[1:]))))) for name, row in rows.items()
        ),
        "total": [int(n) for n in total[1:]],
    }


def counts_from_html(text):
    hosts = {}
    for name, row in parse_page(text).rows.items():
        counts = dict((status, 0) for status in STATUSES)
        for chip, _title in row["chips"]:
            counts[chip[len("s-") :]] += 1
        hosts[name] = (row["state"], counts)
    return hosts


def counts_from_junit(text):
    suite = parse_xml(text)
    hosts = {}
    for case in suite.findall("testcase"):
        host = hosts.setdefault(case.get("classname"), ["ok", dict((s, 0) for s in STATUSES)])
        counts = host[1]
        for child in case:
            if child.tag == "error":
                host[0] = child.get("type")
            else:
                for line in child.text.splitlines():
                    counts[line.split()[0]] += 1
    return suite, dict((name, tuple(value)) for name, value in hosts.items())


@pytest.mark.parametrize("variant", ["sample", "failed host", "failed finding"])
def test_all_views_agree(variant):
    hosts = sample_hosts()
    if variant == "failed host":
        hosts["web1"].update(state="failed", error="boom")
    elif variant == "failed finding":
        hosts["web2"]["report"]["findings"][1]["status"] = "failed"
    doc = fleet_data(hosts, RUN)
    s = doc["summary"]
    expected = dict(
        (name, (host["state"], dict((k, host["summary"][k]) for k in STATUSES)))
        for name, host in doc["hosts"].items()
    )

    md = counts_from_markdown(render_markdown(doc))
    assert md["hosts"] == expected
    assert md["total"] == [s["open"], s["remediated"], s["kept"], s["failed_findings"]]

    assert counts_from_html(render_html(doc)) == expected

    suite, junit_counts = counts_from_junit(render_junit(doc))
    assert junit_counts == expected
    groups = set(
        (name, f["rule"], f["port"], f["protocol"])
        for name, host in doc["hosts"].items()
        for f in host["findings"]
        if f["status"] in ("open", "failed")
    )
    assert int(suite.get("failures")) == len(groups)
    assert int(suite.get("errors")) == s["unreachable"] + s["failed"]


def test_baseline_listeners_that_are_gone_are_kept_for_information():
    gone = [{"protocol": "tcp", "port": 80, "scope": "any", "unit": "nginx.service"}]
    report = {
        "host": "web1",
        "findings": [],
        "allowed": [],
        "baseline": {"given": True, "missing": gone},
    }
    doc = fleet_data({"web1": {"state": "ok", "report": report, "error": None}}, RUN)
    assert doc["hosts"]["web1"]["baseline_missing"] == gone
    assert doc["summary"]["open"] == 0
