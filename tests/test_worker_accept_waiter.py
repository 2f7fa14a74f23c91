# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
"""pymta.accept_waiter: waiting for the next connection or the stop fd
(AcceptWaiter, with EPOLLEXCLUSIVE where the kernel has it)."""

from __future__ import absolute_import

import socket
import unittest

from pymta.accept_waiter import AcceptWaiter

from .worker_support import socket_pair


class AcceptWaiterTest(unittest.TestCase):

    def setUp(self):
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(self.listener.close)
        self.listener.bind(('127.0.0.1', 0))
        self.listener.listen(8)
        self.stop_read, self.stop_write = socket_pair(self)
        self.waiter = AcceptWaiter(self.listener.fileno(),
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


if __name__ == '__main__':
    unittest.main()
