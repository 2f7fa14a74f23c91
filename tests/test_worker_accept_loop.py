# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
"""pymta.worker: the accept loop of WorkerProcess and its handling of
accept() errors, blocking and spinning."""

from __future__ import absolute_import

import errno
import socket
import threading
import unittest

from pymta.deliverer import BlackholeDeliverer
from pymta.worker import WorkerProcess

from .worker_support import SoleThreadSpinner, socket_pair


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
        worker_process = WorkerProcess(
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


if __name__ == '__main__':
    unittest.main()
