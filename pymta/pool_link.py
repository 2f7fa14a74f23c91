# -*- coding: utf-8 -*-
"""A worker's side of the fork path's pool: ``PoolLink`` holds what ties a
worker process to its parent (the lifeline pipe, the status pipe, its slot
on the ``WorkerBoard``) and speaks the status pipe's few octets."""

from __future__ import absolute_import

import os

from .fdwait import _now
from .worker_board import WorkerBoard


__all__ = ['COUNT_IDLE', 'ParentGone', 'PoolLink', 'READY', 'RETIRING']

# What a worker writes to its status pipe (end of file there means the
# worker is gone):
#: the worker is ready to accept
READY = b'R'
#: the parent should count the idle workers: to start more, or to answer
#: new clients with a 421 while none is idle
COUNT_IDLE = b'B'
#: the worker exits because it was idle too long (not a crash: the parent
#: replaces no one)
RETIRING = b'X'


class ParentGone(Exception):
    """The parent process is gone (its status pipe is closed): stop."""


class PoolLink(object):
    """(fork path) What ties a worker process to the parent's pool.

    * ``lifeline_fd``: read end of the parent's lifeline pipe; end of file
      there means stop (the parent closes the write end on shutdown, and
      the kernel closes it when the parent dies in any way).
    * ``status_fd``: write end of this worker's status pipe (``READY``,
      ``COUNT_IDLE``, ``RETIRING``).
    * ``board``, ``slot``: the ``WorkerBoard`` and this worker's slot on it.
    * ``inherited``: sockets and fds of the parent that the worker closes
      first thing (``close_inherited``).
    * ``idle_seconds``: after this long without a connection, exit if more
      than ``min_spare`` workers are idle (``WorkerBoard.retire``); None:
      never.
    * ``message_socket``: this worker's end of its ``message_pipe`` socket
      pair (``PythonMTA(collect_messages=True)``), or None.
    """

    __slots__ = ('lifeline_fd', 'status_fd', 'board', 'slot', 'inherited',
                 'idle_seconds', 'wake_parent', 'message_socket')

    def __init__(self, lifeline_fd, status_fd, board, slot, inherited=(),
                 idle_seconds=None, message_socket=None):
        self.lifeline_fd = lifeline_fd
        self.status_fd = status_fd
        self.board = board
        self.slot = slot
        self.inherited = inherited
        self.idle_seconds = idle_seconds
        self.message_socket = message_socket
        # set by session_ended, reported by the accept loop
        self.wake_parent = False

    def close_inherited(self):
        for thing in self.inherited:
            try:
                if isinstance(thing, int):
                    os.close(thing)
                else:
                    thing.close()
            except (IOError, OSError):
                pass
        self.inherited = ()

    def report(self, status):
        if self.status_fd is None:
            return
        try:
            os.write(self.status_fd, status)
        except (IOError, OSError):
            # the parent is gone (EPIPE): stop
            raise ParentGone()

    def mark(self, state):
        """Mark this worker idle or busy on the board; wake the parent if
        it should start more workers."""
        if self.board.mark(self.slot, state):
            self.report(COUNT_IDLE)

    def session_ended(self):
        """(``serve_connection``'s ``on_session_end``) Mark this worker
        idle before its client can tell that the session ended, so that a
        client reconnecting at once does not find every worker busy (and
        get the parent's "too busy" 421). Whether to wake the parent is
        kept in ``wake_parent`` for the accept loop: reporting may raise."""
        self.wake_parent = self.board.mark(self.slot, WorkerBoard.IDLE)

    def retire(self):
        """(idle for ``idle_seconds``) None if this worker may exit now
        (``WorkerBoard.retire``), else the ``_now()`` time to ask again:
        after another ``idle_seconds``, or in a moment where the board's
        lock was taken (the workers of a burst retire at the same time;
        the slot spreads their next tries)."""
        retired = self.board.retire(self.slot)
        if retired:
            return None
        return _now() + (self.idle_seconds if retired is False
                         else 0.001 * (1 + self.slot % 16))
