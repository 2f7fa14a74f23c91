# -*- coding: utf-8 -*-
"""The SMTP framing, sans I/O: octets in, commands and messages out.

``SMTPParser`` is fed whatever arrived from the client
(``process_new_data``), in chunks split anywhere. In command mode (and in the
AUTH LOGIN exchange) it cuts the input into lines at LF (CRLF, or a bare LF
as typed into ``nc``) and hands each line to the session; in data mode it
collects the message until ``<CRLF>.<CRLF>``, undoes the dot-stuffing and
hands the text to the session as ``MSGDATA``. Replies are written to the
channel (``write(text)``, one call per line); ``close()`` on the channel asks
the server to close the connection once the replies are sent.

Limits: a command line over 2048 octets is answered ``500 Line too long`` and
never buffered; message data beyond the maximum message size (the policy's,
else ``default_max_message_size``) is read and thrown away until the end of
the data, then answered with one 552. The error limits (``max_errors``,
``max_auth_failures``) are the session's.
"""

from __future__ import absolute_import

import re

from .api import PyMTAException
from .commands import COMMANDS
from .compat import native_from_wire, text_to_wire_bytes, unicode
from .replies import reply_for, reply_line, reply_lines
from .session import SMTPSession


__all__ = ['ClientDisconnectedError', 'ParserImplementation', 'SMTPParser']

MAX_COMMAND_LINE_OCTETS = 2048

_COMMAND_MODE = 'command'
_DATA_MODE = 'data'
_AUTH_LOGIN_MODE = 'auth_login'

_END_OF_DATA = b'\r\n.\r\n'
# Data mode starts right after the CRLF that ended the DATA line: the
# collector pretends that CRLF is there so a '.' line right away ends an
# empty message.
_DATA_START = b'\r\n'


class ClientDisconnectedError(PyMTAException):
    """The client closed the connection."""


class ParserImplementation(object):
    """Splits one command line into ``(command, parameter)``; the line
    parser of pymta 0.4 (``SMTPCommandParser._parser`` is one).

    ``allowed_commands`` (what ``SMTPSession.get_all_allowed_internal_commands``
    returns) is kept as an attribute for 0.4 callers; parsing does not depend
    on it, so a line splits the same in every state and the session alone
    decides whether the command is allowed."""

    # 'MAIL FROM:...', 'RCPT TO:...': the keyword ends at the colon
    _KEYWORD_WITH_COLON = re.compile(
        r'^\s*(%s)\s*:(.*)$' % '|'.join(sorted(
            command.verb + r'\s+' + command.keyword
            for command in COMMANDS.values()
            if command.keyword_ends_at_colon)),
        re.IGNORECASE | re.DOTALL)
    # 'AUTH PLAIN ...': the keyword (the mechanism) is the next word
    _VERBS_WITH_WORD_KEYWORD = frozenset(
        command.verb for command in COMMANDS.values()
        if command.keyword and not command.keyword_ends_at_colon)

    def __init__(self, allowed_commands=()):
        self.allowed_commands = allowed_commands

    def parse(self, line):
        """``'RCPT TO:<a@x>'`` -> ``('RCPT TO', '<a@x>')``, ``'helo foo'`` ->
        ``('helo', 'foo')``, ``'AUTH PLAIN abc'`` -> ``('AUTH PLAIN', 'abc')``,
        ``'NOOP'`` -> ``('NOOP', None)``; the command as sent."""
        match = self._KEYWORD_WITH_COLON.match(line)
        if match is not None:
            return match.group(1), (match.group(2).strip() or None)
        parts = line.strip().split(None, 1)
        if not parts:
            return '', None
        command = parts[0]
        parameter = parts[1] if len(parts) > 1 else None
        if parameter is not None and \
                command.upper() in self._VERBS_WITH_WORD_KEYWORD:
            mechanism_and_rest = parameter.split(None, 1)
            command = command + ' ' + mechanism_and_rest[0]
            parameter = mechanism_and_rest[1] if len(mechanism_and_rest) > 1 \
                else None
        return command, parameter


class _MessageCollector(object):
    """Collects one message's data until ``<CRLF>.<CRLF>``; keeps at most
    ``max_size`` octets (plus one chunk)."""

    __slots__ = ('_chunks', '_tail', '_size', '_max_size', 'is_too_big')

    def __init__(self, max_size):
        self._chunks = []
        self._tail = _DATA_START
        # octets seen, counting the pretended CRLF at the start
        self._size = 0
        self._max_size = max_size
        self.is_too_big = False

    def feed(self, data, start):
        """Consume ``data[start:]``; return the position right after the end
        of data, or -1 if the end has not arrived yet."""
        window = self._tail + data[start:] if start else self._tail + data
        end = window.find(_END_OF_DATA)
        if end >= 0:
            self._keep(window[:end])
            return start + end + len(_END_OF_DATA) - len(self._tail)
        # The last four octets may be the start of a terminator split over
        # chunks: look at them again with the next chunk.
        self._keep(window[:-4])
        self._tail = window[-4:]
        return -1

    def _keep(self, octets):
        self._size += len(octets)
        if self.is_too_big:
            return
        self._chunks.append(octets)
        if self._max_size is not None and \
                self._size - len(_DATA_START) > self._max_size:
            self.is_too_big = True
            self._chunks = []

    def message_text(self):
        """The message as a native string: CRLF -> LF, dot-stuffing undone
        (also after a bare LF, as Python 3's smtplib stuffs bytes messages
        with bare LFs), the final line end removed."""
        # Each step drops its input right away: at most two copies of the
        # message are alive at any moment.
        octets = b''.join(self._chunks)
        self._chunks = []
        octets = octets.replace(b'\r\n', b'\n')
        octets = octets.replace(b'\n..', b'\n.')
        # the pretended CRLF at the start is one LF now
        return native_from_wire(octets, 1 if octets else 0)


