# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rule expressions as tests on one packet from outside: the first of a new connection.

The packet has a fixed family (ipv4 or ipv6), L4 protocol (tcp or udp), conntrack state
(``new``), packet type (``host``) and a local destination.  Its input interface, destination
address, source and destination port are concrete for one evaluation run (the ``ctx`` tuple);
its source address is a set of ranges, so that one run answers for every source at once.

compile_rule() resolves what is fixed when it compiles (a rule on ``udp dport`` never matches a
TCP packet, ``ct state established,related`` never matches a new one) and returns a Compiled
rule: the destination ports it can match (for indexing), the source ranges it matches, tests
on ctx, the names of expressions it cannot model, and its verdict.  Counters, log, limit and
comments do not decide anything; a limit or connection count ``over`` a rate is taken as not
reached by one new connection.

Rule expressions are JSON objects: dict (or a subclass), never another kind of mapping.

Public: compile_rule, compile_named, protocols_named, other_protocol, iif_matches, Compiled,
Unknown, IIF, DADDR, SPORT, DPORT, PORTED.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.portguard.hardening.plugins.plugin_utils._ruleset import intervals as iv

IIF, DADDR, SPORT, DPORT = range(4)
L4_NUMBERS = {
    "icmp": 1,
    "igmp": 2,
    "tcp": 6,
    "udp": 17,
    "dccp": 33,
    "gre": 47,
    "esp": 50,
    "ah": 51,
    "icmpv6": 58,
    "ipv6-icmp": 58,
    "sctp": 132,
    "udplite": 136,
}
_PORTED = PORTED = ("tcp", "udp", "udplite", "sctp", "dccp")  # L4 headers with ports
_L4_HEADERS = _PORTED + ("icmp", "icmpv6", "igmp", "ah", "esp", "comp", "gre")
_NFPROTO = {"ipv4": "ipv4", "ipv6": "ipv6", 2: "ipv4", 10: "ipv6"}
_ETHERTYPE = {"ip": "ipv4", "ip6": "ipv6", 2048: "ipv4", 34525: "ipv6"}
# Statements that count, log, mark or rate a packet without deciding its fate.
_PASSIVE = frozenset(
    ("counter", "log", "mangle", "notrack", "ct helper", "ct timeout", "ct expectation")
    + ("set", "map", "meter", "secmark", "dup", "flow")
)
_PASSIVE_TARGETS = frozenset(
    ("LOG", "NFLOG", "ULOG", "MARK", "CONNMARK", "CT", "NOTRACK", "TCPMSS", "CLASSIFY", "TOS")
)
_NONE_NAMED = frozenset()
_ONE_NAMED = {p: frozenset((p,)) for p in _PORTED}


class Unknown(Exception):
    """An expression the evaluator does not model; the message names it."""


class Compiled:
    """One rule compiled for a family and protocol; never changed once compile_rule returns,
    so that walks of several protocols can share it."""

    __slots__ = ("rule", "ports", "saddr", "tests", "unknown", "verdict", "per_port")

    def __init__(self, rule):
        self.rule = rule
        self.ports = None  # destination port ranges, None for any
        self.saddr = None  # source ranges, None for any
        self.tests = []  # callables on ctx: True, False, or source ranges
        self.unknown = []
        self.verdict = None  # None: the rule only observes
        self.per_port = False  # a test that needs the destination port itself

    @classmethod
    def plain(cls, rule, ports, saddr, verdict):
        """A rule that tests nothing per run and names nothing unknown."""
        self = cls.__new__(cls)
        self.rule, self.ports, self.saddr, self.verdict = rule, ports, saddr, verdict
        self.tests = self.unknown = ()
        self.per_port = False
        return self


