# -*- coding: utf-8 -*-
"""Helpers for testing code built on pymta, and pymta itself.

Without sockets: ``MockCommandParser`` and ``MockChannel`` stand in for the
parser and the connection, ``CommandParserHelper``/``CommandParserTestCase``
drive an ``SMTPSession`` command by command, ``DummyAuthenticator`` accepts a
user whose password equals the user name.

With a real server on a free port: ``SMTPTestHelper``, ``SMTPTestCase``,
``MTAThread`` and ``DebuggingMTA``.
"""

from __future__ import absolute_import

import unittest

from .api import IAuthenticator
from .assertions import AssertionsMixin
from .compat import b64encode
from .deliverer import BlackholeDeliverer
from .lib.simple_super import SuperProxy
from .replies import reply_line, reply_lines
from .server_test_helpers import (DebuggingMTA, MTAThread, SMTPTestCase,
                                  SMTPTestHelper)
from .session import SMTPSession


__all__ = ['BlackholeDeliverer', 'CommandParserHelper',
           'CommandParserTestCase', 'DebuggingMTA', 'DummyAuthenticator',
           'MTAThread', 'MockChannel', 'MockCommandParser', 'SMTPTestCase',
           'SMTPTestHelper']


class MockCommandParser(object):
    """Records what a session sends instead of writing it anywhere.

    ``replies``: ``(code, text)`` per reply (``text`` a list for multi-line
    replies); ``messages``: the reply lines as they would appear on the wire
    (without CRLF); ``open``: False once the session closed the connection.
    """

    primary_hostname = 'localhost'

    def __init__(self):
        self.replies = []
        self.messages = []
        self.open = True
        self.maximum_message_size = None
        self.mode = 'command'

    def _assert_open(self):
        assert self.open, 'reply sent after the connection was closed'

    def push(self, code, text):
        self._assert_open()
        self.replies.append((code, text))
        self.messages.append(reply_line(code, text)[:-2])

    def multiline_push(self, code, lines):
        self._assert_open()
        if not isinstance(lines, (list, tuple)):
            lines = list(lines)
        # the very list or tuple the session was given (a policy's custom
        # reply is recorded as the policy returned it)
        self.replies.append((code, lines))
        self.messages.extend(line[:-2] for line in reply_lines(code, lines))

    def close_when_done(self):
        self.open = False

    def set_maximum_message_size(self, max_size):
        self.maximum_message_size = max_size

    def switch_to_command_mode(self):
        self.mode = 'command'

    def switch_to_data_mode(self):
        self.mode = 'data'

    def switch_to_auth_login_mode(self):
        self.mode = 'auth_login'


class MockChannel(object):
    """A connection that records the text lines written to it."""

    def __init__(self):
        self.replies = []
        self.is_closed = False

    def write(self, data):
        self.replies.append(data)

    def close(self):
        self.is_closed = True


class DummyAuthenticator(IAuthenticator):
    """Accepts every user whose password equals the user name."""

    def authenticate(self, username, password, peer):
        return username == password


