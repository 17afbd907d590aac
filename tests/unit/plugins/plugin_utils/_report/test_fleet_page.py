# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""fleet.html: the matrix, the details, and that host text stays text."""

import re

import pytest
from ansible_collections.portguard.hardening.plugins.plugin_utils._report.encode import (
    terminal_lines,
    terminal_safe,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._report.fleet import (
    fleet_data,
    render_html,
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
    parse_page,
    sample_doc,
    sample_hosts,
)


@pytest.fixture
def doc():
    return sample_doc()


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


PAGE_TAGS = {
    "html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "span", "p", "div",
    "b", "table", "thead", "tbody", "tr", "th", "td", "small", "a", "i", "section", "footer",
}  # fmt: skip


def test_html_is_self_contained_and_escaped(doc):
    text = render_html(doc)
    page = parse_page(text)
    assert "script" not in page.tags
    assert set(page.tags) <= PAGE_TAGS
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


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_html_shows_host_names_as_text(name):
    text = render_html(fleet_data(hostile_fleet(name), RUN))
    assert set(text) & RAW_CONTROLS == {"\n"}
    page = parse_page(text)
    assert set(page.tags) <= PAGE_TAGS
    assert page.tags.count("a") == 2  # the two host names in the matrix, linking to their section
    shown = terminal_safe(name)
    assert sorted(page.rows) == sorted([shown, "down"])
    # The down host's error keeps its line breaks; every other control is written out.
    assert page.rows["down"]["error"] == terminal_lines(name)
    assert [title for _status, title in page.rows[shown]["chips"]] == [
        "open: 111/tcp on 0.0.0.0 (%s), disable" % shown,
        "open: 8080/tcp on 0.0.0.0 (%s), disable" % shown,
    ]
    assert page.text.count(shown) >= 5
