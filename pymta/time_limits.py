# -*- coding: utf-8 -*-
"""The time limits of one connection (RFC 5321 §4.5.3.2): ``TimeLimits``
keeps their deadlines for ``serve_connection``, which knows no SMTP."""

from __future__ import absolute_import

from .fdwait import _now


__all__ = ['TimeLimits']


class TimeLimits(object):
    """The time limits of one connection (RFC 5321 §4.5.3.2), kept by a
    driver that knows no SMTP: it tells a complete command by the reply the
    core wrote for it, and the DATA phase by ``is_in_data_mode()``.

    * ``command_timeout``: seconds to wait for the next complete command
      (or, in the DATA phase, for the next chunk of message data); only a
      reply restarts it, so bytes that do not complete a command do not.
    * ``data_seconds``: the most one DATA phase (354 to the end of the
      data) may take, however steadily the data trickles in.
    * ``session_seconds``: the most the whole connection may take.

    Each is None for no limit. ``deadline`` is the earliest of them (a
    ``_now()`` time, or None); ``expired`` is set by ``after_input``."""

    __slots__ = ('command_timeout', 'data_seconds', 'command_deadline',
                 'data_deadline', 'session_deadline', 'deadline', 'expired',
                 'unlimited', 'in_data_mode')

    def __init__(self, command_timeout, data_seconds, session_seconds):
        now = _now()
        self.command_timeout = command_timeout
        self.data_seconds = data_seconds
        self.command_deadline = None
        if command_timeout is not None:
            self.command_deadline = now + command_timeout
        self.data_deadline = None
        self.session_deadline = None
        if session_seconds is not None:
            self.session_deadline = now + session_seconds
        self.unlimited = command_timeout is None and data_seconds is None \
            and session_seconds is None
        self.expired = False
        self.in_data_mode = False   # (as the last after_input was told)
        self._set_deadline()

    def _set_deadline(self):
        # (runs for every reply: no list, no min())
        deadline = self.command_deadline
        other = self.data_deadline
        if other is not None and (deadline is None or other < deadline):
            deadline = other
        other = self.session_deadline
        if other is not None and (deadline is None or other < deadline):
            deadline = other
        self.deadline = deadline

    def after_input(self, replied, is_in_data_mode):
        """The core has handled a chunk of input: ``replied`` is true if it
        wrote a reply (a command, or the message data, was complete);
        ``is_in_data_mode``: whether it reads message data now (before this
        chunk it did if the call before said so: only input moves the core
        into and out of the DATA phase)."""
        was_in_data_mode = self.in_data_mode
        self.in_data_mode = is_in_data_mode
        if self.unlimited:
            return
        now = _now()
        if replied or was_in_data_mode:
            if self.command_timeout is not None:
                self.command_deadline = now + self.command_timeout
            if not is_in_data_mode:
                self.data_deadline = None
            elif replied or self.data_deadline is None:
                # a reply that leaves the core in data mode is a 354: a new
                # DATA phase begins
                self.data_deadline = None
                if self.data_seconds is not None:
                    self.data_deadline = now + self.data_seconds
            self._set_deadline()
        deadline = self.deadline
        self.expired = deadline is not None and now >= deadline

    def time_left(self):
        """Seconds until the earliest deadline (0 once it passed), or None."""
        deadline = self.deadline
        if deadline is None:
            return None
        left = deadline - _now()
        return left if left > 0.0 else 0.0

    def what_expired(self):
        now = _now()
        if self.session_deadline is not None and now >= self.session_deadline:
            return 'session time limit'
        if self.data_deadline is not None and now >= self.data_deadline:
            return 'DATA time limit'
        return 'command timeout'
