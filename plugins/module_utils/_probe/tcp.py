# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The TCP connect probe: one connect() per port to one address, on an asyncio loop.

A port is ``open`` when the handshake completes (the socket is closed at once, nothing is
sent), ``refused`` when the host answers with a reset, ``filtered`` when nothing answers within
the timeout or an ICMP error (unreachable, administratively prohibited) comes back, and
``not probed`` when the host's time budget ran out first or this side could not open a socket.

The scan is callback-driven rather than a task per port: a full range is 65,535 connects, and
a coroutine with its own timeout per connect costs more than the connect itself. Connects still
in progress are kept in the order they started; with one timeout for all, the oldest is always
the next to expire, so a tick that looks at the front of that queue finds every expired one.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test boilerplate

import collections
import errno
import select
import socket

OPEN = "open"
REFUSED = "refused"
FILTERED = "filtered"
NOT_PROBED = "not probed"
STATES = (OPEN, REFUSED, FILTERED, NOT_PROBED)

# How often expired connects and the rate are looked at, seconds.
TICK = 0.01
# Sockets made non-blocking by socket() itself where the platform can (one call less each).
NONBLOCK_FLAG = getattr(socket, "SOCK_NONBLOCK", 0)
SOCK_STREAM_NONBLOCK = socket.SOCK_STREAM | NONBLOCK_FLAG
# A connect is over when its socket is writable (connected) or has an error (refused, ICMP).
WATCH = getattr(select, "EPOLLOUT", 4) | getattr(select, "EPOLLERR", 8)


def _codes(*names):
    return frozenset(getattr(errno, n) for n in names if hasattr(errno, n))


# A reset: the host is there and nothing listens (or a firewall rejects with a reset).
REFUSED_ERRNOS = _codes("ECONNREFUSED", "ECONNRESET")
# Nothing came back, or an ICMP error did: host/network unreachable, administratively
# prohibited (both ICMP codes map to EHOSTUNREACH on Linux), protocol unreachable; EACCES
# and EPERM are this side's own firewall dropping the SYN.
FILTERED_ERRNOS = _codes(
    "ETIMEDOUT",
    "EHOSTUNREACH",
    "ENETUNREACH",
    "EHOSTDOWN",
    "ENONET",
    "ENETDOWN",
    "ENOPROTOOPT",
    "EACCES",
    "EPERM",
)
# This side ran out of something: the port was not probed at all.
LOCAL_ERRNOS = _codes("EMFILE", "ENFILE", "ENOBUFS", "ENOMEM", "EADDRNOTAVAIL", "EAGAIN")


def classify(outcome):
    """(state, problem) of one connect attempt.

    ``outcome`` is 0 (connected), an errno number, an OSError, or a TimeoutError (nothing came
    back in time). ``problem`` is None, or a line for the result's errors when the outcome says
    nothing about the host (this side's resources, an errno not known here).
    """
    if isinstance(outcome, BaseException):
        if isinstance(outcome, TimeoutError) or type(outcome).__name__ == "TimeoutError":
            return FILTERED, None
        code = getattr(outcome, "errno", None)
        if not isinstance(code, int):
            return NOT_PROBED, "connect failed: %s" % type(outcome).__name__
        outcome = code
    if outcome == 0:
        return OPEN, None
    if outcome in REFUSED_ERRNOS:
        return REFUSED, None
    if outcome in FILTERED_ERRNOS:
        return FILTERED, None
    name = errno.errorcode.get(outcome, str(outcome))
    if outcome in LOCAL_ERRNOS:
        return NOT_PROBED, "cannot connect from here: %s" % name
    # Something failed the connect that is not a known refusal: the port did not accept.
    return FILTERED, "connect failed with %s" % name


