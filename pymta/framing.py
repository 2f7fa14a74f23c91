# -*- coding: utf-8 -*-
"""How the client's octets are cut up, sans I/O: a command line into command
and argument (``ParserImplementation``), message data until
``<CRLF>.<CRLF>`` (``MessageCollector``), the BDAT chunks of a message
(``ChunkCollector``). ``pymta.connection`` decides which
applies when.

Limits: a command line (or AUTH LOGIN line) over ``MAX_COMMAND_LINE_OCTETS``
is refused and never buffered; message data beyond the maximum message size
is read and thrown away until its end (plus at most one chunk kept).
"""

from __future__ import absolute_import

import re

from .commands import COMMANDS
from .message_octets import text_from_octets


__all__ = ['ChunkCollector', 'MAX_COMMAND_LINE_OCTETS', 'MessageCollector',
           'ParserImplementation']

MAX_COMMAND_LINE_OCTETS = 2048

_END_OF_DATA = b'\r\n.\r\n'
# Data starts right after the CRLF that ended the DATA line: the collector
# pretends that CRLF is there so a '.' line right away ends an empty
# message.
_DATA_START = b'\r\n'


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


class MessageCollector(object):
    """Collects one message's data until ``<CRLF>.<CRLF>``; keeps at most
    ``max_size`` octets (plus one chunk)."""

    __slots__ = ('_chunks', '_tail', '_skip', '_first_line_checked',
                 '_size', '_max_size', 'is_too_big')

    def __init__(self, max_size):
        self._chunks = []
        self._tail = _DATA_START
        # octets at the window's start not to keep: what is left of the
        # pretended CRLF, and the stuffed dot of the first line
        self._skip = len(_DATA_START)
        self._first_line_checked = False
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
            # The terminator's CRLF ends the last line: it is kept.
            self._keep(window, end, end + 2)
            return start + end + len(_END_OF_DATA) - len(self._tail)
        # The last four octets may be the start of a terminator split over
        # chunks: look at them again with the next chunk.
        end = max(len(window) - 4, 0)
        self._keep(window, end, end)
        self._tail = window[-4:]
        return -1

    def _keep(self, window, end, stop):
        """``window[:end]`` is message data (the pretended CRLF included),
        counted; ``window[:stop]`` is kept, less the octets to skip."""
        self._size += end
        skip = self._skip
        if not self._first_line_checked and len(window) >= skip + 2:
            # (always so before the first octet of the message is kept)
            self._first_line_checked = True
            if window[skip:skip + 2] == b'..':
                # The first line is dot-stuffed; the join in
                # message_bytes() sees no LF before it.
                skip += 1
        begin = min(skip, stop)
        self._skip = skip - begin
        if self.is_too_big:
            return
        if stop > begin:
            self._chunks.append(window[begin:stop])
        if self._max_size is not None and \
                self._size - len(_DATA_START) > self._max_size:
            self.is_too_big = True
            self._chunks = []

    @property
    def octets_received(self):
        """The octets the client sent before the final ``.`` line (so far),
        as sent (dot-stuffing included)."""
        # (the pretended CRLF stands in for the one the terminator takes)
        return self._size

    def message_bytes(self):
        """The message's octets (``Message.msg_bytes``): as sent, with
        dot-stuffing undone (also after a bare LF, as Python 3's smtplib
        stuffs bytes messages with bare LFs); the last line's CRLF kept
        (RFC 5321: the terminator is ``.<CRLF>`` after it); ``b''`` for an
        empty message."""
        # Each step drops its input right away: at most two copies of the
        # message are alive at any moment.
        octets = b''.join(self._chunks)
        self._chunks = []
        return octets.replace(b'\n..', b'\n.')

    def message_text(self):
        """The message as a native string (``Message.msg_data``): CRLF ->
        LF, dot-stuffing undone, the final line end removed."""
        return text_from_octets(self.message_bytes())


class ChunkCollector(object):
    """Collects the BDAT chunks of one message (CHUNKING, RFC 3030): octets
    as they are, no dot-stuffing; keeps at most ``max_size`` octets in all
    (None: no limit), counting the rest."""

    __slots__ = ('_chunks', 'size', '_max_size', 'is_too_big')

    def __init__(self, max_size):
        self._chunks = []
        #: octets received so far
        self.size = 0
        self._max_size = max_size
        self.is_too_big = False

    def add(self, octets):
        self.size += len(octets)
        if self.is_too_big:
            return
        if self._max_size is not None and self.size > self._max_size:
            self.is_too_big = True
            self._chunks = []
            return
        self._chunks.append(octets)

    def message_bytes(self):
        """The message's octets: the chunks joined, as they are."""
        octets = b''.join(self._chunks)
        self._chunks = []
        return octets

    def message_text(self):
        """The message as a native string, as ``MessageCollector`` gives
        it: CRLF -> LF, and one final line end removed (what DATA's
        terminator takes), so that the same message reads the same either
        way."""
        return text_from_octets(self.message_bytes())
