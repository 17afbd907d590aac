# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A rule as a short line in nft's own syntax, for the reason of an answer.

Only for reading: the text is never parsed back.  Names and comments come from the host's
ruleset, so the caller encodes them for wherever it writes them (terminal, HTML).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections.abc import Mapping

MAX_TEXT = 200
_PLAIN_META = ("iifname", "oifname", "iif", "oif", "mark", "pkttype", "iiftype")
_VERDICTS = ("accept", "drop", "return", "continue", "queue")


def _is_map(node):
    return node.__class__ is dict or isinstance(node, Mapping)


def _left(node):
    if node.__class__ is dict and len(node) == 1:  # the commonest: a payload field
        body = node.get("payload")
        if body.__class__ is dict and "protocol" in body:
            return f"{body['protocol']} {body.get('field', '?')}"
    if not _is_map(node) or len(node) != 1:
        return _value(node)
    ((kind, body),) = node.items()
    if not _is_map(body):
        return _value(body) if kind == "concat" else kind
    if kind == "payload":
        if "protocol" in body:
            return f"{body['protocol']} {body.get('field', '?')}"
        return f"@{body.get('base', '?')},{body.get('offset', '?')},{body.get('len', '?')}"
    if kind == "meta":
        key = body.get("key", "?")
        return key if key in _PLAIN_META else f"meta {key}"
    if kind == "ct":
        return f"ct {body.get('key', '?')}"
    if kind == "fib":
        flags = body.get("flags", [])
        flags = [flags] if isinstance(flags, str) else flags
        return f"fib {' . '.join(str(f) for f in flags)} {body.get('result', '?')}"
    return kind


def _value(node):
    if node.__class__ is int or node.__class__ is str:
        return str(node)
    if _is_map(node) and len(node) == 1:
        ((kind, body),) = node.items()
        if kind == "set":
            items = body if isinstance(body, list) else [body]
            return "{ " + ", ".join(_element(i) for i in items) + " }"
        if kind == "range" and isinstance(body, list) and len(body) == 2:
            return f"{_value(body[0])}-{_value(body[1])}"
        if kind == "prefix" and _is_map(body):
            return f"{body.get('addr')}/{body.get('len')}"
        if kind == "concat" and isinstance(body, list):
            return " . ".join(_left(part) for part in body)
        if kind == "elem" and _is_map(body):
            return _value(body.get("val"))
        return _left(node)
    if isinstance(node, list):
        return ",".join(_value(v) for v in node)
    if isinstance(node, bool):
        return "exists" if node else "missing"
    return str(node)


def _element(item):
    if isinstance(item, list) and len(item) == 2:
        return f"{_value(item[0])} : {statement(item[1])}"
    return _value(item)


def statement(stmt):
    """One expression of a rule as nft writes it."""
    if not _is_map(stmt) or len(stmt) != 1:
        return "?"
    ((kind, body),) = stmt.items()
    if kind == "match" and _is_map(body):
        op = body.get("op", "==")
        op = "" if op in ("==", "in") else f"{op} "
        return f"{_left(body.get('left'))} {op}{_value(body.get('right'))}"
    if kind in _VERDICTS:
        return kind
    if kind in ("jump", "goto") and _is_map(body):
        return f"{kind} {body.get('target')}"
    if kind == "vmap" and _is_map(body):
        return f"{_left(body.get('key'))} vmap {_value(body.get('data'))}"
    if kind == "limit" and _is_map(body):
        over = "over " if body.get("inv") else ""
        return f"limit rate {over}{body.get('rate')}/{body.get('per')}"
    if kind == "xt" and _is_map(body):
        return f"xt {body.get('type')} {body.get('name')}"
    return kind


def rule_text(rule):
    """The rule's expressions, counters left out, with its comment."""
    parts = [
        statement(s)
        for s in rule.expr
        if not ((s.__class__ is dict or isinstance(s, Mapping)) and "counter" in s)
    ]
    text = " ".join(parts) if parts else "(no expression)"
    if rule.comment:
        text += f' comment "{rule.comment}"'
    if len(text) > MAX_TEXT:
        text = text[: MAX_TEXT - 3] + "..."
    return text
