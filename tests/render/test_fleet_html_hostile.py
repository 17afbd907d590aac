# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""fleet.html with names a hostile host chose, opened in headless Chromium: text, never markup.

Every name, note and error below reaches the page from host data (process and unit names, the
host's own error text) or the inventory.  The page must run nothing, load nothing, grow no element
from them, and show each one as text.
"""

import os
import shutil
from pathlib import Path

import pytest
import support
from playwright.sync_api import sync_playwright
from test_fleet_html import CHROMIUM, CHROMIUM_ARGS

OUTPUT = Path(__file__).resolve().parents[2] / "tests" / "output" / "render-hostile"

MARKUP = [
    "<script>alert('unit')</script>.service",
    "<img src=x onerror=alert('img')>",
    '"><svg onload=alert("svg")>',
    "</td></tr></table><iframe src=//evil.invalid/></iframe>",
    "<a href=javascript:alert('a')>click</a>",
    "<style>body{display:none}</style>",
    "<link rel=stylesheet href=//evil.invalid/x.css>",
    "[a](//evil.invalid)",
    "&lt;b&gt;entity&lt;/b&gt;",
]
# What a terminal would act on: shown written out, as on every other output.
CONTROLS = {"\x1b]0;title\x07x.service": "\\x1b]0;title\\x07x.service", "\u202eecivres": "\\u202e"}
HOST = "<b onmouseover=alert('host')>web</b>"
ERROR = "<script>alert('error')</script> connection lost"


def hosts(benign=False):
    """The fleet; with benign, the same fleet with plain words in place of every hostile name."""
    names = MARKUP + list(CONTROLS)
    host, ghost, error = HOST, "<i>ghost</i>", ERROR
    if benign:
        names = ["name%d" % index for index in range(len(names))]
        host, ghost, error = "web", "ghost", "connection lost"
    findings = [
        support.finding(
            rule="builtin-admin",
            reason="reason" if benign else "<em>reason</em>",
            port=8000 + index,
            action="block",
            status="failed",
            unit=name,
            processes=[name],
            pids=[100 + index],
            note="note about " + name,
        )
        for index, name in enumerate(names)
    ]
    report = {
        "host": host,
        "check_mode": False,
        "firewall": "running",
        "nfs_in_use": False,
        "findings": findings,
        "allowed": [],
    }
    return {
        host: {"state": "failed", "error": error, "report": report},
        ghost: {"state": "unreachable", "report": None, "error": error},
    }


COUNT_ELEMENTS = """() => {
    const counts = {};
    for (const el of document.querySelectorAll('*')) {
        const tag = el.tagName.toLowerCase();
        counts[tag] = (counts[tag] || 0) + 1;
        for (const attr of el.getAttributeNames()) {
            if (attr.startsWith('on')) counts['@' + attr] = (counts['@' + attr] || 0) + 1;
        }
        const href = el.getAttribute('href') || el.getAttribute('src') || '';
        if (href && !href.startsWith('#')) counts['link to ' + href] = 1;
    }
    return counts;
}"""


def write(directory, fleet):
    run = {
        "playbook": "harden",
        "check_mode": False,
        "started": "2026-12-01T00:00:00Z",
        "policy": {"default_action": "report", "rules": []},
    }
    directory.mkdir(parents=True)
    result = support.run_fleet_report(
        {"dir": str(directory), "hosts": fleet, "run": run, "formats": ["html"]}
    )
    path = directory / "fleet.html"
    assert result["files"] == [str(path)]
    return path


@pytest.fixture(scope="module")
def page_seen(tmp_path_factory):
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} not found (scripts/bootstrap.sh --packages)", pytrace=False)
    shutil.rmtree(OUTPUT, ignore_errors=True)
    hostile = write(OUTPUT / "hostile", hosts())
    benign = write(OUTPUT / "benign", hosts(benign=True))
    dialogs, requests = [], []
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        page = context.new_page()
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.on("request", lambda request: requests.append(request.url))
        page.goto(hostile.as_uri())
        page.wait_for_load_state("load")
        # Hover every element, so that no handler waits for a person to move the mouse.
        for handle in page.query_selector_all("body *"):
            if handle.is_visible():
                handle.hover(timeout=2000, force=True)
        page.screenshot(path=str(OUTPUT / "fleet-hostile.png"), full_page=True)
        seen = {
            "dialogs": dialogs,
            "requests": requests,
            "text": page.inner_text("body"),
            "elements": page.evaluate(COUNT_ELEMENTS),
            "body_shown": page.evaluate("() => getComputedStyle(document.body).display"),
        }
        page.goto(benign.as_uri())
        seen["benign_elements"] = page.evaluate(COUNT_ELEMENTS)
        context.close()
    return seen


def test_no_script_runs(page_seen):
    assert page_seen["dialogs"] == []


def test_nothing_is_loaded_but_the_page(page_seen):
    assert [url for url in page_seen["requests"] if not url.startswith("file://")] == []


def test_no_element_grows_from_host_data(page_seen):
    # The same page as for plain names: every element, handler attribute and link.
    assert page_seen["elements"] == page_seen["benign_elements"]
    assert not [key for key in page_seen["elements"] if key.startswith("@")]
    assert not [key for key in page_seen["elements"] if key.startswith("link to ")]
    assert page_seen["elements"].get("script", 0) == 0
    assert page_seen["body_shown"] != "none"


@pytest.mark.parametrize("name", MARKUP + [HOST, ERROR, "<i>ghost</i>"])
def test_markup_is_shown_as_text(page_seen, name):
    assert name in page_seen["text"]


@pytest.mark.parametrize("raw, shown", sorted(CONTROLS.items()))
def test_controls_are_written_out(page_seen, raw, shown):
    assert raw not in page_seen["text"]
    assert shown in page_seen["text"]
