# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
"""The fd waiting of pymta.worker (FdWaiter, wait_for and the accept waiter)
on socket pairs, through poll and through the select() fallback that
platforms without poll use."""

from __future__ import absolute_import

import socket
import threading
import unittest

from pymta import worker


def socket_pair(test):
    left, right = socket.socketpair()
    test.addCleanup(left.close)
    test.addCleanup(right.close)
    return left, right


class FdWaiterTest(unittest.TestCase):
    use_poll = True

    def waiter(self):
        waiter = worker.FdWaiter()
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


class WaitForTest(unittest.TestCase):

    def test_one_fd_for_reading_and_writing(self):
        left, right = socket_pair(self)
        right.sendall(b'x')
        fd = left.fileno()
        self.assertEqual(([fd], [fd]), worker.wait_for([fd], [fd], 1.0))

    def test_times_out(self):
        left, _ = socket_pair(self)
        self.assertEqual(([], []), worker.wait_for([left.fileno()], (), 0.01))


class AcceptWaiterTest(unittest.TestCase):

    def setUp(self):
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(self.listener.close)
        self.listener.bind(('127.0.0.1', 0))
        self.listener.listen(8)
        self.stop_read, self.stop_write = socket_pair(self)
        self.waiter = worker._AcceptWaiter(self.listener.fileno(),
                                           self.stop_read.fileno())
        self.addCleanup(self.waiter.close)

    def test_a_connection_wakes_it_without_a_stop(self):
        client = socket.create_connection(self.listener.getsockname(), 5)
        self.addCleanup(client.close)
        self.assertEqual(False, self.waiter.wait(5.0))
        self.listener.accept()[0].close()

    def test_the_stop_fd_says_stop(self):
        self.stop_write.close()
        self.assertEqual(True, self.waiter.wait(5.0))

    def test_times_out_without_a_stop(self):
        self.assertEqual(False, self.waiter.wait(0.01))


class WorkerBoardTest(unittest.TestCase):
    """The shared record of idle and busy workers (fork path), here on a
    plain array: the same indexing and slicing as a shared RawArray."""

    def board(self, size=4, min_spare=2, lock=None):
        import array
        return worker.WorkerBoard(array.array('b', [0] * size), lock,
                                  min_spare)

    def test_going_busy_asks_for_more_when_too_few_are_idle(self):
        for lock in (None, threading.Lock()):
            board = self.board(lock=lock)
            self.assertEqual(True, board.mark(0, board.IDLE))   # 1 idle < 2
            self.assertEqual(False, board.mark(1, board.IDLE))  # 2 idle
            self.assertEqual(False, board.mark(2, board.IDLE))
            self.assertEqual(3, board.idle_workers())
            self.assertEqual(False, board.mark(0, board.BUSY))  # 2 idle left
            self.assertEqual(True, board.mark(1, board.BUSY))   # 1 idle left
            self.assertEqual(1, board.idle_workers())
            self.assertEqual(False, board.mark(0, board.IDLE))  # 2 idle again
