# -*- coding: utf-8 -*-
"""How a server loop learns that the server stops: ``StopSignal``, a
file descriptor that becomes readable then (and, on the serial path, a
flag that tells a stop from a mere wake-up)."""

from __future__ import absolute_import

import os

from .fdwait import wait_for


__all__ = ['StopSignal']


class StopSignal(object):
    """The *stop fd* of a server loop: when it becomes readable the server
    is stopping.

    On the fork path it is the read end of the parent's lifeline pipe (end
    of file there means stop). The serial path's is the read end of the
    server's wake-up socket pair, which also wakes the serving thread for
    every signal; there ``is_stopping()`` decides whether a wake-up means
    stop."""

    __slots__ = ('fd', 'is_stopping')

    def __init__(self, fd, is_stopping=None):
        self.fd = fd
        self.is_stopping = is_stopping

    def confirmed(self):
        """The stop fd is readable: does that mean stop? Without
        ``is_stopping`` it does; with it the fd is drained and
        ``is_stopping()`` decides."""
        is_stopping = self.is_stopping
        if is_stopping is None:
            return True
        try:
            while os.read(self.fd, 4096):
                pass
        except (IOError, OSError):
            pass    # drained (EAGAIN)
        return is_stopping()

    def requested(self):
        """Without waiting: has a stop been asked for? (For loops that spin
        instead of waiting for the stop fd.)"""
        if self.is_stopping is not None:
            return self.is_stopping()
        return bool(wait_for([self.fd], (), 0)[0])
