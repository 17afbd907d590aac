# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""fleet.html as a person sees it: rendered by headless Chromium and read back from screenshots.

The fleet_report action writes fleet.html for a harden run over six hosts; the page is shown at
two widths and each full-page screenshot is kept in tests/output/render/.  Colours are read from
the screenshot's pixels inside each matrix cell's box and compared with the palette in the page's
own stylesheet (_fleet._CSS).
"""

import math
import os
import re
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
import support
from ansible_collections.portguard.hardening.plugins.plugin_utils._policy import builtin_rules
from ansible_collections.portguard.hardening.plugins.plugin_utils._report import fleet as _fleet
from PIL import Image
from playwright.sync_api import sync_playwright

REPO_ROOT = Path(__file__).resolve().parents[2]
OUTPUT = REPO_ROOT / "tests" / "output" / "render"
CHROMIUM = "/usr/bin/chromium"
# Without the networking switches Chromium waits on services this closed network does not have.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WIDTHS = (1400, 1000)
HEIGHT = 900
# Largest difference per RGB channel still taken as the same colour.
TOLERANCE = 2

RULES = dict((rule["id"], (rule["action"], rule["reason"])) for rule in builtin_rules())
RULES.update(
    {
        "legacy-ssh": (
            "block",
            "The second SSH port was for the data centre move; logins go through port 22 now.",
        ),
        "metrics": (
            "report",
            "node_exporter lists every process and mount point; scrape it over the VPN only.",
        ),
        "memcached-lan": ("restrict", "memcached serves the application hosts and no one else."),
    }
)
RUN = {
    "playbook": "harden",
    "check_mode": False,
    "started": "2025-03-04T09:30:00Z",
    "policy": {"default_action": "report", "rules": ["legacy-ssh", "metrics", "memcached-lan"]},
}
V6 = {"family": "ipv6", "address": "::"}
RPCBIND = {
    "unit": "rpcbind.service",
    "processes": ["systemd", "rpcbind"],
    "pids": [1, 412],
    "activated_by": ["rpcbind.socket"],
}
SSHD = {"unit": "ssh.service", "processes": ["sshd"], "pids": [655], "action": "report"}
NODE_EXPORTER = {
    "unit": "prometheus-node-exporter.service",
    "processes": ["prometheus-node-exporter"],
    "pids": [702],
}
MEMCACHED = {
    "unit": "memcached.service",
    "processes": ["memcached"],
    "pids": [530],
    "sources": ["10.0.0.0/8"],
}
KEPT_NOTE = "serves the connection Ansible is using (ssh.service)"
ADMIN_NOTE = "8080/tcp is still admitted from everyone: firewalld is stopped"
MEMCACHED_NOTE = "11211/tcp is also admitted from 2001:db8::/32 (allowed: 10.0.0.0/8)"
ERRORS = {
    "app1.prod.example.net": "tcp/8080 on 0.0.0.0: " + ADMIN_NOTE,
    "db1.prod.example.net": "Failed to connect to the host via ssh: ssh: connect to host "
    "db1.prod.example.net port 22: Connection timed out",
    "mail1.prod.example.net": "Task failed: Missing sudo password",
}

# What each matrix row must show, by column; a column not named shows "none" (not exposed).
EXPECTED = {
    "app1.prod.example.net": {
        "111/tcp": "remediated",
        "2222/tcp": "kept",
        "8080/tcp": "failed",
        "9100/tcp": "open",
        # One socket restricted, the other still admitted too widely: the worst wins.
        "11211/tcp": "failed",
    },
    "app2.prod.example.net": {
        "111/tcp": "remediated",
        "6379/tcp": "remediated",
        "9100/tcp": "open",
        "11211/tcp": "remediated",
    },
    "db2.prod.example.net": {
        "2222/tcp": "kept",
        "3306/tcp": "remediated",
        "5432/tcp": "remediated",
        "9100/tcp": "open",
        "27017/tcp": "remediated",
    },
    "web1.prod.example.net": {},
}
# Hosts without a report get one row with their error instead of cells.
NOT_REPORTED = {"db1.prod.example.net": "unreachable", "mail1.prod.example.net": "failed"}


def finding(rule, port, status, **changes):
    """A finding as the role reports it after a harden run."""
    action, reason = RULES[rule]
    fields = dict(rule=rule, reason=reason, port=port, action=action, status=status)
    fields.update(changes)
    return support.finding(**fields)


def report(host, findings, allowed=(), firewall="running"):
    return {
        "host": host,
        "check_mode": False,
        "firewall": firewall,
        "nfs_in_use": False,
        "findings": list(findings),
        "allowed": list(allowed),
    }


def web_allowed(port, family="ipv4", address="0.0.0.0"):
    return {"rule": "web", "protocol": "tcp", "family": family, "address": address, "port": port}


def hosts():
    """A harden run: app1 failed remediation, db1 was not reached, mail1 failed early."""
    app1 = [
        finding("builtin-rpcbind", 111, "remediated", **RPCBIND),
        finding("builtin-rpcbind", 111, "remediated", **RPCBIND, **V6),
        finding("legacy-ssh", 2222, "kept", note=KEPT_NOTE, **SSHD),
        finding(
            "builtin-admin",
            8080,
            "failed",
            unit="lab-admin.service",
            processes=["python3"],
            pids=[811],
            note=ADMIN_NOTE,
        ),
        finding("metrics", 9100, "open", **NODE_EXPORTER, **V6),
        finding("memcached-lan", 11211, "remediated", **MEMCACHED),
        finding("memcached-lan", 11211, "failed", note=MEMCACHED_NOTE, **MEMCACHED, **V6),
    ]
    app2 = [
        finding("builtin-rpcbind", 111, "remediated", **RPCBIND),
        finding("builtin-rpcbind", 111, "remediated", **RPCBIND, **V6),
        finding("builtin-redis", 6379, "remediated", unit="redis-server.service"),
        finding("metrics", 9100, "open", **NODE_EXPORTER),
        finding("memcached-lan", 11211, "remediated", **MEMCACHED),
    ]
    db2 = [
        finding("legacy-ssh", 2222, "kept", note=KEPT_NOTE, **SSHD),
        finding("builtin-mysql", 3306, "remediated", unit="mariadb.service"),
        finding("builtin-postgresql", 5432, "remediated", unit="postgresql@15-main.service"),
        finding("metrics", 9100, "open", **NODE_EXPORTER),
        finding(
            "builtin-mongodb", 27017, "remediated", unit="mongod.service", processes=["mongod"]
        ),
    ]
    web1 = [web_allowed(80), web_allowed(80, **V6), web_allowed(443), web_allowed(443, **V6)]
    return {
        "app1.prod.example.net": {
            "state": "failed",
            "error": ERRORS["app1.prod.example.net"],
            "report": report("app1.prod.example.net", app1, firewall="stopped"),
        },
        "app2.prod.example.net": {"state": "ok", "report": report("app2.prod.example.net", app2)},
        "db1.prod.example.net": {
            "state": "unreachable",
            "report": None,
            "error": ERRORS["db1.prod.example.net"],
        },
        "db2.prod.example.net": {"state": "ok", "report": report("db2.prod.example.net", db2)},
        "mail1.prod.example.net": {
            "state": "failed",
            "report": None,
            "error": ERRORS["mail1.prod.example.net"],
        },
        "web1.prod.example.net": {
            "state": "ok",
            "report": report("web1.prod.example.net", [], web1),
        },
    }


def write_fleet_html(directory):
    """fleet.html written by the fleet_report action, as the playbooks write it."""
    args = {"dir": str(directory), "hosts": hosts(), "run": RUN, "formats": ["html"]}
    result = support.run_fleet_report(args)
    path = directory / "fleet.html"
    assert result["files"] == [str(path)]
    return path


# ---------------------------------------------------------------------------
# The stylesheet's colours


def css_rules(css):
    """{selector: {property: value}} of a flat stylesheet, var(--x) replaced by :root's --x."""
    rules = {}
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    for selectors, body in re.findall(r"([^{}]+)\{([^}]*)\}", css):
        declarations = {}
        for declaration in body.split(";"):
            name, _colon, value = declaration.partition(":")
            if value.strip():
                declarations[name.strip()] = " ".join(value.split())
        for selector in selectors.split(","):
            rules.setdefault(" ".join(selector.split()), {}).update(declarations)
    root = rules[":root"]
    for declarations in rules.values():
        for name, value in declarations.items():
            declarations[name] = re.sub(r"var\((--[\w-]+)\)", lambda m: root[m.group(1)], value)
    return rules


