# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
"""pymta.pool_link: a worker's side of the fork path's pool (PoolLink): its
slot on the board and the octets on its status pipe."""

from __future__ import absolute_import

import array
import os
import unittest

from pymta.pool_link import COUNT_IDLE, ParentGone, PoolLink
from pymta.worker_board import WorkerBoard


class PoolLinkTest(unittest.TestCase):

    def link(self, slot=0, min_spare=1):
        read_fd, write_fd = os.pipe()
        self.addCleanup(os.close, read_fd)
        self.addCleanup(os.close, write_fd)
        board = WorkerBoard(array.array('b', [0] * 2), None, min_spare)
        return PoolLink(None, write_fd, board, slot), read_fd

    def test_marking_wakes_the_parent_only_when_the_board_says_so(self):
        link, status = self.link()
        link.mark(WorkerBoard.IDLE)         # 1 idle: enough
        link.mark(WorkerBoard.BUSY)         # none idle: count them
        self.assertEqual(COUNT_IDLE, os.read(status, 10))
        self.assertEqual(WorkerBoard.BUSY, link.board.slots[0])

    def test_the_end_of_a_session_is_reported_later(self):
        # (on_session_end must not raise: the report waits for the loop)
        link, status = self.link(min_spare=2)
        link.session_ended()
        self.assertEqual(True, link.wake_parent)
        self.assertEqual(WorkerBoard.IDLE, link.board.slots[0])

    def test_a_parent_that_is_gone_stops_the_worker(self):
        read_fd, write_fd = os.pipe()
        self.addCleanup(os.close, write_fd)
        os.close(read_fd)
        link = PoolLink(None, write_fd, None, 0)
        self.assertRaises(ParentGone, link.report, COUNT_IDLE)

    def test_inherited_fds_and_sockets_are_closed(self):
        read_fd, write_fd = os.pipe()
        self.addCleanup(os.close, read_fd)

        class Closable(object):
            closed = False

            def close(self):
                self.closed = True
        thing = Closable()
        link = PoolLink(None, None, None, 0, inherited=[write_fd, thing])
        link.close_inherited()
        self.assertEqual(True, thing.closed)
        self.assertEqual(b'', os.read(read_fd, 1))  # the write end is gone
        self.assertEqual((), link.inherited)


if __name__ == '__main__':
    unittest.main()
