# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
"""pymta.worker_board: the fork path's shared record of idle and busy
workers (WorkerBoard)."""

from __future__ import absolute_import

import threading
import unittest

from pymta.worker_board import WorkerBoard


class WorkerBoardTest(unittest.TestCase):
    """The shared record of idle and busy workers (fork path), here on a
    plain array: the same indexing and slicing as a shared RawArray."""

    def board(self, size=4, min_spare=2, lock=None):
        import array
        return WorkerBoard(array.array('b', [0] * size), lock, min_spare)

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

    def test_a_serving_worker_is_available_but_not_empty(self):
        # (a multiplexing worker holding some connections, with room for
        # more: it counts as idle for the pool; only an empty one retires,
        # and the serving ones leave new connections to an empty one)
        for lock in (None, threading.Lock()):
            board = self.board(size=3, min_spare=2, lock=lock)
            board.mark(0, board.IDLE)
            self.assertEqual(False, board.mark(1, board.SERVING))  # 2 idle
            self.assertEqual(2, board.idle_workers())
            self.assertEqual(True, board.has_empty_worker())
            self.assertEqual(False, board.mark(0, board.SERVING))  # 2 idle
            self.assertEqual(False, board.has_empty_worker())
            board.mark(2, board.IDLE)
            self.assertEqual(3, board.idle_workers())
            self.assertEqual(False, board.retire(0))    # not empty: stays
            self.assertEqual(True, board.retire(2))     # 3 > 2: retires
            self.assertEqual(True, board.mark(1, board.BUSY))      # 1 idle
            board.mark(2, board.BUSY)
            self.assertEqual(True, board.mark(0, board.BUSY))      # none

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


if __name__ == '__main__':
    unittest.main()
