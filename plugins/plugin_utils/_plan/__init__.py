# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan of one host, on the controller: one host read in, findings and operations out.

host.py turns the host read (portguard.hardening.exposed_ports_read) into what the policy
reads; build.py judges the sockets and lists the operations of the backend that closes ports;
verify.py reconciles the findings with a read taken after the operations ran.
"""
