# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the kernel's netfilter ruleset admits to a listening socket, evaluated on the controller.

model.py reads ``nft -j list ruleset`` into tables, chains, rules and sets; iptables.py reads
``iptables-legacy-save`` into the same shape and explains iptables-nft's extensions from
``iptables-nft-save``; compile.py turns rule expressions into tests on a packet (quick.py the
common ones, in one pass); walk.py walks the input hook; evaluate.py answers, per socket, who
can open a new connection from outside; text.py writes a rule as nft does, for reasons.
"""
