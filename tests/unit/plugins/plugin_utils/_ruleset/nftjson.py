# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hand-written rulesets in the shape ``nft -j list ruleset`` prints (libnftables-json(5))."""

ACCEPT = {"accept": None}
DROP = {"drop": None}
RETURN = {"return": None}
REJECT = {"reject": {"type": "icmpx", "expr": "port-unreachable"}}
COUNTER = {"counter": {"packets": 0, "bytes": 0}}


def match(left, right, op="=="):
    return {"match": {"op": op, "left": left, "right": right}}


def payload(protocol, field):
    return {"payload": {"protocol": protocol, "field": field}}


def meta(key):
    return {"meta": {"key": key}}


def dport(right, proto="tcp", op="=="):
    return match(payload(proto, "dport"), right, op)


def saddr(right, proto="ip", op="=="):
    return match(payload(proto, "saddr"), right, op)


def iifname(name, op="=="):
    return match(meta("iifname"), name, op)


def ct_state(states, op="in"):
    return match({"ct": {"key": "state"}}, states, op)


def prefix(addr, length):
    return {"prefix": {"addr": addr, "len": length}}


def jump(target):
    return {"jump": {"target": target}}


def goto(target):
    return {"goto": {"target": target}}


def vmap(key, pairs):
    return {"vmap": {"key": key, "data": {"set": [[k, v] for k, v in pairs]}}}


class Doc:
    """A ruleset under construction: tables, chains in order, rules appended to chains."""

    def __init__(self):
        self.items = [{"metainfo": {"version": "1.0.6", "json_schema_version": 1}}]
        self.handle = 0

    def _next(self):
        self.handle += 1
        return self.handle

    def table(self, family, name):
        self.items.append({"table": {"family": family, "name": name, "handle": self._next()}})
        return self

    def chain(self, family, table, name, hook=None, prio=0, policy="accept", type="filter", **kw):
        body = {"family": family, "table": table, "name": name, "handle": self._next()}
        if hook:
            body.update(type=type, hook=hook, prio=prio, policy=policy)
        body.update(kw)
        self.items.append({"chain": body})
        return self

    def set(self, family, table, name, elements, type="ipv4_addr", kind="set", **kw):
        body = {"family": family, "table": table, "name": name, "type": type}
        body.update(handle=self._next(), elem=elements, **kw)
        self.items.append({kind: body})
        return self

    def rule(self, family, table, chain, *expr, comment=None):
        body = {"family": family, "table": table, "chain": chain, "handle": self._next()}
        body["expr"] = list(expr)
        if comment:
            body["comment"] = comment
        self.items.append({"rule": body})
        return self

    def json(self):
        return {"nftables": self.items}


def inet_input(policy="drop", *rules, family="inet", table="filter"):
    """One base chain on input holding the rules (each a list of expressions)."""
    doc = Doc().table(family, table).chain(family, table, "input", hook="input", policy=policy)
    for expr in rules:
        doc.rule(family, table, "input", *expr)
    return doc