def rgb(value):
    """(r, g, b) of a #rgb or #rrggbb colour."""
    digits = value.lstrip("#")
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    assert re.fullmatch("[0-9a-fA-F]{6}", digits), "not a #rrggbb colour: " + value
    return tuple(int(digits[i : i + 2], 16) for i in (0, 2, 4))


CSS = css_rules(_fleet._CSS)
# A cell's colour is its status's colour in the palette, whatever selector paints it.
PALETTE = dict((status, rgb(CSS[":root"]["--" + status])) for status in _fleet.SEVERITY)
PALETTE["none"] = rgb(CSS[":root"]["--none"])
DOWN_ROW = rgb(CSS["tr.down td"]["background"])
HOST_HEADER = rgb(CSS[".matrix tbody th"]["background"])


def same(colour, expected):
    return max(abs(a - b) for a, b in zip(colour, expected)) <= TOLERANCE


def distance(one, other):
    return math.sqrt(sum((a - b) ** 2 for a, b in zip(one, other)))


def name_of(colour):
    """The palette name of a colour, or #rrggbb when it is none of them."""
    for name, expected in PALETTE.items():
        if same(colour, expected):
            return name
    return "#%02x%02x%02x" % colour


# ---------------------------------------------------------------------------
# Rendering

LAYOUT_JS = """
() => {
  const box = el => {
    const r = el.getBoundingClientRect();
    return {x: r.left + window.scrollX, y: r.top + window.scrollY, w: r.width, h: r.height};
  };
  const table = document.querySelector('table.matrix');
  const scroller = table.closest('.scroll');
  return {
    width: window.innerWidth,
    scrollWidth: document.documentElement.scrollWidth,
    scroller: {
      box: box(scroller),
      clientWidth: scroller.clientWidth,
      scrollLeft: scroller.scrollLeft,
      scrollWidth: scroller.scrollWidth,
    },
    columns: [...table.tHead.rows[0].cells].map(th => th.firstChild.textContent.trim()),
    rows: [...table.tBodies[0].rows].map(tr => {
      const badge = tr.querySelector('.state');
      return {
        host: tr.dataset.host,
        state: tr.dataset.state,
        down: tr.classList.contains('down'),
        cells: [...tr.cells].map(c => ({box: box(c), text: c.innerText})),
        badge: badge && {box: box(badge), text: badge.innerText},
      };
    }),
    boxes: [...document.querySelectorAll('.scroll')].map(el => ({
      table: el.firstElementChild.className,
      box: box(el),
      clientWidth: el.clientWidth,
      scrollWidth: el.scrollWidth,
      overflowX: getComputedStyle(el).overflowX,
    })),
    legend: [...document.querySelectorAll('.legend i')].map(i => ({cls: i.className, box: box(i)})),
  };
}
"""
SCROLL_JS = "x => { document.querySelector('table.matrix').closest('.scroll').scrollLeft = x; }"


