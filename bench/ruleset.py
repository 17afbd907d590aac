"""Ruleset benchmark: reading and evaluating a 2,000-rule ruleset for 4,000 sockets.

Builds, in the shape ``nft -j list ruleset`` prints, what a busy ufw host holds (ufw's chains as
iptables-nft loads them, for IPv4 and IPv6, with ~1,800 per-port rules: single ports, port
sets, ranges, source-restricted rules) plus an inet table with a 1,000-address ban set and a
port verdict map; and 4,000 listening sockets (TCP and UDP, IPv4, IPv6-only and dual-stack,
wildcard and bound), half on ports that have a rule. Times, from the JSON text to the last
answer: parsing, then evaluate_sockets() over every socket (nothing cached between repeats;
what a repeat leaves is freed before the next one starts its clock). As an anchor, the same
run times json.loads() of the same text: the floor for any reader of it (with the garbage
collector paused, as parse_ruleset() reads it). Prints, as a table, the median and fastest
of the repeats in wall and CPU time, and the answers' tally.

    python bench/ruleset.py [--rules 2000] [--sockets 4000] [--repeat 7]
"""

import argparse
import collections
import functools
import gc
import json
import os
import random
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
# conftest makes the checkout importable as the collection.
import conftest  # noqa: E402,F401  # pylint: disable=unused-import
from ansible_collections.portguard.hardening.plugins.plugin_utils._ruleset.evaluate import (  # noqa: E402
    evaluate_sockets,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._ruleset.model import (  # noqa: E402
    parse_ruleset,
    paused_gc,
)

HOST = {
    "lo": ["127.0.0.1/8", "::1/128"],
    "eth0": ["192.0.2.10/24", "2001:db8::10/64", "fe80::10/64"],
    "eth1": ["10.1.0.10/24"],
}


def m(left, right, op="=="):
    return {"match": {"op": op, "left": left, "right": right}}


def pl(proto, field):
    return {"payload": {"protocol": proto, "field": field}}


ACCEPT, DROP, RETURN = {"accept": None}, {"drop": None}, {"return": None}
COUNTER = {"counter": {"packets": 0, "bytes": 0}}


class Builder:
    def __init__(self):
        self.items, self.handle, self.rules = [], 0, 0

    def add(self, kind, **body):
        self.handle += 1
        body["handle"] = self.handle
        self.items.append({kind: body})

    def rule(self, family, table, chain, *expr):
        self.rules += 1
        self.add("rule", family=family, table=table, chain=chain, expr=list(expr))


def ufw_tables(b, family, user_rules, rng, ports, used):
    ip = "ip" if family == "ip" else "ip6"
    t = "filter"
    b.add("table", family=family, name=t)
    b.add("chain", family=family, table=t, name="INPUT", type="filter", hook="input", prio=0,
          policy="drop")  # fmt: skip
    subs = ["ufw-before-logging-input", "ufw-before-input", "ufw-after-input",
            "ufw-after-logging-input", "ufw-reject-input", "ufw-track-input", "ufw-not-local",
            "ufw-user-input", "ufw-user-limit", "ufw-user-limit-accept"]  # fmt: skip
    for name in subs:
        b.add("chain", family=family, table=t, name=name)
    for name in subs[:6]:
        b.rule(family, t, "INPUT", COUNTER, {"jump": {"target": name}})
    r = functools.partial(b.rule, family, t, "ufw-before-input")
    r(m({"meta": {"key": "iifname"}}, "lo"), COUNTER, ACCEPT)
    r(m({"ct": {"key": "state"}}, ["related", "established"], "in"), COUNTER, ACCEPT)
    r(m({"ct": {"key": "state"}}, "invalid", "in"), COUNTER, DROP)
    icmp = "icmp" if family == "ip" else "icmpv6"
    for kind in ("destination-unreachable", "time-exceeded", "parameter-problem", "echo-request"):
        r(m(pl(icmp, "type"), kind), COUNTER, ACCEPT)
    r(m(pl("udp", "sport"), 67 if family == "ip" else 547),
      m(pl("udp", "dport"), 68 if family == "ip" else 546), COUNTER, ACCEPT)  # fmt: skip
    r(COUNTER, {"jump": {"target": "ufw-not-local"}})
    r(m(pl(ip, "daddr"), "224.0.0.251" if family == "ip" else "ff02::fb"),
      m(pl("udp", "dport"), 5353), COUNTER, ACCEPT)  # fmt: skip
    r(COUNTER, {"jump": {"target": "ufw-user-input"}})
    n = functools.partial(b.rule, family, t, "ufw-not-local")
    for kind in ("local", "multicast", "broadcast"):
        n(m({"fib": {"flags": ["daddr"], "result": "type"}}, kind), COUNTER, RETURN)
    n(COUNTER, {"limit": {"rate": 3, "per": "minute", "burst": 10}}, {"log": {"prefix": "[UFW]"}})
    n(COUNTER, DROP)
    a = functools.partial(b.rule, family, t, "ufw-after-input")
    for port in (137, 138):
        a(m(pl("udp", "dport"), port), COUNTER, {"jump": {"target": "ufw-skip-to-policy-input"}})
    b.add("chain", family=family, table=t, name="ufw-skip-to-policy-input")
    b.rule(family, t, "ufw-skip-to-policy-input", COUNTER, DROP)
    for port in (139, 445):
        a(m(pl("tcp", "dport"), port), COUNTER, {"jump": {"target": "ufw-skip-to-policy-input"}})
    b.rule(family, t, "ufw-after-logging-input", {"limit": {"rate": 3, "per": "minute"}},
           COUNTER, {"log": {"prefix": "[UFW BLOCK] "}})  # fmt: skip
    b.rule(family, t, "ufw-user-limit", {"limit": {"rate": 3, "per": "minute"}}, COUNTER,
           {"log": {"prefix": "[UFW LIMIT BLOCK] "}})  # fmt: skip
    b.rule(family, t, "ufw-user-limit", COUNTER, {"reject": None})
    b.rule(family, t, "ufw-user-limit-accept", COUNTER, ACCEPT)
    for i in range(user_rules):
        proto = "udp" if i % 4 == 3 else "tcp"
        kind = i % 20
        if kind == 0:
            right = {"set": [ports.pop(), ports.pop(), ports.pop()]}
            used.extend((proto, p) for p in right["set"])
        elif kind == 1:
            low = rng.randrange(20000, 60000)
            right = {"range": [low, low + 9]}
            used.append((proto, low + 5))
        else:
            right = ports.pop()
            used.append((proto, right))
        expr = [m(pl(proto, "dport"), right)]
        if kind == 2:
            net = f"10.{i % 250}.{i // 250}.0" if family == "ip" else f"2001:db8:{i:x}::"
            expr.insert(
                0,
                m(pl(ip, "saddr"), {"prefix": {"addr": net, "len": 24 if family == "ip" else 48}}),
            )
        b.rule(family, t, "ufw-user-input", *expr, COUNTER, ACCEPT)


def build(total_rules, rng):
    b = Builder()
    b.add("metainfo", version="1.0.6", release_name="Lester Gooch #5", json_schema_version=1)
    ports = list(range(1024, 20000))
    rng.shuffle(ports)
    rule_ports, used = ports[:3000], []
    base = 64  # rules outside ufw-user-input, both families and the inet table
    user = total_rules - base
    ufw_tables(b, "ip", user * 3 // 4, rng, rule_ports, used)
    ufw_tables(b, "ip6", user - user * 3 // 4, rng, rule_ports, used)
    b.add("table", family="inet", name="guard")
    banned = [f"203.0.{i // 250}.{i % 250}" for i in range(1000)]
    b.add("set", family="inet", table="guard", name="banned", type="ipv4_addr", flags=["interval"],
          elem=banned)  # fmt: skip
    b.add("chain", family="inet", table="guard", name="input", type="filter", hook="input",
          prio=-10, policy="accept")  # fmt: skip
    b.rule("inet", "guard", "input", m(pl("ip", "saddr"), "@banned"), COUNTER, DROP)
    b.rule("inet", "guard", "input", {"vmap": {"key": pl("tcp", "dport"), "data": {"set": [
        [23, DROP], [2323, DROP], [5555, {"reject": None}]]}}})  # fmt: skip
    return b, used, ports[3000:]


def sockets(count, with_rule, without, rng):
    """Half on a port and protocol that has a rule, half on ports without one."""
    out = []
    for i in range(count):
        if i % 2:
            protocol, port = with_rule[i // 2 % len(with_rule)]
        else:
            protocol, port = ("udp" if i % 4 == 2 else "tcp"), without[i // 2]
        shape = i % 5
        if shape == 0:
            out.append(dict(protocol=protocol, family="ipv4", address="0.0.0.0", port=port))
        elif shape == 1:
            out.append(dict(protocol=protocol, family="ipv6", address="::", port=port,
                            v6only=False))  # fmt: skip
        elif shape == 2:
            out.append(dict(protocol=protocol, family="ipv6", address="::", port=port,
                            v6only=True))  # fmt: skip
        elif shape == 3:
            out.append(dict(protocol=protocol, family="ipv4", address="10.1.0.10", port=port))
        else:
            out.append(dict(protocol=protocol, family="ipv4", address="127.0.0.1", port=port))
    rng.shuffle(out)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=2000)
    parser.add_argument("--sockets", type=int, default=4000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(14)
    builder, with_rule, without = build(args.rules, rng)
    text = json.dumps({"nftables": builder.items})
    socks = sockets(args.sockets, with_rule, without, rng)
    rows = {name: ([], []) for name in ("json.loads", "parse_ruleset", "parse + evaluate")}
    answers = None
    for _round in range(args.repeat):
        answers = ruleset = None
        gc.collect()  # the last repeat's answers go before the clock starts
        with paused_gc():
            cpu, start = time.process_time(), time.perf_counter()
            json.loads(text)
            _record(rows["json.loads"], start, cpu)
        gc.collect()
        cpu, start = time.process_time(), time.perf_counter()
        ruleset = parse_ruleset(text)
        _record(rows["parse_ruleset"], start, cpu)
        answers = evaluate_sockets(ruleset, socks, HOST)
        _record(rows["parse + evaluate"], start, cpu)
    tally = collections.Counter(a["exposure"] for a in answers)
    print(f"ruleset: {builder.rules} rules, {len(text) / 1e6:.1f} MB of JSON; {len(socks)} sockets")
    print(f"answers: {dict(sorted(tally.items()))}")
    print(f"{args.repeat} repeats; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print()
    print("| ms | wall, median | wall, fastest | CPU, median | CPU, fastest |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, (walls, cpus) in rows.items():
        figures = [statistics.median(walls), min(walls), statistics.median(cpus), min(cpus)]
        print(f"| {name} | " + " | ".join(f"{f * 1e3:.1f}" for f in figures) + " |")


def _record(row, start, cpu):
    row[0].append(time.perf_counter() - start)
    row[1].append(time.process_time() - cpu)


if __name__ == "__main__":
    main()
