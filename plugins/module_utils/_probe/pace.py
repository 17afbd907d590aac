# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pacing shared by the TCP and UDP probes: one rate of attempts per second for both, and room
for the sockets they hold open at once under the process's descriptor limit."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test boilerplate

import asyncio
import os

try:
    import resource
except ImportError:  # not a Unix: the limit cannot be read or raised
    resource = None

# Descriptors kept free for everything else the process does while it probes.
FD_MARGIN = 64
# The longest burst the rate allows, in seconds of the rate.
BURST_SECONDS = 0.02


class Pacer:
    """A token bucket of attempts (TCP connects and UDP datagrams): ``rate`` per second,
    0 for no limit. ``clock`` is the loop's time()."""

    def __init__(self, rate, clock):
        self.rate = float(rate)
        self.clock = clock
        self.burst = max(1.0, self.rate * BURST_SECONDS)
        self.tokens = self.burst
        self.last = clock()

    def take(self):
        """True and one attempt counted when the rate allows one now."""
        if not self.rate:
            return True
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    def wait_time(self):
        """Seconds until take() can succeed."""
        if not self.rate or self.tokens >= 1.0:
            return 0.0
        return (1.0 - self.tokens) / self.rate

    async def wait(self):
        """Until one attempt is allowed, then count it."""
        while not self.take():
            await asyncio.sleep(self.wait_time())


def open_descriptors():
    """How many descriptors the process has open now (a guess where /proc is missing)."""
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return FD_MARGIN


def socket_room(wanted, limits=None, raise_to=None, in_use=None):
    """How many sockets may be open at once, at most ``wanted``, and a note when fewer.

    Raises the soft RLIMIT_NOFILE towards the hard limit when the sockets would not fit; the
    three callables are parameters so tests can feed limits.
    """
    if resource is None and limits is None:
        return wanted, None
    limits = limits or (lambda: resource.getrlimit(resource.RLIMIT_NOFILE))
    raise_to = raise_to or (
        lambda soft, hard: resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    )
    in_use = in_use if in_use is not None else open_descriptors()
    soft, hard = limits()
    needed = wanted + in_use + FD_MARGIN
    infinity = getattr(resource, "RLIM_INFINITY", -1)
    if soft != infinity and soft < needed:
        target = needed if hard == infinity else min(hard, needed)
        if target > soft:
            try:
                raise_to(target, hard)
                soft = target
            except (ValueError, OSError):
                pass
    if soft == infinity or soft >= needed:
        return wanted, None
    room = max(1, soft - in_use - FD_MARGIN)
    return room, (
        "concurrency lowered from %d to %d: the descriptor limit is %d (hard %s)"
        % (wanted, room, soft, "unlimited" if hard == infinity else hard)
    )
