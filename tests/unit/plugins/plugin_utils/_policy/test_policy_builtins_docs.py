# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The built-in rules are one table in the code (_policy._BUILTINS); docs/policy.md shows that
table as it is, reasons included, and this test keeps the two the same."""

import os

from ansible_collections.portguard.hardening.plugins.plugin_utils._policy import builtin_rules

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", ".."))


def _ports(match):
    ports = ", ".join(str(p) for p in match["ports"])
    return "{} {}".format(ports, "/".join(match["protocols"]))


def builtin_table():
    """The Markdown table docs/policy.md must hold."""
    lines = ["| id | ports | action | why |", "| --- | --- | --- | --- |"]
    for rule in builtin_rules():
        lines.append(
            "| `{}` | {} | {} | {} |".format(
                rule["id"], _ports(rule["match"]), rule["action"], rule["reason"]
            )
        )
    return "\n".join(lines) + "\n"


def test_the_policy_docs_show_the_builtin_rules_of_the_code():
    with open(os.path.join(ROOT, "docs", "policy.md"), encoding="utf-8") as f:
        docs = f.read()
    assert builtin_table() in docs, "docs/policy.md: replace the built-in rules table with:\n" + (
        builtin_table()
    )


def test_every_builtin_rule_is_one_row():
    rows = builtin_table().splitlines()[2:]
    assert len(rows) == len(builtin_rules()) == len(set(r["id"] for r in builtin_rules()))
