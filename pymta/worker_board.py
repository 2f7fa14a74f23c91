# -*- coding: utf-8 -*-
"""The fork path's record of idle and busy workers: ``WorkerBoard``, one
slot per worker in memory the workers share with their parent."""

from __future__ import absolute_import


__all__ = ['WorkerBoard']


class WorkerBoard(object):
    """What the workers of the fork path are doing, in memory they share
    with their parent, so that no report costs a system call.

    Each worker has a slot (``IDLE`` or ``BUSY``; ``FREE`` when no worker
    has it; a multiplexing worker is ``SERVING`` while it holds some
    connections and has room for more: it counts as idle, "available",
    everywhere here, but it is not empty). A worker marks itself busy
    when it accepts a connection and idle when the connection ends; only
    when that leaves fewer than ``min_spare`` idle workers, and a slot is
    free (the parent may start another worker), does it wake the parent
    (through its status pipe),
    which then counts the idle workers and starts more. With every slot
    taken it wakes the parent only when it leaves no worker idle: the
    parent then answers new clients itself (``421 ... too busy``) while
    that lasts. An idle worker beyond ``min_spare`` may retire
    (``retire``).

    ``lock`` (a multiprocessing lock: taking a free one is no system call)
    makes marking and counting one step, so two workers going busy at once
    cannot both count the other as idle. It is never waited for: a worker
    that finds it taken (by a sibling marking right now, or by one killed
    while it held it) marks without it and wakes the parent anyway. Where
    the platform has no lock to share, a worker counts without one; the
    race then costs at most a late spare worker."""

    FREE, IDLE, BUSY, SERVING = 0, 1, 2, 3

    def __init__(self, slots, lock, min_spare):
        self.slots = slots          # a shared array of bytes (RawArray('b'))
        self.lock = lock
        self.min_spare = min_spare

    def mark(self, slot, state):
        """Set ``slot`` to ``state``; True if the parent should count the
        idle workers (there may be fewer than ``min_spare``)."""
        lock = self.lock
        if lock is not None and not lock.acquire(False):
            self.slots[slot] = state
            return True
        try:
            slots = self.slots
            slots[slot] = state
            states = slots[:]
            idle = self._available(states)
            if self.FREE in states:
                return idle < self.min_spare
            # with every slot taken the parent may not start another worker:
            # it is woken only when no worker is left to accept, to turn new
            # clients away with a 421 until one is idle again
            return idle == 0
        finally:
            if lock is not None:
                lock.release()

    def retire(self, slot):
        """The worker of ``slot`` has been idle for a while and would exit:
        True (the slot is ``FREE`` now) if more than ``min_spare`` workers
        are idle, else False. Decided under the lock, so that idle workers
        retiring at the same moment never leave fewer than ``min_spare``;
        if the lock is taken, None (ask again in a moment: the workers of
        a burst tend to retire at the same time). (Without a lock, two at
        once may leave one too few: the parent then starts one.)"""
        lock = self.lock
        if lock is not None and not lock.acquire(False):
            return None
        try:
            slots = self.slots
            if slots[slot] != self.IDLE or \
                    self.idle_workers() <= self.min_spare:
                return False
            slots[slot] = self.FREE
            return True
        finally:
            if lock is not None:
                lock.release()

    def idle_workers(self):
        """The workers that can take a connection (``IDLE`` or
        ``SERVING``)."""
        return self._available(self.slots[:])

    @classmethod
    def _available(cls, states):
        return states.count(cls.IDLE) + states.count(cls.SERVING)

    def has_empty_worker(self):
        """Does a worker hold no connection (``IDLE``)?"""
        return self.IDLE in self.slots[:]
