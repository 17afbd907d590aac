# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host text encoded for the terminal and for Markdown, over the names an attacker picks."""

import pytest
from ansible_collections.portguard.hardening.plugins.plugin_utils._report.encode import (
    markdown_prose,
    markdown_text,
    terminal_safe,
)
from markdown_it import MarkdownIt

# (name a process or unit on a managed host could carry, what a terminal must show of it)
HOSTILE = [
    pytest.param("\x1b]0;title\x07", "\\x1b]0;title\\x07", id="osc-window-title"),
    pytest.param("\x1b[2J.service", "\\x1b[2J.service", id="csi-clear-screen"),
    pytest.param("\x9b2J\x85x", "\\x9b2J\\x85x", id="c1-csi-and-nel"),
    pytest.param("a\x7fb\x00c", "a\\x7fb\\x00c", id="del-and-nul"),
    pytest.param("new\nline\r\tx", "new\\x0aline\\x0d\\x09x", id="line-breaks-and-tab"),
    pytest.param("evil\u202ecivres.", "evil\\u202ecivres.", id="bidi-override"),
    pytest.param("\u2066a\u2069\u200f\u061c", "\\u2066a\\u2069\\u200f\\u061c", id="bidi-isolates"),
    pytest.param("a\u2028b\u2029", "a\\u2028b\\u2029", id="line-separators"),
    pytest.param("bad\udcff\ufffe", "bad\\udcff\\ufffe", id="surrogate-and-nonchar"),
    pytest.param("[a](//evil.io)", "[a](//evil.io)", id="markdown-link-is-plain-text"),
    pytest.param("![t](http:x).service", "![t](http:x).service", id="markdown-image"),
    pytest.param("x' 'sshd.service", "x' 'sshd.service", id="quoted-split"),
    pytest.param("a|b `c` *d* _e_", "a|b `c` *d* _e_", id="pipes-backticks-emphasis"),
    pytest.param("\ufffd\ufffdbad", "\ufffd\ufffdbad", id="replacement-characters-kept"),
    pytest.param("dev-disk-by\\x2duuid.swap", "dev-disk-by\\x2duuid.swap", id="systemd-escape"),
    pytest.param("café ü 日本", "café ü 日本", id="unicode-text-kept"),
    pytest.param(None, "", id="none"),
    pytest.param(8080, "8080", id="number"),
]


@pytest.mark.parametrize("value,shown", HOSTILE)
def test_terminal_safe(value, shown):
    assert terminal_safe(value) == shown


@pytest.mark.parametrize("value,shown", HOSTILE)
def test_terminal_safe_leaves_nothing_a_terminal_acts_on(value, shown):
    text = terminal_safe(value)
    assert not [c for c in text if ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F]
    assert not set(text) & set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
    # Nothing left to escape: applying it twice changes nothing.
    assert terminal_safe(text) == text == shown


@pytest.mark.parametrize(
    "value,markdown",
    [
        pytest.param("[a](//evil.io)", "\\[a\\](//evil.io)", id="link"),
        pytest.param("![t](http:x).service", "!\\[t\\](http:x).service", id="image"),
        pytest.param("*a* _b_ ~~c~~", "\\*a\\* \\_b\\_ \\~\\~c\\~\\~", id="emphasis-strike"),
        pytest.param("a|b", "a\\|b", id="pipe"),
        pytest.param("`x`", "\\`x\\`", id="code-span"),
        pytest.param("<b>&amp;</b>", "\\<b\\>\\&amp;\\</b\\>", id="html-and-entity"),
        pytest.param("# web #", "\\# web \\#", id="heading-marks"),
        pytest.param("a\\b", "a\\\\b", id="backslash"),
        pytest.param("\x1b[2J", "\\\\x1b\\[2J", id="escape-then-markup"),
        pytest.param("new\nline", "new\\\\x0aline", id="newline-in-a-name"),
        pytest.param("x' 'sshd.service", "x' 'sshd.service", id="quotes-need-nothing"),
        pytest.param(None, "", id="none"),
    ],
)
def test_markdown_text(value, markdown):
    assert markdown_text(value) == markdown


@pytest.mark.parametrize(
    "value,markdown",
    [
        pytest.param("not remediated:\n111/tcp  disable\n", "not remediated: 111/tcp disable"),
        pytest.param("a\tb\r\nc", "a b c"),
        pytest.param("still \x1b[2J *there*", "still \\\\x1b\\[2J \\*there\\*"),
        pytest.param("no\u00a0break", "no\u00a0break"),
        pytest.param(None, ""),
    ],
)
def test_markdown_prose(value, markdown):
    assert markdown_prose(value) == markdown


# Every inline token markdown-it can make that is not plain text.
MARKUP = {
    "link_open",
    "image",
    "html_inline",
    "em_open",
    "strong_open",
    "s_open",
    "code_inline",
    "softbreak",
    "hardbreak",
}


@pytest.mark.parametrize("value,shown", HOSTILE)
def test_markdown_text_renders_as_the_terminal_text(value, shown):
    tokens = (
        MarkdownIt("commonmark")
        .enable(["table", "strikethrough"])
        .parse("| a |\n| --- |\n| %s |\n\n## %s\n" % (markdown_text(value), markdown_text(value)))
    )
    assert [t.type for t in tokens if t.type in ("html_block", "heading_open", "tr_open")] == [
        "tr_open",
        "tr_open",
        "heading_open",
    ]
    inline = [t for t in tokens if t.type == "inline"]
    assert [c.type for t in inline for c in t.children if c.type in MARKUP] == []
    # The header cell, the one body cell, the heading: the last two read as the terminal's text.
    assert [t.content for t in inline][0] == "a"
    rendered = ["".join(c.content for c in t.children) for t in inline[1:]]
    assert rendered == [shown.strip() or "", shown.strip() or ""]
