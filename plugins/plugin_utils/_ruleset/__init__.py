# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the kernel's netfilter ruleset admits to a listening socket, evaluated on the controller.

model.py reads ``nft -j list ruleset`` into tables, chains, rules and sets; legacy.py reads
``iptables-legacy-save`` into the same shape; compile.py turns rule expressions into predicates;
evaluate.py answers, per socket, who can open a new connection to it from outside.
"""
