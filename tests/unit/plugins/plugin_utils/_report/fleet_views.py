# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The sample fleet of the fleet report tests, and each view read back as its reader sees it."""

import copy
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest
import support
from ansible_collections.portguard.hardening.plugins.plugin_utils._report.fleet import fleet_data
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


def sample_doc():
    return fleet_data(sample_hosts(), copy.deepcopy(RUN))


# Names a process or unit on a managed host could carry (and host names an inventory could).
HOSTILE_NAMES = [
    pytest.param("\x1b]0;title\x07", id="osc-window-title"),
    pytest.param("\x1b[2J\x9b2J", id="csi-clear-screen"),
    pytest.param("[a](//evil.io)", id="link"),
    pytest.param("![t](http:x).service", id="image"),
    pytest.param("<img src=x onerror=alert(1)>", id="html"),
    pytest.param("&lt;b&gt; &#x1b;", id="entities"),
    pytest.param("x' 'sshd.service", id="quoted-split"),
    pytest.param("a|b\\|c", id="pipes"),
    pytest.param("`rm -rf /` ``x``", id="backticks"),
    pytest.param("*em* _u_ **b** ~~s~~", id="emphasis"),
    pytest.param("# head #", id="heading"),
    pytest.param("new\nline\tand\rmore", id="line-breaks"),
    pytest.param("evil\u202ecivres.x", id="bidi-override"),
    pytest.param("\ufffd\ufffdbad", id="not-utf8-comm"),
]
# What a terminal acts on; none of it may be in a report but fleet.json.
RAW_CONTROLS = set(chr(c) for c in range(0x20)) | set(chr(c) for c in range(0x7F, 0xA0))
RAW_CONTROLS |= set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def hostile_fleet(name):
    """A fleet where name is a host, a unit, a process, a rule, a note, a reason and an error."""
    by_unit = finding(unit=name, rule=name, reason=name, note=name, activated_by=[name])
    by_process = finding(unit=None, processes=[name], port=8080, rule="web", reason="r")
    return {
        name: {"state": "ok", "error": None, "report": report(name, [by_unit, by_process])},
        "down": {"state": "unreachable", "report": None, "error": name},
    }


# ---------------------------------------------------------------------------
# Reading the views back


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


def parse_xml(text):
    return ET.fromstring(text.encode("utf-8"))  # noqa: S314 - our own output, no entities


def junit_cases(text):
    suite = parse_xml(text)
    cases = []
    for case in suite.findall("testcase"):
        outcome = [(child.tag, child.get("type"), child.get("message")) for child in case]
        cases.append((case.get("classname"), case.get("name"), outcome))
    return suite, cases
