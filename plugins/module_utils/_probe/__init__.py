# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The probe from outside: what a connection to a host's own address finds on its ports.

scan.probe_host() is the one entry: TCP connects (tcp.py) and protocol-aware UDP requests
(udp.py) to one IP address the caller gives, paced and bounded by pace.py, returned as plain
data. Standard library only, Python 3.8+, so that a module can run it on a scanner host too.
"""