class _Env:
    __slots__ = ("ruleset", "rule", "family", "protocol", "proto_number", "by_protocol") + (
        "iif_patterns",
        "daddr_ranges",
        "sport_ranges",
        "dport_ranges",
        "targets",
    )

    def __init__(self, ruleset, rule, family, protocol):
        self.ruleset = ruleset
        self.rule = rule
        self.family = family
        self.protocol = protocol
        self.proto_number = L4_NUMBERS[protocol]
        # Whether the L4 protocol decided anything: if not, the rule means the same for both.
        self.by_protocol = False
        self.iif_patterns = set()
        self.daddr_ranges = []
        self.sport_ranges = []
        self.dport_ranges = []
        self.targets = []


# Fields: ("const", domain, value) known now; ("absent",) a header the packet has not;
# ("saddr",), ("daddr",), ("dport",), ("sport",), ("iif",) known per run.
def _field(left, env):
    if not isinstance(left, dict) or len(left) != 1:
        raise Unknown(f"expression {_name(left)}")
    ((kind, body),) = left.items()
    if kind == "payload":
        return _payload_field(body, env)
    if kind == "meta":
        return _meta_field(body.get("key") if isinstance(body, dict) else None, env)
    if kind == "ct":
        key = body.get("key") if isinstance(body, dict) else None
        if key == "state" and not (isinstance(body, dict) and body.get("dir")):
            return ("const", "word", "new")
        if key == "direction":
            return ("const", "word", "original")
        if key == "status":
            return ("const", "flags", frozenset())
        raise Unknown(f"ct {key}")
    if kind == "fib":
        return _fib_field(body)
    if kind == "exthdr" and isinstance(body, dict):
        # The first packet of a connection need carry no IPv6 extension header.
        if env.family != "ipv6" or "field" in body:
            return ("absent",)
        return ("const", "bool", False)
    if kind == "concat" and isinstance(body, list):
        return ("concat", [_field(part, env) for part in body])
    raise Unknown(kind)


def _payload_field(body, env):
    if not isinstance(body, dict) or "protocol" not in body:
        raise Unknown("raw payload")
    proto, name = body.get("protocol"), body.get("field")
    if proto in ("ip", "ip6"):
        if (proto == "ip") != (env.family == "ipv4"):
            return ("absent",)
        if name in ("saddr", "daddr"):
            return (name,)
        if name in ("protocol", "nexthdr"):
            env.by_protocol = True
            return ("const", "proto", env.proto_number)
        if name == "version":
            return ("const", "proto", 4 if proto == "ip" else 6)
        raise Unknown(f"{proto} {name}")
    if proto == "th" or proto in _PORTED:
        if proto != "th":
            env.by_protocol = True
            if proto != env.protocol:
                return ("absent",)
        if name in ("dport", "sport"):
            return (name,)
        raise Unknown(f"{proto} {name}")
    if proto in _L4_HEADERS:
        return ("absent",)
    raise Unknown(f"{proto} {name}")


def _meta_field(key, env):
    if key == "l4proto":
        env.by_protocol = True
        return ("const", "proto", env.proto_number)
    if key == "nfproto":
        return ("const", "nfproto", env.family)
    if key == "protocol":
        return ("const", "ethertype", env.family)
    if key == "pkttype":
        return ("const", "word", "host")
    if key in ("iifname", "iif"):
        return ("iif",)
    raise Unknown(f"meta {key}")


def _fib_field(body):
    flags = body.get("flags") if isinstance(body, dict) else None
    flags = [flags] if isinstance(flags, str) else flags
    result = body.get("result") if isinstance(body, dict) else None
    if result == "type" and flags and "daddr" in flags and "saddr" not in flags:
        return ("const", "word", "local")
    if result == "oif" and flags and "saddr" in flags and "daddr" not in flags:
        # Reverse-path filter: a source that answers through its input interface passes.
        return ("const", "bool", True)
    raise Unknown(f"fib {' . '.join(flags or [])} {result}")


def _name(value):
    if isinstance(value, dict) and value:
        return repr(next(iter(value)))
    return repr(type(value).__name__)


