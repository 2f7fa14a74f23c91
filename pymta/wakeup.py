# -*- coding: utf-8 -*-
"""Waking the serving thread: the socket pair ``shutdown_server`` writes
to, and the signal wake-up fd pointed at it, so that neither a shutdown nor
a signal waits for a polling interval."""

from __future__ import absolute_import

import signal

from .sockets import socket_pair


__all__ = ['drain', 'install_signal_wakeup', 'wakeup_pair']


def wakeup_pair():
    """The socket pair ``shutdown_server`` uses to wake the serving thread:
    ``(receiver, sender)``, both non-blocking."""
    receiver, sender = socket_pair()
    receiver.setblocking(False)
    sender.setblocking(False)
    return receiver, sender


def install_signal_wakeup(fd):
    """In the main thread, make every signal write a byte to ``fd`` (the
    wake-up socket's sending end), unless the application set a wake-up fd
    of its own. Without it a signal arriving just before the serving thread
    blocks in poll() would leave its handler (e.g. one calling
    ``shutdown_server``) pending until something else woke the thread.
    Returns True if installed."""
    try:
        previous = signal.set_wakeup_fd(fd)
    except ValueError:
        return False    # not the main thread
    if previous != -1:
        signal.set_wakeup_fd(previous)
        return False
    return True


def drain(sock):
    """Read and drop what the (non-blocking) receiver holds: the wake-ups
    seen so far."""
    try:
        while sock.recv(4096):
            pass
    except (IOError, OSError):
        pass