class _SessionDriver(object):
    """Sends commands to ``self.session`` and checks the replies recorded by
    ``self.command_parser`` (a MockCommandParser)."""

    def _build_session(self, policy=None, authenticator=None):
        self.command_parser = MockCommandParser()
        self.deliverer = BlackholeDeliverer()
        self.session = SMTPSession(command_parser=self.command_parser,
                                   deliverer=self.deliverer, policy=policy,
                                   authenticator=authenticator)
        self.session.new_connection('127.0.0.1', 4567)
        return self.session

    def _count_replies_after(self, action):
        before = len(self.command_parser.replies)
        action()
        new_replies = self.command_parser.replies[before:]
        assert len(new_replies) == 1, \
            'expected exactly one reply, got %r' % (new_replies,)
        return new_replies[0]

    def check_reply_code(self, code, text, expected_first_digit):
        """Assert that ``code`` starts with ``expected_first_digit``."""
        if str(code)[0] != str(expected_first_digit):
            raise AssertionError('expected a %sxx reply, got %s %r' % (
                expected_first_digit, code, text))
        return code, text

    def send(self, command, data=None, expected_first_digit=2):
        """Send one command; assert exactly one reply starting with
        ``expected_first_digit``; return ``(code, text)``."""
        code, text = self._count_replies_after(
            lambda: self.session.handle_input(command, data))
        return self.check_reply_code(code, text, expected_first_digit)

    def send_valid(self, command, data=None):
        return self.send(command, data, expected_first_digit=2)

    def send_invalid(self, command, data=None):
        return self.send(command, data, expected_first_digit=5)

    def _handle_auth_credentials(self, base64_line):
        """Feed one AUTH LOGIN line to the session; assert exactly one
        reply and return it as ``(code, text)``."""
        return self._count_replies_after(
            lambda: self.session.handle_auth_credentials(base64_line))

    def _send_auth_line(self, line, expected_first_digit):
        code, text = self._handle_auth_credentials(line)
        return self.check_reply_code(code, text, expected_first_digit)

    def helo(self):
        return self.send('HELO', 'foo.example.com')

    def ehlo(self):
        return self.send('EHLO', 'fnord')

    def last_reply(self):
        return self.command_parser.replies[-1]

    def last_server_message(self):
        return self.last_reply()[1]

    def check_last_code(self, code):
        """Assert the code of the last reply; return its text."""
        last_code, text = self.last_reply()
        if last_code != code:
            raise AssertionError('expected %s, got %s %r' % (code, last_code,
                                                              text))
        return text

    def send_auth_login(self, username_b64=None, password_b64=None,
                        expect_username_error=False, reduce_roundtrips=True):
        """Run an AUTH LOGIN exchange (user and password default to 'foo');
        with ``reduce_roundtrips`` the user name goes with the command.
        With ``expect_username_error`` the step that sends the user name
        must get a 5xx reply (a refusing policy, bad base64), which ends the
        exchange. Returns the last ``(code, text)``."""
        if username_b64 is None:
            username_b64 = b64encode('foo')
        if password_b64 is None:
            password_b64 = b64encode('foo')
        username_digit = 5 if expect_username_error else 3
        if reduce_roundtrips:
            code, text = self.send('AUTH LOGIN', username_b64,
                                   expected_first_digit=username_digit)
        else:
            code, text = self.send('AUTH LOGIN', expected_first_digit=3)
            assert text == 'VXNlcm5hbWU6', text
            code, text = self._send_auth_line(username_b64, username_digit)
        if expect_username_error:
            return code, text
        assert text == 'UGFzc3dvcmQ6', text
        return self._handle_auth_credentials(password_b64)

    def close_connection(self):
        """QUIT; assert the 221 and that the connection was closed."""
        code, text = self.send('QUIT')
        assert (code, text) == (221, 'localhost closing connection'), \
            (code, text)
        assert not self.command_parser.open


class CommandParserHelper(_SessionDriver):
    """Drives an ``SMTPSession`` through a ``MockCommandParser``: attributes
    ``command_parser``, ``deliverer`` (a BlackholeDeliverer) and
    ``session``; the connection from 127.0.0.1:4567 is already greeted."""

    def __init__(self, policy=None, authenticator=None):
        self.new_session(policy=policy, authenticator=authenticator)

    def new_session(self, policy=None, authenticator=None):
        """Start over with a new connection."""
        return self._build_session(policy=policy, authenticator=authenticator)


class CommandParserTestCase(AssertionsMixin, _SessionDriver,
                            unittest.TestCase):
    """A test case with a greeted session and the helper methods of
    ``CommandParserHelper``. ``tearDown`` sends QUIT if the connection is
    still open. ``self.super()`` calls the parent's version of the current
    method, as in pymta 0.5 suites."""

    super = SuperProxy()

    def setUp(self, policy=None):
        super(CommandParserTestCase, self).setUp()
        self.init(policy=policy)

    def init(self, policy=None, authenticator=None):
        """(Re)start with a new connection, ``policy`` and
        ``authenticator``."""
        return self._build_session(policy=policy, authenticator=authenticator)

    def tearDown(self):
        if self.command_parser.open:
            self.close_connection()
        super(CommandParserTestCase, self).tearDown()


def self_signed_certificate(directory):
    """A throwaway certificate for TLS tests: writes ``cert.pem`` and
    ``key.pem`` into ``directory`` and returns their paths, for
    ``PythonMTA(tls=...)`` (clients trust ``cert.pem`` as their CA file).
    See ``pymta.certificates``. (Not in ``__all__``: SPEC section 1 lists
    this module's names.)"""
    from .certificates import self_signed_certificate as make
    return make(directory)
