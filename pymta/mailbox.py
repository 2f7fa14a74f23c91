# -*- coding: utf-8 -*-
"""``Mailbox``: the messages one server accepted, in the order it accepted
them, for tests to look at and to wait for.

Delivery (any thread) appends; a test thread reads, waits or clears. A
waiter sleeps until a delivery wakes it (``compat.new_event()``: no
polling, on Python 2 either).
"""

from __future__ import absolute_import

import threading

from .compat import new_event
from .fdwait import _now


__all__ = ['Mailbox', 'MessageWaitTimeout']

#: Default ``timeout`` of ``wait_for_messages``: long enough for a loaded CI
#: machine, short enough that a test waiting for mail that never comes fails
#: in reasonable time.
WAIT_SECONDS = 10.0


class MessageWaitTimeout(AssertionError):
    """``wait_for_messages`` timed out: fewer messages arrived than
    expected. (An ``AssertionError``, so test runners report a failure.)"""


class Mailbox(object):
    """The accepted messages (``pymta.model.Message``) of one server.

    It reads like a list (``len(mailbox)``, ``mailbox[0]``, iteration:
    over a snapshot); ``wait_for_messages(count, timeout)`` waits for
    deliveries; ``clear()`` empties it."""

    def __init__(self):
        self._lock = threading.Lock()
        self._messages = []
        # set by every delivery; cleared (under the lock) by a waiter that
        # found too few messages, right before it sleeps
        self._delivered = new_event()

    def append(self, message):
        """Add one accepted message (called by the server)."""
        with self._lock:
            self._messages.append(message)
            self._delivered.set()

    def snapshot(self):
        """A list of the messages so far."""
        with self._lock:
            return list(self._messages)

    def clear(self):
        """Forget every message so far (``wait_for_messages`` counts from
        here)."""
        with self._lock:
            del self._messages[:]

    def wait_for_messages(self, count=1, timeout=WAIT_SECONDS):
        """Wait until at least ``count`` messages arrived (since the last
        ``clear()``); return them all (a list). Raises
        ``MessageWaitTimeout`` if ``timeout`` seconds pass first (None: no
        limit)."""
        deadline = None if timeout is None else _now() + timeout
        while True:
            with self._lock:
                if len(self._messages) >= count:
                    return list(self._messages)
                arrived = len(self._messages)
                self._delivered.clear()
            if deadline is None:
                self._delivered.wait()
                continue
            remaining = deadline - _now()
            if remaining <= 0:
                raise MessageWaitTimeout(
                    'expected %d message(s) within %s s, %d arrived' % (
                        count, timeout, arrived))
            self._delivered.wait(remaining)

    def __len__(self):
        with self._lock:
            return len(self._messages)

    def __iter__(self):
        return iter(self.snapshot())

    def __getitem__(self, index):
        with self._lock:
            return self._messages[index]

    def __bool__(self):
        return len(self) > 0

    __nonzero__ = __bool__

    def __repr__(self):
        return '<Mailbox: %d message(s)>' % len(self)
