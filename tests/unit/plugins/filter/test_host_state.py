# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host_state filters: names and wiring to module_utils."""

import pytest
from ansible_collections.portguard.hardening.plugins.filter.exposed_ports import (
    FilterModule as PolicyFilters,
)
from ansible_collections.portguard.hardening.plugins.filter.host_state import FilterModule
from ansible_collections.portguard.hardening.plugins.module_utils import _report

FILTERS = FilterModule().filters()


@pytest.mark.parametrize(
    "name,function",
    [
        ("exposed_ports_summary", _report.summarize),
        ("exposed_ports_lines", _report.finding_lines),
        ("exposed_ports_unremediated", _report.unremediated),
    ],
)
def test_filters_wired_directly(name, function):
    assert FILTERS[name] is function


def test_filter_names():
    assert sorted(FILTERS) == [
        "exposed_ports_lines",
        "exposed_ports_summary",
        "exposed_ports_unremediated",
    ]
    # Both files are loaded into one namespace: a shared name would shadow a filter.
    assert set(FILTERS) & set(PolicyFilters().filters()) == set()
