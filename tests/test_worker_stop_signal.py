# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
"""pymta.stop_signal: how a server loop tells that the server stops
(StopSignal), with and without a flag that tells a stop from a wake-up."""

from __future__ import absolute_import

import unittest

from pymta.stop_signal import StopSignal

from .worker_support import socket_pair


class StopSignalTest(unittest.TestCase):

    def test_without_a_flag_a_readable_fd_means_stop(self):
        # (the fork path's lifeline: end of file there means stop)
        stop_read, stop_write = socket_pair(self)
        stop = StopSignal(stop_read.fileno())
        self.assertEqual(False, stop.requested())
        stop_write.close()
        self.assertEqual(True, stop.requested())
        self.assertEqual(True, stop.confirmed())

    def test_with_a_flag_the_flag_decides_and_wake_ups_are_drained(self):
        # (the serial path: the wake-up socket also wakes it for signals)
        stop_read, stop_write = socket_pair(self)
        stop_read.setblocking(False)
        flag = []
        stop = StopSignal(stop_read.fileno(), is_stopping=lambda: bool(flag))
        stop_write.sendall(b'xx')
        self.assertEqual(False, stop.requested())
        self.assertEqual(False, stop.confirmed())
        self.assertRaises(Exception, stop_read.recv, 1)     # drained
        flag.append(True)
        self.assertEqual(True, stop.requested())
        self.assertEqual(True, stop.confirmed())


if __name__ == '__main__':
    unittest.main()