class TcpScan:
    """One host's TCP ports, probed on ``loop``; ``await scan.run()`` and read the attributes:
    ``states`` {port: state}, ``sent`` (connects started), ``problems`` {line: count}.

    Where the platform has epoll, the connecting sockets are watched by an epoll set of the
    scan's own, whose one descriptor the loop watches: a completed connect then costs no
    registration with the loop, and closing a socket takes it out of the set. Elsewhere each
    socket is registered with the loop (add_writer).
    """

    def __init__(
        self, loop, family, sockaddr, ports, concurrency, timeout, pacer, deadline, use_epoll=None
    ):
        self.loop = loop
        self.family = family
        # sockaddr is (address, 0) or (address, 0, flowinfo, scope_id); the port goes in slot 1.
        self.head = tuple(sockaddr[:1])
        self.tail = tuple(sockaddr[2:])
        self.pending = collections.deque(ports)
        self.concurrency = concurrency
        self.timeout = timeout
        self.pacer = pacer
        self.deadline = deadline
        self.states = {}
        self.sent = 0
        self.problems = collections.Counter()
        # fd -> (socket, port, started), oldest first.
        self.inflight = collections.OrderedDict()
        self.done = None
        self.ticker = None
        if use_epoll is None:
            use_epoll = hasattr(select, "epoll")
        self.epoll = None
        self.use_epoll = use_epoll

    async def run(self):
        self.done = self.loop.create_future()
        if self.use_epoll:
            self.epoll = select.epoll()
            self.loop.add_reader(self.epoll.fileno(), self._drain)
        try:
            self._fill()
            self._finish_if_done()
            if not self.done.done():
                self.ticker = self.loop.call_later(TICK, self._tick)
            await self.done
        finally:
            self._stop(NOT_PROBED)
            if self.epoll is not None:
                self.loop.remove_reader(self.epoll.fileno())
                self.epoll.close()
                self.epoll = None
        return self.states

    def _record(self, port, outcome):
        state, problem = classify(outcome)
        self.states[port] = state
        if problem:
            self.problems[problem] += 1

    def _fill(self):
        loop, pacer, inflight = self.loop, self.pacer, self.inflight
        while self.pending and len(inflight) < self.concurrency:
            now = loop.time()
            if now >= self.deadline or not pacer.take():
                return
            port = self.pending.popleft()
            self._connect(port, now)

    def _connect(self, port, now):
        try:
            sock = socket.socket(self.family, SOCK_STREAM_NONBLOCK)
        except OSError as exc:
            self._record(port, exc)
            return
        self.sent += 1
        if not NONBLOCK_FLAG:
            sock.setblocking(False)
        try:
            code = sock.connect_ex(self.head + (port,) + self.tail)
        except OSError as exc:  # an address this family cannot reach, for one
            code = exc
        if code == errno.EINPROGRESS:
            fd = sock.fileno()
            self.inflight[fd] = (sock, port, now)
            if self.epoll is not None:
                self.epoll.register(fd, WATCH)
            else:
                self.loop.add_writer(fd, self._ready, fd)
            return
        sock.close()
        self._record(port, code)

    def _complete(self, fd):
        """The connect on ``fd`` finished (or failed): its state, its socket closed."""
        entry = self.inflight.pop(fd, None)
        if entry is None:
            return
        sock, port, _started = entry
        try:
            code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        except OSError as exc:
            code = exc
        sock.close()  # also takes it out of the epoll set
        self._record(port, code)

    def _drain(self):
        """The epoll set has events: every finished connect in one go."""
        if self.epoll is None:
            return
        for fd, _events in self.epoll.poll(0):
            self._complete(fd)
        self._fill()
        self._finish_if_done()

    def _ready(self, fd):
        self.loop.remove_writer(fd)
        self._complete(fd)
        self._fill()
        self._finish_if_done()

    def _forget(self, fd, sock):
        if self.epoll is None:
            self.loop.remove_writer(fd)
        sock.close()

    def _tick(self):
        self.ticker = None
        now = self.loop.time()
        if now >= self.deadline:
            self._stop(NOT_PROBED)
            self._finish_if_done()
            return
        expired = now - self.timeout
        inflight = self.inflight
        while inflight:
            fd = next(iter(inflight))
            sock, port, started = inflight[fd]
            if started > expired:
                break
            del inflight[fd]
            self._forget(fd, sock)
            self._record(port, TimeoutError())
        self._fill()
        self._finish_if_done()
        if not self.done.done():
            self.ticker = self.loop.call_later(TICK, self._tick)

    def _stop(self, state):
        """Every port not answered yet gets ``state`` (the budget ran out, or the scan ends)."""
        if self.ticker is not None:
            self.ticker.cancel()
            self.ticker = None
        while self.inflight:
            fd, (sock, port, _started) = self.inflight.popitem(last=False)
            self._forget(fd, sock)
            self.states[port] = state
        while self.pending:
            self.states[self.pending.popleft()] = state

    def _finish_if_done(self):
        if not self.pending and not self.inflight and not self.done.done():
            self.done.set_result(None)
