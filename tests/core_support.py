# -*- coding: utf-8 -*-
"""Test doubles shared by the tests of the sans-I/O core (not collected)."""

from __future__ import absolute_import

import base64
import logging

from pymta.api import IMessageDeliverer, IMTAPolicy


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


class RecordingDeliverer(IMessageDeliverer):
    """Keeps every accepted message in ``messages``; ``on_delivery(msg)`` is
    called first, then ``exception`` (if any) is raised instead of keeping
    the message."""

    def __init__(self, exception=None, on_delivery=None):
        self.messages = []
        self.exception = exception
        self.on_delivery = on_delivery

    def new_message_accepted(self, msg):
        if self.on_delivery is not None:
            self.on_delivery(msg)
        if self.exception is not None:
            raise self.exception
        self.messages.append(msg)


class RecordingAuthenticator(object):
    """Records every ``(username, password, peer)`` in ``calls``; accepts
    when the password is the user name, unless ``result`` says otherwise
    or ``exception`` is raised."""

    def __init__(self, result=None, exception=None):
        self.calls = []
        self.result = result
        self.exception = exception

    def authenticate(self, username, password, peer):
        self.calls.append((username, password, peer))
        if self.exception is not None:
            raise self.exception
        if self.result is not None:
            return self.result
        return username == password

    def credentials(self):
        """``(username, password)`` of every call."""
        return [(username, password) for username, password, _ in self.calls]


class SizePolicy(IMTAPolicy):
    """Accepts everything; ``max_message_size`` is ``max_size``."""

    def __init__(self, max_size):
        IMTAPolicy.__init__(self)
        self.max_size = max_size

    def max_message_size(self, peer):
        return self.max_size


def converse(test, script, connection=None, **connection_options):
    """Run a wire dialogue against an ``SMTPConnection`` and check every
    octet the server sends. ``script`` is a text of lines ``C: <line>`` (the
    client sends the line and CRLF), ``S: <line>`` (the server answers this
    reply line, exactly, CRLF included, to the client line just before it);
    blank lines and lines starting with ``#`` are ignored. A client line
    with no ``S:`` after it must get no reply. The greeting comes first, so
    a script starts with ``S: 220 ...``. Returns the connection (started
    here unless ``connection`` is given; ``connection_options`` go to
    ``SMTPConnection``, the deliverer defaults to a RecordingDeliverer)."""
    from pymta.connection import SMTPConnection
    if connection is None:
        connection_options.setdefault('deliverer', RecordingDeliverer())
        connection = SMTPConnection(**connection_options)
        connection.start('127.0.0.1', 4567)
    sent, expected = ['(the connection)'], []

    def check():
        got = connection.data_to_send()
        want = b''.join((line if isinstance(line, bytes) else
                         line.encode('latin-1')) + b'\r\n'
                        for line in expected)
        test.assertEqual(want, got, 'after %r' % (sent,))
        del expected[:]

    for line in script.splitlines():
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        who, text = line[:2], line[3:]
        if who == 'C:':
            check()
            sent = [text]
            octets = text if isinstance(text, bytes) else \
                text.encode('latin-1')
            connection.receive_data(octets + b'\r\n')
        elif who == 'S:':
            expected.append(text)
        else:
            raise ValueError('not a script line: %r' % (line,))
    check()
    return connection


def make_noop_fail(test):
    """Until ``test`` ends, the core raises at NOOP: a fault in pymta
    itself (a bug), made on purpose."""
    from pymta.dialogue import Dialogue

    def smtp_noop(dialogue, command, arguments):
        raise RuntimeError('a bug in the core, on purpose')
    saved = Dialogue.smtp_noop
    Dialogue.smtp_noop = smtp_noop
    test.addCleanup(setattr, Dialogue, 'smtp_noop', saved)


class PymtaLog(logging.Handler):
    """``with PymtaLog() as log:`` keeps what the logger 'pymta' logs at
    ``level`` and above (``log.messages``) off stderr. INFO by default: the
    transcript (DEBUG) is on where a test runner captures DEBUG (nose)."""

    def __init__(self, level=logging.INFO):
        logging.Handler.__init__(self, level)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())

    def __enter__(self):
        self.logger = logging.getLogger('pymta')
        self.saved = self.logger.propagate
        self.logger.propagate = False
        self.logger.addHandler(self)
        return self

    def __exit__(self, *exc_info):
        self.logger.removeHandler(self)
        self.logger.propagate = self.saved
        return False
