# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Text from managed hosts, encoded for where it is shown.

A process on a managed host chooses its name, its command line and often the name of its
unit; none of it may steer the terminal that shows it or become markup in a report.
terminal_safe() is the one escaping of control characters, used by every line the role and
the playbooks print and by every report; the Markdown functions build on it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test boilerplate

import re

# C0 controls, DEL and C1 controls (ESC and CSI start terminal sequences), the bidi marks,
# embeddings, overrides and isolates (they reorder what a reader sees), the line and paragraph
# separators, lone surrogates and the two noncharacters (neither UTF-8 nor XML carry them).
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]"
)
# Everything that starts or ends inline Markdown (CommonMark and GitHub's tables and
# strikethrough): escapes, code spans, emphasis, links and images, raw HTML and autolinks,
# entity references, table cells, heading markers.
_MARKDOWN = re.compile(r"([\\`*_~\[\]<>&|#])")
_ASCII_SPACE = re.compile("[ \t\n\r\f\v]+")


def _visible(match):
    code = ord(match.group())
    return "\\x%02x" % code if code < 0x100 else "\\u%04x" % code


def terminal_safe(value):
    """The text of value with every control character written out, as ``\\x1b`` or ``\\u202e``.

    Backslashes stay as they are: systemd writes ``\\x2d`` into unit names itself, and the
    reports' JSON keeps the exact value.  None becomes the empty string.
    """
    text = "" if value is None else str(value)
    return _UNSAFE.sub(_visible, text)


def terminal_lines(value):
    """terminal_safe, line by line: the line breaks of a message stay line breaks."""
    text = "" if value is None else str(value)
    return "\n".join(terminal_safe(line) for line in text.split("\n"))


def markdown_text(value):
    """Inline Markdown that renders as terminal_safe(value): no markup, one line."""
    return _MARKDOWN.sub(r"\\\1", terminal_safe(value))


def markdown_prose(value):
    """markdown_text for sentences (errors, notes): runs of spaces and line breaks become one."""
    text = "" if value is None else str(value)
    return markdown_text(_ASCII_SPACE.sub(" ", text).strip())
