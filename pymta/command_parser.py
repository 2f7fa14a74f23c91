# -*- coding: utf-8 -*-
"""The legacy command parser of pymta 0.4-0.8: ``SMTPCommandParser``, with
``ParserImplementation``, ``ClientDisconnectedError`` and ``WorkerProcess``
importable from here as they always were.

``SMTPCommandParser`` is a channel-writing face of
``pymta.connection.SMTPConnection``: what the connection answers is
written to the channel a line at a time, and ``channel.close()`` is called
when the connection ends. Its ``primary_hostname`` defaults to
``socket.getfqdn()`` (client suites compare replies with it), which the
core never looks up itself.
"""

from __future__ import absolute_import

import socket

from .api import PyMTAException
from .connection import SMTPConnection
from .framing import ParserImplementation
from .replies import reply_line, reply_lines
from .session import SMTPSession
from .states import AUTH_LINE, COMMAND_LINE, MESSAGE_DATA
from .worker import WorkerProcess


__all__ = ['ClientDisconnectedError', 'ParserImplementation',
           'SMTPCommandParser', 'WorkerProcess']


class ClientDisconnectedError(PyMTAException):
    """The client closed the connection."""


class SMTPCommandParser(object):
    """The command parser of one connection: ``channel`` has
    ``write(text)`` and ``close()``; creating the parser greets the client.
    ``process_new_data(data)`` takes any chunk of input (text or bytes).
    ``max_errors``, ``max_auth_failures`` and ``default_max_message_size``:
    see ``SMTPConnection``."""

    def __init__(self, channel, remote_ip_string, remote_port, deliverer,
                 policy=None, authenticator=None, primary_hostname=None,
                 max_errors=None, max_auth_failures=None,
                 default_max_message_size=None):
        self._channel = channel
        self._parser = ParserImplementation()
        self._default_max_message_size = default_max_message_size
        self._is_closed = False
        self._session = None
        self._connection = SMTPConnection(
            deliverer, policy=policy, authenticator=authenticator,
            hostname=primary_hostname or socket.getfqdn(),
            max_errors=max_errors, max_auth_failures=max_auth_failures,
            default_max_message_size=default_max_message_size)
        self._connection.start(remote_ip_string, remote_port)
        self._write_output()

    @property
    def primary_hostname(self):
        return self._connection.dialogue.hostname

    @primary_hostname.setter
    def primary_hostname(self, hostname):
        self._connection.dialogue.hostname = hostname

    @property
    def session(self):
        """The dialogue as an ``SMTPSession`` answering through this
        parser."""
        if self._session is None:
            self._session = SMTPSession(self, None,
                                        dialogue=self._connection.dialogue)
        return self._session

    def process_new_data(self, data):
        """Handle the next chunk of input (bytes or text, split anywhere)."""
        self._connection.receive_data(data)
        self._write_output()

    def _write_output(self):
        if self._connection.dialogue.replies:
            write = self._channel.write
            for line in self._connection.take_lines():
                write(line)
        if self._connection.closing and not self._is_closed:
            self._is_closed = True
            self._channel.close()

    # --- the interface SMTPSession answers through ------------------------
    def push(self, code, text=None):
        """Write one reply line ``'<code> <text>'``."""
        self._channel.write(reply_line(code, text))

    def multiline_push(self, code, lines):
        """Write a multi-line reply: ``'<code>-<line>'`` for all but the last
        line, ``'<code> <line>'`` for the last (one write a line)."""
        if not isinstance(lines, (list, tuple)):
            lines = list(lines)
        for line in reply_lines(code, lines):
            self._channel.write(line)

    def close_when_done(self):
        """Close the connection once the replies written so far are sent."""
        self._connection.close()
        self._write_output()

    def set_maximum_message_size(self, max_size):
        """The limit on message data (None: ``default_max_message_size``)."""
        if max_size is None:
            max_size = self._default_max_message_size
        self._connection.max_message_size = max_size

    def switch_to_command_mode(self):
        self._connection.read_as(COMMAND_LINE)

    def switch_to_data_mode(self):
        self._connection.read_as(MESSAGE_DATA)

    def switch_to_auth_login_mode(self):
        self._connection.read_as(AUTH_LINE)

    def is_in_command_mode(self):
        return self._connection.reader is COMMAND_LINE

    def is_in_data_mode(self):
        return self._connection.reader is MESSAGE_DATA

    def is_in_auth_login_mode(self):
        return self._connection.reader is AUTH_LINE
