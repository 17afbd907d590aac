# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""terminal_safe: host text fit for a terminal; the work is in plugin_utils/_report/encode.py.

Documentation: terminal_safe.yml next to this file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test boilerplate

from ansible_collections.portguard.hardening.plugins.plugin_utils._report.encode import (
    terminal_safe,
)


class FilterModule:
    """portguard.hardening terminal_safe filter."""

    def filters(self):
        return {"terminal_safe": terminal_safe}
