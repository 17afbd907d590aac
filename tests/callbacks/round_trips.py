# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Callback for tests: counts, per host, the module executions on the host (round trips).

A module that ran on the host returns its invocation (ansible-core up to 2.20 always adds it,
2.21 with ANSIBLE_INJECT_INVOCATION=true);
set_fact, debug, assert and the collection's controller-only actions never do. Loops count every
item; tasks delegated to another host (the reports written on the controller) are not the
host's. Writes {"N: play name": {host: [[task name, action], ...]}} (N counts the plays from 1)
as JSON to the file named by PORTGUARD_ROUND_TRIPS when the run ends, and beside it, in the
same shape, every task result of each host (ok, failed, skipped, unreachable; includes too):
what a fleet pays for on the controller, one worker per result.
"""

import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: round_trips
    type: aggregate
    short_description: count module executions per host
    description: Test helper; see the module docstring.
    requirements: [enable in ansible.cfg or ANSIBLE_CALLBACKS_ENABLED]
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "round_trips"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self.trips = {}
        self.results = {}
        self.play = "0: before any play"

    def v2_playbook_on_play_start(self, play):
        self.play = f"{len(self.trips) + 1}: {play.get_name()}"
        self.trips[self.play] = {}
        self.results[self.play] = {}

    def _count(self, result):
        host = result._host.get_name()
        task = [result._task.get_name(), result._task.action]
        self.results.setdefault(self.play, {}).setdefault(host, []).append(task)
        if result._task.delegate_to:
            return
        data = result._result
        items = data.get("results") if isinstance(data.get("results"), list) else [data]
        for item in items:
            if isinstance(item, dict) and "invocation" in item:
                self.trips.setdefault(self.play, {}).setdefault(host, []).append(task)

    def v2_runner_on_ok(self, result):
        self._count(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._count(result)

    def v2_runner_on_skipped(self, result):
        # A module may run and answer "skipped" (command in check mode): that is a round trip.
        self._count(result)

    def v2_runner_on_unreachable(self, result):
        self._count(result)

    def v2_playbook_on_stats(self, stats):
        path = os.environ.get("PORTGUARD_ROUND_TRIPS")
        if path:
            with open(path, "w") as f:
                json.dump(self.trips, f, indent=1, sort_keys=True)
            with open(os.path.splitext(path)[0] + "_results.json", "w") as f:
                json.dump(self.results, f, indent=1, sort_keys=True)
