# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""fleet.md: its text, its tables as a renderer reads them, and hostile names in it."""

import re

import pytest
from ansible_collections.portguard.hardening.plugins.plugin_utils._report.encode import (
    terminal_safe,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._report.fleet import (
    fleet_data,
    render_markdown,
)
from fleet_views import (
    HOSTILE_NAMES,
    HOSTILE_NOTE,
    HOSTILE_REASON,
    HOSTILE_UNIT,
    RAW_CONTROLS,
    RUN,
    hostile_fleet,
    markdown_tables,
    report,
    sample_doc,
    sample_hosts,
)
from markdown_it import MarkdownIt


@pytest.fixture
def doc():
    return sample_doc()


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
| kept | 2222/tcp | 0.0.0.0 | \\<script\\>alert("unit")\\</script\\>\\|ü.service | \
report (policy: block) | ssh-alt | serves the connection Ansible is using; \
'single' "double" \\| pipe \\<b\\>ö\\</b\\> |

## Rules

| rule | action | reason |
| --- | --- | --- |
| builtin-rpcbind | disable | rpcbind tells anyone which RPC services run. |
| ssh-alt | block | Management \\<script\\>alert(1)\\</script\\> \\| never close it — ü |
| builtin-admin | block | Admin consoles are not for the internet. |
"""


def test_markdown(doc):
    assert render_markdown(doc) == EXPECTED_MARKDOWN


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
# Hostile names: text, never markup


def _text(token):
    return "".join(child.content for child in token.children)


def _bold(inline):
    """The text of every strong emphasis, in order."""
    texts = []
    for token in inline:
        inside = None
        for child in token.children:
            if child.type == "strong_open":
                inside = ""
            elif child.type == "strong_close":
                texts.append(inside)
                inside = None
            elif inside is not None:
                inside += child.content
    return texts


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_markdown_renders_host_names_as_text(name):
    text = render_markdown(fleet_data(hostile_fleet(name), RUN))
    assert set(text) & RAW_CONTROLS == {"\n"}
    tokens = MarkdownIt("commonmark").enable(["table", "strikethrough"]).parse(text)
    assert [t.type for t in tokens if t.type.startswith("html")] == []
    inline = [t for t in tokens if t.type == "inline"]
    kinds = set(child.type for t in inline for child in t.children)
    assert kinds == {"text", "strong_open", "strong_close"}
    # The only emphasis is the report's own: the verdict, the totals and the down host's state.
    assert _bold(inline) == [
        "Action needed: 2 findings open on 1 host; 1 host unreachable.",
        "total",
        "unreachable",
    ]
    # A reader sees the name with its control characters written out; in sentences (a note, a
    # reason, an error) line breaks read as spaces.
    shown = terminal_safe(name)
    sentence = terminal_safe(re.sub("[ \t\n\r\f\v]+", " ", name).strip())
    headings = [_text(tokens[i + 1]) for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert sorted(headings[1:]) == sorted([shown, "down", "Rules"])
    hosts, findings, rules = markdown_tables(text)
    assert sorted(row[0] for row in hosts[1:-1]) == sorted([shown, "down"])
    assert findings[1:] == [
        ["open", "111/tcp", "0.0.0.0", shown, "disable", shown, sentence],
        ["open", "8080/tcp", "0.0.0.0", shown, "disable", "web", "r"],
    ]
    assert rules[1:] == [[shown, "disable", sentence], ["web", "disable", "r"]]
    assert "unreachable: " + sentence in [_text(t) for t in inline]
