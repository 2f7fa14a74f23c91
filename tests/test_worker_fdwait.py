# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
"""pymta.fdwait: waiting for fds (FdWaiter and wait_for) on socket pairs,
through poll and through the select() fallback that platforms without poll
use, and EpollWaiter."""

from __future__ import absolute_import

import unittest

from pymta import fdwait

from .worker_support import socket_pair


class FdWaiterTest(unittest.TestCase):
    use_poll = True

    def waiter(self):
        waiter = fdwait.FdWaiter()
        if not self.use_poll:
            waiter._poller = None   # as where select has no poll
        self.addCleanup(waiter.close)
        return waiter

    def test_times_out_with_nothing_ready(self):
        left, _ = socket_pair(self)
        waiter = self.waiter()
        waiter.watch(left.fileno())
        self.assertEqual(([], []), waiter.wait(0.01))

    def test_reports_a_readable_fd(self):
        left, right = socket_pair(self)
        waiter = self.waiter()
        waiter.watch(left.fileno())
        right.sendall(b'x')
        self.assertEqual(([left.fileno()], []), waiter.wait(1.0))

    def test_reports_a_writable_fd_only_when_asked(self):
        left, _ = socket_pair(self)
        waiter = self.waiter()
        waiter.watch(left.fileno(), read=False, write=True)
        self.assertEqual(([], [left.fileno()]), waiter.wait(1.0))
        waiter.watch(left.fileno(), read=True, write=False)
        self.assertEqual(([], []), waiter.wait(0.01))

    def test_a_hang_up_counts_as_readable(self):
        left, right = socket_pair(self)
        waiter = self.waiter()
        waiter.watch(left.fileno())
        right.close()
        self.assertEqual([left.fileno()], waiter.wait(1.0)[0])

    def test_a_forgotten_fd_is_not_reported(self):
        left, right = socket_pair(self)
        other, other_peer = socket_pair(self)
        waiter = self.waiter()
        waiter.watch(left.fileno())
        waiter.watch(other.fileno())
        waiter.watch(left.fileno(), read=False, write=False)
        right.sendall(b'x')
        other_peer.sendall(b'y')
        self.assertEqual(([other.fileno()], []), waiter.wait(1.0))


class FdWaiterSelectTest(FdWaiterTest):
    use_poll = False


class EpollWaiterTest(FdWaiterTest):
    """The same tests for the epoll waiter of the multiplexer (where the
    platform has epoll: ``new_waiter`` makes an ``FdWaiter`` elsewhere)."""

    def waiter(self):
        waiter = fdwait.new_waiter()
        self.addCleanup(waiter.close)
        return waiter


class WaitForTest(unittest.TestCase):

    def test_one_fd_for_reading_and_writing(self):
        left, right = socket_pair(self)
        right.sendall(b'x')
        fd = left.fileno()
        self.assertEqual(([fd], [fd]), fdwait.wait_for([fd], [fd], 1.0))

    def test_times_out(self):
        left, _ = socket_pair(self)
        self.assertEqual(([], []), fdwait.wait_for([left.fileno()], (), 0.01))


if __name__ == '__main__':
    unittest.main()