def dominant(image, box, left=None, right=None):
    """The most frequent colour in box less its 1px border, cut to left..right when given."""
    x0 = math.ceil(max(box["x"], left if left is not None else box["x"])) + 1
    x1 = math.floor(min(box["x"] + box["w"], right if right is not None else math.inf)) - 1
    y0 = math.ceil(box["y"]) + 1
    y1 = math.floor(box["y"] + box["h"]) - 1
    assert x1 - x0 >= 4 and y1 - y0 >= 4, f"box {box} is too small to read a colour from"
    region = image.crop((x0, y0, x1, y1))
    _count, colour = max(region.getcolors(region.width * region.height))
    return colour


def row_cells(layout, row):
    """[(column, cell)] of a matrix row: the host header, then a cell per column or the error."""
    if row["down"]:
        return list(zip(("host", "error"), row["cells"]))
    assert len(row["cells"]) == len(layout["columns"]), row["host"]
    return list(zip(layout["columns"], row["cells"]))


def matrix_colours(page, width):
    """{(host, column): colour} for every matrix cell, read from full-page screenshots.

    When the matrix is wider than its scrolling box, it is scrolled in half-box steps and shot
    again, so that every cell is whole and uncovered in one screenshot; a cell wider than what
    shows of it (an error row) is read where it shows.  Also [(layout, image)] of every shot.
    """
    colours = {}
    layout = page.evaluate(LAYOUT_JS)
    scroller = layout["scroller"]
    end = scroller["scrollWidth"] - scroller["clientWidth"]
    step = max(scroller["clientWidth"] // 2, 1)
    shots = []
    for offset in sorted(set(list(range(0, end, step)) + [max(end, 0)])):
        page.evaluate(SCROLL_JS, offset)
        layout = page.evaluate(LAYOUT_JS)
        name = (
            "fleet-%d.png" % width if offset == 0 else "fleet-%d-matrix-at-%d.png" % (width, offset)
        )
        page.screenshot(path=str(OUTPUT / name), full_page=True)
        image = Image.open(OUTPUT / name).convert("RGB")
        shots.append((layout, image))
        left, right = visible_span(layout)
        for row in layout["rows"]:
            cells = row_cells(layout, row)
            header = cells[0][1]["box"]
            for column, cell in cells:
                box = cell["box"]
                # Cells to the right of the host column show only where it does not cover them.
                start = left if column == "host" else max(left, header["x"] + header["w"])
                whole = box["x"] >= start - 0.5 and box["x"] + box["w"] <= right + 0.5
                if (row["host"], column) in colours or not (whole or box["w"] > right - start):
                    continue
                colours[(row["host"], column)] = dominant(image, box, start, right)
    page.evaluate(SCROLL_JS, 0)
    return colours, shots


def visible_span(layout):
    """(left, right) page x of the part of the matrix that its scrolling box shows."""
    left = layout["scroller"]["box"]["x"]
    return left, left + layout["scroller"]["clientWidth"]


@pytest.fixture(scope="module")
def fleet_html():
    shutil.rmtree(OUTPUT, ignore_errors=True)
    OUTPUT.mkdir(parents=True)
    return write_fleet_html(OUTPUT)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"{CHROMIUM} not found: the render tests need Debian's chromium package, "
            "which scripts/bootstrap.sh (make setup) installs",
            pytrace=False,
        )
    # A fresh, empty profile: nothing from an earlier run or a person's browser.
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            device_scale_factor=1,
            timeout=60_000,
        )
        yield context
        context.close()


