# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
"""Waiting for fds (pymta.fdwait's FdWaiter and wait_for, pymta.worker's
accept waiter) on socket pairs, through poll and through the select()
fallback that platforms without poll use; the accept loop's handling of
accept() errors."""

from __future__ import absolute_import

import errno
import socket
import threading
import unittest

from pymta import fdwait, worker
from pymta.deliverer import BlackholeDeliverer

from .worker_support import SoleThreadSpinner, socket_pair


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


class WaitForTest(unittest.TestCase):

    def test_one_fd_for_reading_and_writing(self):
        left, right = socket_pair(self)
        right.sendall(b'x')
        fd = left.fileno()
        self.assertEqual(([fd], [fd]), fdwait.wait_for([fd], [fd], 1.0))

    def test_times_out(self):
        left, _ = socket_pair(self)
        self.assertEqual(([], []), fdwait.wait_for([left.fileno()], (), 0.01))


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

    def test_with_every_slot_taken_the_parent_is_woken_when_all_busy(self):
        # the parent could not start another worker anyway; but when none
        # is left idle it answers new clients itself ("421 too busy")
        for lock in (None, threading.Lock()):
            board = self.board(size=3, lock=lock)
            board.mark(0, board.IDLE)
            board.mark(1, board.IDLE)
            self.assertEqual(True, board.mark(0, board.BUSY))   # 2 free
            self.assertEqual(False, board.mark(2, board.BUSY))  # none free
            self.assertEqual(True, board.mark(1, board.BUSY))   # none idle
            self.assertEqual(0, board.idle_workers())
            self.assertEqual(False, board.mark(1, board.IDLE))  # one idle
            self.assertEqual(True, board.mark(1, board.BUSY))   # none again
            board.mark(2, board.FREE)                           # one ended
            self.assertEqual(True, board.mark(0, board.IDLE))

    def test_an_idle_worker_retires_only_above_min_spare(self):
        for lock in (None, threading.Lock()):
            board = self.board(size=4, min_spare=2, lock=lock)
            for slot in range(3):
                board.mark(slot, board.IDLE)
            board.mark(3, board.BUSY)
            self.assertEqual(True, board.retire(0))         # 3 idle > 2
            self.assertEqual(board.FREE, board.slots[0])
            self.assertEqual(False, board.retire(1))        # 2 idle: stays
            self.assertEqual(False, board.retire(3))        # busy: stays
            self.assertEqual(2, board.idle_workers())
            self.assertEqual([board.FREE, board.IDLE, board.IDLE, board.BUSY],
                             list(board.slots))

    def test_a_taken_lock_postpones_retiring(self):
        # decided under the lock: two retiring at once cannot both count
        # the other as idle
        lock = threading.Lock()
        board = self.board(size=4, min_spare=1, lock=lock)
        for slot in range(3):
            board.mark(slot, board.IDLE)
        lock.acquire()
        self.assertEqual(None, board.retire(0))     # ask again soon
        self.assertEqual(board.IDLE, board.slots[0])
        lock.release()
        self.assertEqual(True, board.retire(0))

    def test_a_taken_lock_is_not_waited_for(self):
        # a sibling marking right now, or one killed while it held the lock:
        # mark anyway and let the parent count
        lock = threading.Lock()
        board = self.board(lock=lock)
        board.mark(0, board.IDLE)
        board.mark(1, board.IDLE)
        board.mark(2, board.IDLE)
        lock.acquire()
        self.assertEqual(True, board.mark(0, board.BUSY))
        self.assertEqual(board.BUSY, board.slots[0])
        self.assertEqual(2, board.idle_workers())
        lock.release()
        self.assertEqual(False, board.mark(0, board.IDLE))


class FlakyListener(object):
    """A listening socket whose accept() first fails with ``errors``."""

    def __init__(self, sock, errors):
        self.sock = sock
        self.errors = list(errors)

    def fileno(self):
        return self.sock.fileno()

    def setblocking(self, flag):
        self.sock.setblocking(flag)

    def setsockopt(self, *args):
        self.sock.setsockopt(*args)

    def accept(self):
        if self.errors:
            raise socket.error(self.errors.pop(0), 'injected by the test')
        return self.sock.accept()


class AcceptLoopTest(unittest.TestCase):

    spin_seconds = 0

    def test_errors_of_one_pending_connection_do_not_end_the_loop(self):
        # accept(2) on Linux: network errors pending on the new connection
        # and a firewall's EPERM come from accept(); retry like EAGAIN
        names = ['ECONNABORTED', 'EPROTO', 'EPERM', 'ENETDOWN', 'ENOPROTOOPT',
                 'EHOSTDOWN', 'ENONET', 'EHOSTUNREACH', 'EOPNOTSUPP',
                 'ENETUNREACH']
        errors = [getattr(errno, name) for name in names
                  if hasattr(errno, name)]
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(listener.close)
        listener.bind(('127.0.0.1', 0))
        listener.listen(8)
        stop_read, stop_write = socket_pair(self)
        worker_process = worker.WorkerProcess(
            FlakyListener(listener, errors), BlackholeDeliverer,
            spin_seconds=self.spin_seconds)
        worker_process.spinner_class = SoleThreadSpinner
        worker_process.build()
        outcome = []

        def run():
            try:
                worker_process.accept_loop(stop_read.fileno())
                outcome.append('stopped')
            except Exception as e:
                outcome.append(e)
        thread = threading.Thread(target=run)
        thread.start()
        try:
            client = socket.create_connection(listener.getsockname(), 5)
            self.addCleanup(client.close)
            client.settimeout(5)
            client.sendall(b'QUIT\r\n')
            self.assertTrue(client.makefile('rb').read().startswith(b'220 '))
        finally:
            stop_write.sendall(b'x')
            thread.join(5)
        self.assertEqual(['stopped'], outcome)


class SpinningAcceptLoopTest(AcceptLoopTest):
    """The same while the accept loop spins (serial path): errors that come
    from accept() during the spin are handled the same way."""

    spin_seconds = 0.01
