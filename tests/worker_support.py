# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
"""Support for the tests of the server's modules (pymta.spinner,
pymta.connection_loop, pymta.worker, ...; not a test module)."""

from __future__ import absolute_import

import socket

from pymta.spinner import Spinner


def socket_pair(test):
    """A connected socket pair, closed when ``test`` ends."""
    left, right = socket.socketpair()
    test.addCleanup(left.close)
    test.addCleanup(right.close)
    return left, right


def read_to_eof(sock):
    chunks = []
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return b''.join(chunks)
        chunks.append(chunk)


class SoleThreadSpinner(Spinner):
    """A Spinner that spins as if the test's thread were the only one of
    the process."""

    @staticmethod
    def other_threads_run():
        return False
