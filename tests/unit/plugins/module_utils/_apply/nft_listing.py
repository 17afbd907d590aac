# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a fake nft lists back for a loaded rules file, in the parts table_shape() reads.

Standard library only: the fake nft of the module tests runs it in a process of its own.
"""

import json
import re

_RULE = re.compile(r'^\t\t(.*) comment "(.*)"$')
_CHAIN = re.compile(r"^\t\ttype (\w+) hook (\w+) priority (-?\d+); policy (\w+);$")
_NAME = re.compile(r"^\tchain (\w+) \{$")
METAINFO = {"metainfo": {"version": "1.0.6", "json_schema_version": 1}}


def listing(text, flags=None):
    """`nft -j list table inet portguard` once text (a rendered rules file) is loaded."""
    table = {"family": "inet", "name": "portguard", "handle": 7}
    if flags:
        table["flags"] = flags
    objects = [METAINFO, {"table": table}]
    name = None
    for line in text.splitlines():
        named = _NAME.match(line)
        if named:
            name = named.group(1)
        chain = _CHAIN.match(line)
        if chain:
            kind, hook, prio, policy = chain.groups()
            objects.append(
                {
                    "chain": {
                        "family": "inet",
                        "table": "portguard",
                        "name": name,
                        "handle": 1,
                        "type": kind,
                        "hook": hook,
                        "prio": int(prio),
                        "policy": policy,
                    }
                }
            )
        rule = _RULE.match(line)
        if rule:
            statement, comment = rule.groups()
            verdict = "accept" if statement.endswith("accept") else "reject"
            objects.append(
                {
                    "rule": {
                        "family": "inet",
                        "table": "portguard",
                        "chain": name,
                        "comment": comment,
                        "expr": [{"match": {"op": "==", "left": "x", "right": 1}}, {verdict: None}],
                    }
                }
            )
    return json.dumps({"nftables": objects})
