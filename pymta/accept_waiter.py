# -*- coding: utf-8 -*-
"""Waiting for the next connection: ``AcceptWaiter`` sleeps until the
listening socket has a connection for this process or the stop fd says
stop."""

from __future__ import absolute_import

import errno
import select

from .fdwait import FdWaiter, _errno_of


__all__ = ['AcceptWaiter']


class AcceptWaiter(object):
    """Waits for a connection on the listening socket or for the stop fd.

    Where the kernel offers ``EPOLLEXCLUSIVE`` (Linux 4.5+, Python 3.6+), the
    listening socket is registered with it in an epoll object of this
    process, so a new connection wakes one idle worker, not all of them (the
    thundering herd); the stop fd is registered normally, so stopping wakes
    every worker. Elsewhere it is an ``FdWaiter``."""

    def __init__(self, listen_fd, stop_fd):
        self.stop_fd = stop_fd
        self._epoll = None
        self._waiter = None
        epoll = getattr(select, 'epoll', None)
        exclusive = getattr(select, 'EPOLLEXCLUSIVE', None)
        if epoll is not None and exclusive is not None:
            try:
                self._epoll = epoll()
                self._epoll.register(listen_fd, select.EPOLLIN | exclusive)
                self._epoll.register(stop_fd, select.EPOLLIN)
            except (IOError, OSError, ValueError):
                # e.g. a kernel older than 4.5 refuses EPOLLEXCLUSIVE
                if self._epoll is not None:
                    self._epoll.close()
                self._epoll = None
        if self._epoll is None:
            self._waiter = FdWaiter()
            self._waiter.watch(listen_fd)
            self._waiter.watch(stop_fd)

    def wait(self, timeout=None):
        """True when the stop fd is readable (or hung up), else False
        (a connection may be waiting, or the time is up)."""
        if self._epoll is None:
            return self.stop_fd in self._waiter.wait(timeout)[0]
        while True:
            try:
                events = self._epoll.poll(-1 if timeout is None else timeout)
            except (IOError, OSError) as e:
                if _errno_of(e) != errno.EINTR:
                    raise
                continue
            for fd, _ in events:
                if fd == self.stop_fd:
                    return True
            return False

    def close(self):
        if self._epoll is not None:
            self._epoll.close()
            self._epoll = None
        if self._waiter is not None:
            self._waiter.close()
            self._waiter = None