def _raw_elements(right, env):
    if isinstance(right, str) and right.startswith("@"):
        rule = env.rule
        named = env.ruleset.named_set(rule.family, rule.table, right[1:])
        if named is None:
            raise Unknown(f"set {right} (not in the ruleset)")
        return named.elements
    if isinstance(right, dict) and "set" in right:
        body = right["set"]
        return body if isinstance(body, list) else [body]
    if isinstance(right, list):
        return right
    return [right]


def _unwrap(elem):
    if isinstance(elem, dict) and "elem" in elem and isinstance(elem["elem"], dict):
        return elem["elem"].get("val")
    return elem


def _number(value, domain):
    if isinstance(value, bool):
        raise Unknown(f"{domain} value {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        if value.isdigit():
            return int(value)
        if domain == "proto" and value in L4_NUMBERS:
            return L4_NUMBERS[value]
    raise Unknown(f"{domain} value {value!r}")


def _ranges(domain, elem, env):
    """Ranges of one element of a numeric or address domain."""
    if isinstance(elem, dict) and "range" in elem:
        low, high = elem["range"]
        if domain == "addr":
            return ((iv.address_value(low, env.family), iv.address_value(high, env.family)),)
        return ((_number(low, domain), _number(high, domain)),)
    if domain == "addr":
        try:
            if isinstance(elem, dict) and "prefix" in elem:
                prefix = elem["prefix"]
                found = iv.prefix_range(prefix["addr"], prefix["len"], env.family)
                if found is not None:
                    return found
                return iv.network_range(f"{prefix['addr']}/{prefix['len']}", env.family)
            return iv.network_range(elem, env.family)
        except (TypeError, ValueError, KeyError):
            raise Unknown(f"address {elem!r}") from None
    value = _number(elem, domain)
    return ((value, value),)


def _word(domain, value):
    if domain == "nfproto":
        return _NFPROTO.get(value, value)
    if domain == "ethertype":
        return _ETHERTYPE.get(value, value)
    return value


def iif_matches(pattern, name):
    """Whether an iifname pattern matches an interface name."""
    # nft matches a trailing "*" as a prefix wildcard; "\*" is a literal star.
    if pattern.endswith("*") and not pattern.endswith("\\*"):
        return name.startswith(pattern[:-1])
    return name == pattern.replace("\\*", "*")


class _Value:
    """The right-hand side of a match in one field's domain: membership of a packet value."""

    @classmethod
    def ranges(cls, data):
        value = cls.__new__(cls)
        value.kind, value.data = "ranges", data
        return value

    def __init__(self, kind, field, elements, env):
        self.kind = kind  # "ranges", "words" or "names"
        if kind == "ranges":
            domain = {"saddr": "addr", "daddr": "addr", "dport": "port", "sport": "port"}.get(
                field[0], field[1] if field[0] == "const" else "port"
            )
            out = []
            for elem in elements:
                out.extend(_ranges(domain, _unwrap(elem), env))
            self.data = iv.normalize(out)
        elif kind == "names":
            names = [_unwrap(e) for e in elements]
            if not all(isinstance(n, str) for n in names):
                raise Unknown("iif index")
            self.data = tuple(names)
        else:
            self.data = frozenset(_word(field[1], _unwrap(e)) for e in elements)


def _value(field, right, env):
    if isinstance(right, int) and not isinstance(right, bool) and field[0] in ("dport", "sport"):
        return _Value.ranges(((right, right),))
    key = None
    if isinstance(right, str) and right.startswith("@"):
        key = (env.rule.family, env.rule.table, right, field[:2], env.family)
        found = env.ruleset.cache.get(key)
        if found is not None:
            return found
    elements = _raw_elements(right, env)
    value = _make_value(field, elements, env)
    if key is not None:
        env.ruleset.cache[key] = value
    return value


def _make_value(field, elements, env):
    if field[0] in ("saddr", "daddr", "dport", "sport"):
        return _Value("ranges", field, elements, env)
    if field[0] == "iif":
        return _Value("names", field, elements, env)
    if field[1] in ("proto",):
        return _Value("ranges", field, elements, env)
    return _Value("words", field, elements, env)


def _const_holds(field, op, right, env):
    domain, packet = field[1], field[2]
    if domain == "flags":
        flags = _value(("const", "word"), right, env).data
        if op in ("==", "in"):
            return bool(flags & packet) if op == "in" else flags == packet
        raise Unknown(f"ct status {op}")
    if domain == "bool":
        if isinstance(right, bool) and op in ("==", "!="):
            return (right == packet) == (op == "==")
        raise Unknown("fib result")
    if op in ("<", ">", "<=", ">="):
        return _compare(op, packet, _number(right, domain))
    value = _value(field, right, env)
    inside = iv.contains(value.data, packet) if value.kind == "ranges" else packet in value.data
    return inside == (op in ("==", "in"))


def _compare(op, left, right):
    return {"<": left < right, ">": left > right, "<=": left <= right, ">=": left >= right}[op]


def _compare_ranges(op, number, top):
    return {
        "<": ((0, number - 1),),
        "<=": ((0, number),),
        ">": ((number + 1, top),),
        ">=": ((number, top),),
    }[op]


def _match(body, compiled, env):
    """Add one match to the compiled rule; False when it can never match this packet."""
    op = body.get("op", "==")
    field = _field(body.get("left"), env)
    right = body.get("right")
    if op not in ("==", "!=", "in", "<", ">", "<=", ">="):
        raise Unknown(f"match operator {op!r}")
    if field[0] == "absent":
        return False
    if field[0] == "const":
        return _const_holds(field, op, right, env)
    if field[0] == "concat":
        if op not in ("==", "!=", "in"):
            raise Unknown(f"concatenation {op}")
        compiled.tests.append(_concat_test(field[1], right, op == "!=", env))
        return True
    if field[0] == "iif":
        if op not in ("==", "!=", "in"):
            raise Unknown(f"iifname {op}")
        names = _value(field, right, env).data
        env.iif_patterns.update(names)
        want = op != "!="
        compiled.tests.append(
            lambda ctx: any(iif_matches(p, ctx[IIF]) for p in names) == want,
        )
        return True
    dim = field[0]
    if op in ("<", ">", "<=", ">="):
        top = iv.universe(env.family)[0][1] if dim in ("saddr", "daddr") else 65535
        number = _ranges("addr", right, env)[0][0] if top > 65535 else _number(right, "port")
        ranges = _compare_ranges(op, number, top)
    else:
        ranges = _value(field, right, env).data
        if op == "!=":
            universe = iv.universe(env.family) if dim in ("saddr", "daddr") else iv.PORTS
            ranges = iv.subtract(universe, ranges)
    if dim == "saddr":
        compiled.saddr = ranges if compiled.saddr is None else iv.intersect(compiled.saddr, ranges)
    elif dim == "dport":
        compiled.ports = ranges if compiled.ports is None else iv.intersect(compiled.ports, ranges)
    else:
        index = DADDR if dim == "daddr" else SPORT
        (env.daddr_ranges if dim == "daddr" else env.sport_ranges).append(ranges)
        compiled.tests.append(lambda ctx: iv.contains(ranges, ctx[index]))
    return True


def _component(field, value, env):
    """One part of a concatenated key: True/False now, a ctx test, or source ranges."""
    if field[0] == "absent":
        return False
    if field[0] == "const":
        return _const_holds(field, "==", value, env)
    if field[0] == "saddr":
        return ("saddr", _value(field, value, env).data)
    if field[0] == "iif":
        names = _value(field, value, env).data
        env.iif_patterns.update(names)
        return lambda ctx: any(iif_matches(p, ctx[IIF]) for p in names)
    if field[0] == "concat":
        raise Unknown("nested concatenation")
    ranges = _value(field, value, env).data
    index = {"daddr": DADDR, "sport": SPORT, "dport": DPORT}[field[0]]
    if field[0] == "daddr":
        env.daddr_ranges.append(ranges)
    elif field[0] == "sport":
        env.sport_ranges.append(ranges)
    else:
        env.dport_ranges.append(ranges)
    return lambda ctx: iv.contains(ranges, ctx[index])


def _key_entry(fields, key, env):
    """(tests, source ranges or None) for one element key, or None if it never matches."""
    key = _unwrap(key)
    if len(fields) == 1:
        parts = [key]
    elif isinstance(key, dict) and isinstance(key.get("concat"), list):
        parts = key["concat"]
    else:
        raise Unknown("concatenated element")
    if len(parts) != len(fields):
        raise Unknown("concatenated element")
    tests, saddr = [], None
    for field, part in zip(fields, parts):
        done = _component(field, part, env)
        if done is False:
            return None
        if isinstance(done, tuple):
            saddr = done[1] if saddr is None else iv.intersect(saddr, done[1])
        elif done is not True:
            tests.append(done)
    return tuple(tests), saddr


def _concat_test(fields, right, negate, env):
    entries = [e for e in (_key_entry(fields, k, env) for k in _raw_elements(right, env)) if e]
    universe = iv.universe(env.family)

    def test(ctx):
        found = ()
        for tests, saddr in entries:
            if all(t(ctx) for t in tests):
                found = iv.union(found, universe if saddr is None else saddr)
        if negate:
            found = iv.subtract(universe, found)
        return found if found else False

    return test


def verdict_of(stmt, env):
    """A verdict tuple for a verdict statement, or None for a statement that does not decide."""
    if not isinstance(stmt, dict) or len(stmt) != 1:
        raise Unknown(f"statement {_name(stmt)}")
    ((kind, body),) = stmt.items()
    if kind in ("accept", "drop", "return", "continue"):
        return None if kind == "continue" else (kind,)
    if kind == "reject":
        return ("reject",)
    if kind in ("jump", "goto"):
        target = body.get("target") if isinstance(body, dict) else None
        return (kind, (env.rule.family, env.rule.table, target))
    return ("unknown", kind)


def _vmap(body, compiled, env):
    fields = _field(body.get("key"), env)
    fields = fields[1] if fields[0] == "concat" else [fields]
    if any(f[0] == "absent" for f in fields):
        return False
    by_port = len(fields) == 1 and fields[0][0] == "dport"
    entries, ports = [], ()
    for elem in _raw_elements(body.get("data"), env):
        if not isinstance(elem, list) or len(elem) != 2:
            raise Unknown("verdict map element")
        entry = _key_entry(fields, elem[0], env)
        if entry is None:
            continue
        verdict = verdict_of(elem[1], env)
        entries.append((entry[0], entry[1], verdict))
        if verdict and verdict[0] in ("jump", "goto"):
            env.targets.append(verdict[1])
        if by_port:
            ports = iv.union(ports, _value(fields[0], _unwrap(elem[0]), env).data)
    if not entries:
        return False
    if by_port:
        compiled.ports = ports if compiled.ports is None else iv.intersect(compiled.ports, ports)

    def select(ctx):
        return [(saddr, verdict) for tests, saddr, verdict in entries if all(t(ctx) for t in tests)]

    compiled.verdict = ("vmap", select)
    return True


def _xt(body, last):
    """An iptables extension that nft shows by name only: a verdict, None, or Unknown."""
    if not isinstance(body, dict):
        if last:  # in the place of a verdict: it may be one
            return ("unknown", "xt (an iptables extension nft cannot show)")
        raise Unknown("xt (an iptables extension nft cannot show)")
    kind, name = body.get("type"), body.get("name")
    if kind == "match" and name == "comment":
        return None
    if kind == "target" and name in _PASSIVE_TARGETS:
        return None
    if kind == "target" and name == "REJECT":
        return ("reject",)
    if kind == "target":
        return ("unknown", f"xt target {name}")
    raise Unknown(f"xt {kind} {name}")


def _over_limit(body):
    """True when a meter or set update only matches past a rate (``limit rate over``)."""
    inner = body.get("stmt") if isinstance(body, dict) else None
    inner = [inner] if isinstance(inner, dict) else inner or []
    for stmt in inner:
        for kind in ("limit", "ct count"):
            inner_stmt = stmt.get(kind) if isinstance(stmt, dict) else None
            if isinstance(inner_stmt, dict) and inner_stmt.get("inv"):
                return True
    return False


def _statement(stmt, compiled, env, last):
    """Add one expression of a rule; False when the rule can never match this packet."""
    ((kind, body),) = stmt.items()
    if kind == "match":
        return _match(body if isinstance(body, dict) else {}, compiled, env)
    if kind in ("meter", "set", "map"):
        return not _over_limit(body)
    if kind in _PASSIVE:
        return True
    if kind == "quota":
        raise Unknown("quota")
    if kind in ("limit", "ct count"):
        # Rate and connection limits: one new connection is under them.
        return not (isinstance(body, dict) and body.get("inv"))
    if kind == "vmap":
        return _vmap(body, compiled, env)
    if kind == "xt":
        compiled.verdict = _xt(body, last)
        return True
    compiled.verdict = verdict_of(stmt, env)
    if compiled.verdict and compiled.verdict[0] in ("jump", "goto"):
        env.targets.append(compiled.verdict[1])
    return True


def protocols_named(expr):
    """A quick look for ``udp dport`` and the like: the L4 protocols whose headers the rule's
    matches name (a frozenset, most often empty or of one)."""
    found = _NONE_NAMED
    for stmt in expr:
        body = stmt.get("match") if stmt.__class__ is dict else None
        left = body.get("left") if body.__class__ is dict else None
        pay = left.get("payload") if left.__class__ is dict else None
        if pay.__class__ is dict:
            proto = pay.get("protocol")
            if proto in _PORTED and proto not in found:
                found = _ONE_NAMED[proto] if not found else found | {proto}
    return found


def other_protocol(named, protocol):
    """Whether a rule naming these protocols' headers never matches a packet of this one."""
    return bool(named) and (len(named) > 1 or protocol not in named)


def compile_rule(rule, ruleset, family, protocol):
    """(Compiled or None, env) for one rule and one packet kind; None: it never matches.

    An expression that cannot be modelled is named in ``unknown`` when it is a match, and
    makes the verdict ``("unknown", name)`` when it is (or may be) what decides.  The env
    holds what the rule tests per run; env.by_protocol is False when the answer is the same
    for every L4 protocol (env is None for a rule on another protocol's header)."""
    named = protocols_named(rule.expr)
    if other_protocol(named, protocol):
        return None, None
    return compile_named(rule, ruleset, family, protocol, named)


def compile_named(rule, ruleset, family, protocol, named):
    """compile_rule() for a rule whose protocols_named() are known and allow this protocol."""
    env = _Env(ruleset, rule, family, protocol)
    env.by_protocol = bool(named)
    compiled = Compiled(rule)
    last = len(rule.expr) - 1
    for position, stmt in enumerate(rule.expr):
        kind = next(iter(stmt)) if isinstance(stmt, dict) and len(stmt) == 1 else None
        try:
            if kind is None:
                raise Unknown(f"statement {_name(stmt)}")
            if not _statement(stmt, compiled, env, position == last):
                return None, env
        except (Unknown, TypeError, ValueError, KeyError, AttributeError) as exc:
            name = str(exc) if isinstance(exc, Unknown) else f"malformed {kind} ({exc})"
            if kind in ("match", "quota", "xt"):
                compiled.unknown.append(name)
            else:
                compiled.verdict = ("unknown", name)
        if compiled.verdict is not None:
            break  # what follows a verdict never runs
    if compiled.saddr == () or compiled.ports == ():
        return None, env
    compiled.per_port = bool(env.dport_ranges)
    return compiled, env
