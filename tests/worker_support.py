# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
"""Support for the tests of pymta.worker (not a test module)."""

from __future__ import absolute_import

import socket

from pymta import worker


def socket_pair(test):
    """A connected socket pair, closed when ``test`` ends."""
    left, right = socket.socketpair()
    test.addCleanup(left.close)
    test.addCleanup(right.close)
    return left, right


class SoleThreadSpinner(worker.Spinner):
    """A Spinner that spins as if the test's thread were the only one of
    the process."""

    @staticmethod
    def other_threads_run():
        return False