@pytest.fixture(scope="module", params=WIDTHS, ids=lambda width: "%dpx" % width)
def rendered(request, browser, fleet_html):
    """fleet.html at one viewport width: its layout, screenshots, cell colours and text."""
    width = request.param
    page = browser.new_page()
    page.set_viewport_size({"width": width, "height": HEIGHT})
    page.goto(fleet_html.as_uri())
    colours, shots = matrix_colours(page, width)
    layout, image = shots[0]
    yield SimpleNamespace(
        width=width,
        layout=layout,
        image=image,
        colours=colours,
        shots=shots,
        rows=dict((row["host"], row) for row in layout["rows"]),
        text=" ".join(page.inner_text("body").split()),
    )
    page.close()


# ---------------------------------------------------------------------------
# The document under test and the palette


def test_the_fleet_has_every_status_and_host_state():
    fleet = hosts()
    assert sorted(list(EXPECTED) + list(NOT_REPORTED)) == sorted(fleet)
    assert set(s for row in EXPECTED.values() for s in row.values()) == set(_fleet.SEVERITY)
    assert set(NOT_REPORTED.values()) == set(_fleet.HOST_STATES) - {"ok"}
    # A failed host with a report keeps its cells: app1 failed remediation.
    assert fleet["app1.prod.example.net"]["state"] == "failed"
    for host, row in EXPECTED.items():
        findings = (fleet[host]["report"] or {}).get("findings", [])
        assert set(row) == set("%d/%s" % (f["port"], f["protocol"]) for f in findings), host


def test_palette_colours_are_told_apart():
    names = sorted(PALETTE)
    close = [
        (one, other, round(distance(PALETTE[one], PALETTE[other])))
        for i, one in enumerate(names)
        for other in names[i + 1 :]
        if distance(PALETTE[one], PALETTE[other]) < 60
    ]
    assert close == []


# ---------------------------------------------------------------------------
# The screenshots


@pytest.mark.parametrize("host", sorted(EXPECTED))
def test_matrix_cells_show_their_status_colour(rendered, host):
    row = rendered.rows[host]
    columns = rendered.layout["columns"][1:-1]
    expected = dict((column, EXPECTED[host].get(column, "none")) for column in columns)
    shown = dict((column, name_of(rendered.colours[(host, column)])) for column in columns)
    assert shown == expected
    words = dict(
        (column, cell["text"].split("\n")[0].lower())
        for column, cell in row_cells(rendered.layout, row)
        if column in EXPECTED[host]
    )
    assert words == EXPECTED[host]