class SMTPParser(object):
    """Sans-I/O SMTP parser for one connection.

    ``channel`` has ``write(text)`` and ``close()``. Creating the parser creates
    the ``SMTPSession`` (attribute ``session``) and sends the greeting.
    ``primary_hostname``: the server's name in replies (the legacy
    ``pymta.command_parser.SMTPCommandParser`` looks it up when it is not
    given; the server passes the name it looked up once). ``max_errors``
    and ``max_auth_failures`` go to the session (see ``SMTPSession``). ``default_max_message_size``: the
    limit on message data when the policy's ``max_message_size(peer)`` is
    None (the policy's own limit always wins; EHLO announces only that);
    None: no limit.
    """

    def __init__(self, channel, remote_ip_string, remote_port, deliverer,
                 policy=None, authenticator=None, primary_hostname='localhost',
                 max_errors=None, max_auth_failures=None,
                 default_max_message_size=None):
        self._channel = channel
        self.primary_hostname = primary_hostname
        self._parser = ParserImplementation()
        self._mode = _COMMAND_MODE
        self._default_max_message_size = default_max_message_size
        self._max_message_size = default_max_message_size
        self._partial_line = b''
        self._is_discarding_line = False
        self._collector = None
        self._is_closed = False
        self.session = SMTPSession(self, deliverer, policy=policy,
                                   authenticator=authenticator,
                                   max_errors=max_errors,
                                   max_auth_failures=max_auth_failures)
        self.session.new_connection(remote_ip_string, remote_port)

    # --- input ------------------------------------------------------------
    def process_new_data(self, data):
        """Handle the next chunk of input (bytes or text, split anywhere)."""
        if isinstance(data, unicode):
            data = text_to_wire_bytes(data)
        if self._partial_line:
            data = self._partial_line + data
            self._partial_line = b''
        position, length = 0, len(data)
        while position < length and not self._is_closed:
            if self._mode == _DATA_MODE:
                position = self._process_message_data(data, position)
                continue
            end_of_line = data.find(b'\n', position)
            if end_of_line < 0:
                self._keep_partial_line(data[position:])
                return
            line = data[position:end_of_line]
            position = end_of_line + 1
            if self._is_discarding_line:
                self._is_discarding_line = False
                self._reply_line_too_long()
                continue
            if line.endswith(b'\r'):
                line = line[:-1]
            if len(line) > MAX_COMMAND_LINE_OCTETS:
                self._reply_line_too_long()
                continue
            self._process_line(native_from_wire(line))

    def _keep_partial_line(self, octets):
        # +1: the CR of a CRLF may be all that is missing of the line end.
        if self._is_discarding_line or \
                len(octets) > MAX_COMMAND_LINE_OCTETS + 1:
            self._is_discarding_line = True
        else:
            self._partial_line = octets

    def _reply_line_too_long(self):
        code, text = reply_for('line_too_long')
        # (through the session: it counts the error)
        self.session.reply(code, text)
        if self._mode == _AUTH_LOGIN_MODE:
            # the credential was not read: the exchange cannot go on
            self.session.abort_auth_login()

    def _process_line(self, line):
        if self._mode == _AUTH_LOGIN_MODE:
            self.session.handle_auth_credentials(line)
            return
        command, parameter = self._parser.parse(line)
        self.session.handle_input(command, parameter)

    def _process_message_data(self, data, position):
        if self._collector is None:
            self._collector = _MessageCollector(self._max_message_size)
        collector = self._collector
        end = collector.feed(data, position)
        if end < 0:
            return len(data)
        self._collector = None
        if collector.is_too_big:
            self.session.input_exceeds_limits()
        else:
            self.session.handle_input('MSGDATA', collector.message_text())
        return end

    # --- output (the interface the session uses) -------------------------
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
        self._is_closed = True
        self._channel.close()

    def set_maximum_message_size(self, max_size):
        """The limit on message data (None: the parser's
        ``default_max_message_size``)."""
        if max_size is None:
            max_size = self._default_max_message_size
        self._max_message_size = max_size

    def switch_to_command_mode(self):
        self._mode = _COMMAND_MODE

    def switch_to_data_mode(self):
        self._mode = _DATA_MODE
        self._collector = None

    def switch_to_auth_login_mode(self):
        self._mode = _AUTH_LOGIN_MODE

    def is_in_command_mode(self):
        return self._mode == _COMMAND_MODE

    def is_in_data_mode(self):
        return self._mode == _DATA_MODE

    def is_in_auth_login_mode(self):
        return self._mode == _AUTH_LOGIN_MODE
