# -*- coding: utf-8 -*-
"""Waiting for file descriptors: ``poll`` where the platform has it, else
``select`` (and ``EpollWaiter`` for the multiplexer's many fds), with
interrupted waits resumed for the time left. Used by the
server loops (``pymta.connection_loop``, ``pymta.worker``,
``pymta.worker_pool`` and what they are made of) and by ``PipeEvent``, the Event of Python 2 (see
``pymta.compat.new_event``)."""

from __future__ import absolute_import

import errno
import math
import os
import select
import threading
import time


__all__ = ['EpollWaiter', 'FdWaiter', 'PipeEvent', 'new_waiter', 'wait_for']

_now = getattr(time, 'monotonic', time.time)


def _errno_of(error):
    number = getattr(error, 'errno', None)
    if number is None and error.args:
        # select.error on Python 2 is (errno, text) without .errno
        number = error.args[0]
    return number


if hasattr(select, 'poll'):
    _POLL_IN, _POLL_OUT = select.POLLIN, select.POLLOUT
    # a hang-up or error counts as ready: the caller finds out by reading
    _POLL_TROUBLE = select.POLLHUP | select.POLLERR | select.POLLNVAL
    _POLL_READY_IN = select.POLLIN | _POLL_TROUBLE
    _POLL_READY_OUT = select.POLLOUT | _POLL_TROUBLE
else:   # FdWaiter then keeps its own masks for select()
    _POLL_IN, _POLL_OUT = 1, 4


class FdWaiter(object):
    """A set of file descriptors to wait on, kept between waits (one
    ``select.poll`` object for a connection's life instead of a new one per
    wait; ``select.select`` where there is no poll).

    ``watch(fd, read, write)`` sets what to wait for on ``fd`` (neither:
    forget it); ``wait(timeout)`` returns ``(readable, writable)``;
    ``close()`` frees what the waiter holds."""

    def __init__(self):
        self._masks = {}
        self._poller = select.poll() if hasattr(select, 'poll') else None

    def watch(self, fd, read=True, write=False):
        mask = (_POLL_IN if read else 0) | (_POLL_OUT if write else 0)
        if not mask:
            if self._masks.pop(fd, None) is not None and \
                    self._poller is not None:
                self._poller.unregister(fd)
            return
        if self._masks.get(fd) != mask:
            self._masks[fd] = mask
            if self._poller is not None:
                self._poller.register(fd, mask)

    def wait(self, timeout=None):
        """Wait until a watched fd is ready or ``timeout`` seconds passed
        (None: no limit). Returns ``(readable, writable)``, two lists of fds
        (both empty on a time out). A hang-up or error condition counts as
        ready. Interrupted system calls are resumed for the time left."""
        try:
            return self._wait_once(timeout)
        except (select.error, IOError, OSError) as e:
            # Python 2 raises on EINTR; Python 3.5+ resumes by itself
            if _errno_of(e) != errno.EINTR:
                raise
        deadline = None if timeout is None else _now() + timeout
        while True:
            remaining = None
            if deadline is not None:
                remaining = max(0.0, deadline - _now())
            try:
                return self._wait_once(remaining)
            except (select.error, IOError, OSError) as e:
                if _errno_of(e) != errno.EINTR:
                    raise

    def _wait_once(self, timeout):
        masks = self._masks
        if self._poller is None:
            readers = [fd for fd in masks if masks[fd] & _POLL_IN]
            writers = [fd for fd in masks if masks[fd] & _POLL_OUT]
            readable, writable, in_error = select.select(
                readers, writers, readers + writers, timeout)
            readable = list(set(readable) | (set(in_error) & set(readers)))
            writable = list(set(writable) | (set(in_error) & set(writers)))
            return readable, writable
        milliseconds = None
        if timeout is not None:
            # round up: a wait must not end before its time
            milliseconds = int(math.ceil(timeout * 1000))
        readable, writable = [], []
        for fd, event in self._poller.poll(milliseconds):
            wanted = masks.get(fd, 0)
            if (wanted & _POLL_IN) and (event & _POLL_READY_IN):
                readable.append(fd)
            if (wanted & _POLL_OUT) and (event & _POLL_READY_OUT):
                writable.append(fd)
        return readable, writable

    def close(self):
        self._masks = {}
        self._poller = None


