# -*- coding: utf-8 -*-
"""Test doubles shared by the tests of the sans-I/O core (not collected)."""

from __future__ import absolute_import

import base64

from pymta.api import IMTAPolicy


def b64(value):
    """Base64 of ``value`` (text is UTF-8 encoded first), as a native str."""
    if not isinstance(value, bytes):
        value = value.encode('utf-8')
    return str(base64.b64encode(value).decode('ascii'))


class RecordingChannel(object):
    """A channel for SMTPCommandParser that records what is written (as text)
    and counts writes after close(); ``fail_after_close`` makes such a write
    an AssertionError at once."""

    def __init__(self, fail_after_close=False):
        self.written = []
        self.closed = False
        self.writes_after_close = 0
        self.fail_after_close = fail_after_close

    def write(self, data):
        if self.closed:
            assert not self.fail_after_close, 'write after close'
            self.writes_after_close += 1
        if isinstance(data, bytes) and not isinstance(data, str):
            data = data.decode('latin-1')
        self.written.append(data)

    def close(self):
        self.closed = True


class RecordingDeliverer(object):
    """Keeps every accepted message in ``messages``."""

    def __init__(self):
        self.messages = []

    def new_message_accepted(self, msg):
        self.messages.append(msg)


class SizePolicy(IMTAPolicy):
    """Accepts everything; ``max_message_size`` is ``max_size``."""

    def __init__(self, max_size):
        IMTAPolicy.__init__(self)
        self.max_size = max_size

    def max_message_size(self, peer):
        return self.max_size
