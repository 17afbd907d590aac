# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The firewalls of a host, judged on the controller from one read of the host.

kernel.py answers who reaches each socket from the netfilter ruleset the kernel holds;
detect.py names the firewalls the host runs and picks the one that closes ports (the
host's own firewalld, or the collection's nftables table beside anything else); zones.py
says through which firewalld zones a port is reachable, so that its rules go to each.
"""