_EPOLL_IN = getattr(select, 'EPOLLIN', 1)
_EPOLL_OUT = getattr(select, 'EPOLLOUT', 4)
# (as with poll: a hang-up or error counts as ready)
_EPOLL_TROUBLE = getattr(select, 'EPOLLHUP', 16) | \
    getattr(select, 'EPOLLERR', 8)


class EpollWaiter(object):
    """An ``FdWaiter`` on ``select.epoll`` (Linux), for a loop over many
    fds: each wait costs what is ready, not what is watched."""

    def __init__(self):
        self._epoll = select.epoll()
        self._masks = {}

    def watch(self, fd, read=True, write=False):
        mask = (_EPOLL_IN if read else 0) | (_EPOLL_OUT if write else 0)
        old = self._masks.get(fd)
        if not mask:
            if old is not None:
                del self._masks[fd]
                self._epoll.unregister(fd)
            return
        if old == mask:
            return
        if old is None:
            self._epoll.register(fd, mask)
        else:
            self._epoll.modify(fd, mask)
        self._masks[fd] = mask

    def wait(self, timeout=None):
        """As ``FdWaiter.wait``, except that a wait a signal interrupts
        (Python 2; Python 3 resumes it) returns nothing ready: the
        multiplexer's loop, which waits again for the time left, is the
        only user."""
        try:
            # (+1 ms: Python 2 rounds down, and a wait must not end before
            # its time)
            events = self._epoll.poll(-1 if timeout is None
                                      else timeout + 0.001)
        except (IOError, OSError) as e:
            if _errno_of(e) != errno.EINTR:
                raise
            return [], []
        readable, writable = [], []
        for fd, event in events:
            if event & _EPOLL_TROUBLE:
                # (reported whatever the fd is watched for: ready for that)
                wanted = self._masks.get(fd, 0)
                if wanted & _EPOLL_IN:
                    readable.append(fd)
                if wanted & _EPOLL_OUT:
                    writable.append(fd)
                continue
            # (epoll reports no other event than those watched for)
            if event & _EPOLL_IN:
                readable.append(fd)
            if event & _EPOLL_OUT:
                writable.append(fd)
        return readable, writable

    def close(self):
        self._masks = {}
        if self._epoll is not None:
            self._epoll.close()
            self._epoll = None


def new_waiter():
    """An ``EpollWaiter`` where there is epoll, else an ``FdWaiter``."""
    if hasattr(select, 'epoll'):
        return EpollWaiter()
    return FdWaiter()


def wait_for(readers=(), writers=(), timeout=None):
    """Wait once until one of ``readers`` is readable or one of ``writers``
    is writable, or ``timeout`` seconds passed; see ``FdWaiter.wait``."""
    waiter = FdWaiter()
    for fd in set(readers) | set(writers):
        waiter.watch(fd, read=fd in readers, write=fd in writers)
    try:
        return waiter.wait(timeout)
    finally:
        waiter.close()


class PipeEvent(object):
    """A ``threading.Event`` whose ``wait(timeout)`` sleeps in the kernel.

    Python 2's own timed waits poll: they sleep 1 ms, 2 ms, ... up to 50 ms
    between looks, which added milliseconds to every start and stop of a
    test server. Here each waiter sleeps in ``poll()`` on a pipe of its own
    (made for that wait, closed after it), and ``set()`` writes to every
    waiter's pipe. ``pymta.compat.new_event()`` makes one on Python 2 and a
    ``threading.Event`` on Python 3 (whose timed waits do not poll)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._flag = False
        self._waiters = []      # write ends of the waiting pipes

    def is_set(self):
        return self._flag

    isSet = is_set

    def set(self):
        with self._lock:
            self._flag = True
            # (written under the lock: a waiter closes its pipe only after
            # it took the write end out of the list)
            for write_fd in self._waiters:
                try:
                    os.write(write_fd, b'x')
                except OSError:
                    pass
            self._waiters = []

    def clear(self):
        with self._lock:
            self._flag = False

    def wait(self, timeout=None):
        """True once the flag is set; False if ``timeout`` seconds passed
        first (None: no limit)."""
        with self._lock:
            if self._flag:
                return True
            read_fd, write_fd = os.pipe()
            self._waiters.append(write_fd)
        try:
            wait_for([read_fd], (), timeout)
        finally:
            with self._lock:
                if write_fd in self._waiters:
                    self._waiters.remove(write_fd)
            os.close(read_fd)
            os.close(write_fd)
        return self._flag
