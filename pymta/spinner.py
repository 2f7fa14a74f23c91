# -*- coding: utf-8 -*-
"""Spin-then-block waiting for the serial path: ``Spinner`` retries a
non-blocking call for a moment before the caller sleeps in poll."""

from __future__ import absolute_import

import threading

from .fdwait import _errno_of, _now
from .sockets import RETRY_ERRNOS


__all__ = ['Spinner']


class Spinner(object):
    """Spin-then-block waiting for the serial path (``PythonMTA`` keyword
    ``serial_spin_seconds``).

    Serving one connection at a time, the serial path spends most of a
    connection waiting for the client's next command. Blocking in poll lets
    this CPU go idle, and on a virtual machine waking it again takes longer
    than a program needs to answer. So, like an adaptive mutex, a wait first
    retries the non-blocking call for up to ``seconds`` and blocks only if
    nothing came. It spins only while that pays: after a blocking wait that
    took longer than the spin would have (a slow or interactive client, an
    idle server) it blocks straight away until a wait is short again. And
    never while another Python thread runs in this process: spinning holds
    the GIL that thread may need (say, a test's smtplib client)."""

    __slots__ = ('seconds', 'active')

    def __init__(self, seconds):
        self.seconds = seconds
        self.active = True

    def attempt(self, call, *args):
        """``call(*args)`` (non-blocking) until it does not raise a "try
        again" error or the time is up; its result, or None."""
        if not self.active or self.other_threads_run():
            return None
        deadline = _now() + self.seconds
        while True:
            try:
                return call(*args)
            except (IOError, OSError) as e:
                if _errno_of(e) not in RETRY_ERRNOS:
                    raise
            if _now() > deadline:
                return None

    def blocked(self, seconds):
        """A blocking wait took ``seconds``: spin next time if spinning
        would have caught it."""
        self.active = seconds <= self.seconds

    @staticmethod
    def other_threads_run():
        return threading.active_count() > 1