def test_matrix_layout_matches_the_fleet(rendered):
    layout = rendered.layout
    ports = sorted(
        set(c for row in EXPECTED.values() for c in row), key=lambda c: int(c.split("/")[0])
    )
    assert layout["columns"] == ["host"] + ports + ["allowed"]
    assert [row["host"] for row in layout["rows"]] == sorted(hosts())
    # Every cell was read from a screenshot, scrolled into view where the matrix scrolls.
    cells = set(
        (row["host"], column) for row in layout["rows"] for column, _cell in row_cells(layout, row)
    )
    assert set(rendered.colours) == cells


def test_host_names_stay_in_view_when_the_matrix_scrolls(rendered):
    hidden = []
    for layout, image in rendered.shots:
        left, right = visible_span(layout)
        for row in layout["rows"]:
            box = row["cells"][0]["box"]
            shown = box["x"] >= left - 0.5 and box["x"] + box["w"] <= right + 0.5
            colour = dominant(image, box)
            if not shown or not (same(colour, HOST_HEADER) or same(colour, DOWN_ROW)):
                hidden.append((layout["scroller"]["scrollLeft"], row["host"], name_of(colour)))
    assert hidden == []


@pytest.mark.parametrize("host", sorted(hosts()))
def test_hosts_not_ok_are_marked(rendered, host):
    row = rendered.rows[host]
    state = hosts()[host]["state"]
    assert row["state"] == state
    if state == "ok":
        assert row["badge"] is None
        assert same(rendered.colours[(host, "host")], HOST_HEADER)
        return
    # A badge naming the state beside the host name, in a colour a white header does not have.
    badge = dominant(rendered.image, row["badge"]["box"])
    assert row["badge"]["text"] == state
    assert same(badge, rgb(CSS[".state." + state]["background"]))
    assert distance(badge, HOST_HEADER) > 60
    if host in NOT_REPORTED:
        # The whole row greyed, and the error in it instead of cells.
        assert row["down"]
        assert same(rendered.colours[(host, "host")], DOWN_ROW)
        assert same(rendered.colours[(host, "error")], DOWN_ROW)
        assert row["cells"][1]["text"] == ERRORS[host]
        assert distance(DOWN_ROW, HOST_HEADER) > 20


def test_legend_shows_the_palette(rendered):
    shown = {}
    for swatch in rendered.layout["legend"]:
        status = swatch["cls"].replace("s-", "").replace("c-", "")
        shown[status] = name_of(dominant(rendered.image, swatch["box"]))
    expected = dict((name, name) for name in list(_fleet.SEVERITY) + ["none"])
    expected["down"] = "#%02x%02x%02x" % DOWN_ROW
    assert shown == expected


def test_page_does_not_overflow_sideways(rendered):
    layout = rendered.layout
    assert rendered.image.width == rendered.width
    assert layout["scrollWidth"] <= layout["width"]
    # What is wider than the page (the matrix, a host's details) scrolls inside its own box.
    for scroller in layout["boxes"]:
        assert scroller["box"]["x"] + scroller["box"]["w"] <= layout["width"]
        if scroller["scrollWidth"] > scroller["clientWidth"]:
            assert scroller["overflowX"] in ("auto", "scroll")


def test_host_details_fit_the_page(rendered):
    """Each host's findings table needs no sideways scrolling, so every rule and note is in view."""
    details = [b for b in rendered.layout["boxes"] if b["table"] == "details"]
    reported = [host["report"] for host in hosts().values() if host["report"]]
    assert len(details) == sum(1 for report in reported if report["findings"])
    for scroller in details:
        assert scroller["scrollWidth"] <= scroller["clientWidth"]


def test_text_a_person_acts_on_is_on_the_page(rendered):
    fleet = hosts()
    findings = [f for host in fleet.values() for f in (host["report"] or {}).get("findings", [])]
    wanted = set(fleet)
    wanted.update(f["rule"] for f in findings)
    wanted.update(" ".join(f["reason"].split()) for f in findings)
    wanted.update(f["note"] for f in findings if f["note"])
    wanted.update(f["unit"] for f in findings if f["unit"])
    wanted.update(ERRORS.values())
    missing = sorted(text for text in wanted if text not in rendered.text)
    assert missing == []
