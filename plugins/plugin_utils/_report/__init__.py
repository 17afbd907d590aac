# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reports, on the controller: one host's findings as lines and diffs (findings.py), the fleet's
document and its Markdown, HTML and JUnit views (fleet.py), and the encoding of host data for
each destination (encode.py)."""
