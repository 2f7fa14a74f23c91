# -*- coding: utf-8 -*-
"""One SMTP connection, sans I/O: octets in, octets out.

``SMTPConnection`` is what every driver (the fork worker, the serial loop,
the legacy ``SMTPCommandParser``) runs::

    connection = SMTPConnection(deliverer, policy, hostname='mx.example.com')
    connection.start(remote_ip, remote_port)     # the greeting
    while not connection.closing:
        send(connection.data_to_send())
        connection.receive_data(recv())          # split anywhere
    send(connection.data_to_send())              # then close the socket

It cuts the input up (``pymta.framing``) the way the dialogue's state says
(``Dialogue.reader``): command lines end at LF (CRLF, or a bare LF as typed
into ``nc``), message data ends at ``<CRLF>.<CRLF>``, an AUTH LOGIN
credential is one line. The dialogue (``pymta.dialogue``) answers;
``data_to_send`` formats its replies (``pymta.replies``). Events the driver
may act on: ``closing`` (close the connection once the octets of
``data_to_send`` are sent; input after that is ignored), ``reader``
(``MESSAGE_DATA`` while the client sends a message: the DATA time limit
applies; ``TLS_HANDSHAKE`` after STARTTLS: send the 220, do the handshake,
then call ``tls_started``) and ``take_events`` (a ``(MESSAGE_ACCEPTED, message)`` for each
message the deliverer took). A driver calls ``connection_closed(reason)``
when the connection ended, for the transcript (``pymta.transcript``:
every command and reply at DEBUG on the logger ``pymta.transcript``).
"""

from __future__ import absolute_import

from .commands import EXTENSIONS
from .compat import basestring, native_from_wire, text_to_wire_bytes, \
    unicode, wire_bytes
from .dialogue import Dialogue
from .framing import MAX_COMMAND_LINE_OCTETS, ChunkCollector, \
    MessageCollector, ParserImplementation
from .replies import reply_line, reply_lines
from .states import AUTH_LINE, CHUNK_DATA, COMMAND_LINE, MESSAGE_DATA, \
    SKIPPED_CHUNK, TLS_HANDSHAKE
from .transcript import transcript_for


__all__ = ['EXTENSIONS', 'SMTPConnection']

_split_command = ParserImplementation().parse


class SMTPConnection(object):
    """One SMTP connection (see the module docstring).

    ``deliverer``, ``policy``, ``authenticator``, ``max_errors`` and
    ``max_auth_failures``: see ``pymta.dialogue.Dialogue``. ``hostname``:
    the server's name in replies (the caller looks it up). ``default_max_
    message_size``: the limit on message data when the policy's
    ``max_message_size(peer)`` is None (the policy's own limit always wins;
    EHLO announces only that); None: no limit. ``extensions``: the names
    of the SMTP extensions that are on (``'STARTTLS'``; none by default).
    ``require_tls``: see ``Dialogue``. ``transcript``: False for no
    transcript even at DEBUG (a canned dialogue, as the warm-up's).
    """

    # (CHUNKING) the message's chunks so far, and the octets of the current
    # chunk still to come (class attributes: set only where used)
    _chunks = None
    _chunk_left = None
    #: octets the client sent after STARTTLS, before the handshake (thrown
    #: away)
    discarded_octets = 0
    # the octets of an overlong line thrown away so far
    _discarded_line_octets = 0
    # The transcript (pymta.transcript), where DEBUG is on for it: the
    # logger is asked once, in start(); with it off, what follows costs one
    # test for None per input line. (Every reply is logged right after the
    # input it answers: start(), receive_data().)
    _may_transcribe = True
    # (with a transcript) how many replies of the list ``dialogue.replies``
    # was (a taker replaces it) are logged
    _replies_seen = None
    _replies_logged = 0

    def __init__(self, deliverer, policy=None, authenticator=None,
                 hostname='localhost', max_errors=None,
                 max_auth_failures=None, default_max_message_size=None,
                 extensions=(), require_tls=None, transcript=True):
        self.dialogue = Dialogue(deliverer, policy=policy,
                                 authenticator=authenticator,
                                 hostname=hostname, max_errors=max_errors,
                                 max_auth_failures=max_auth_failures,
                                 extensions=extensions,
                                 require_tls=require_tls)
        #: the limit on message data
        self.max_message_size = default_max_message_size
        self._partial_line = b''
        self._is_discarding_line = False
        self._collector = None
        # (an instance attribute: it is read for every input, and a class
        # attribute is slower to read)
        self._transcript = None
        if not transcript:
            self._may_transcribe = False

    def start(self, remote_ip, remote_port, tls=None):
        """The client ``remote_ip``:``remote_port`` connected: greet it (or
        refuse it, as the policy says). ``tls``: ``(version, cipher)`` of
        the TLS the connection began with (implicit TLS), or None."""
        dialogue = self.dialogue
        transcript = None
        if self._may_transcribe:
            transcript = transcript_for(remote_ip, remote_port)
            if transcript is not None:
                self._transcript = transcript
                transcript.connected(tls)
        dialogue.greet(remote_ip, remote_port, tls)
        if transcript is not None:
            self._transcribe_replies()
        if dialogue.max_message_size is not None:
            self.max_message_size = dialogue.max_message_size

    @property
    def closing(self):
        """Close the connection once ``data_to_send()`` is sent."""
        return self.dialogue.is_closed

    @property
    def reader(self):
        """How the next input is read (``pymta.states``: ``COMMAND_LINE``,
        ``MESSAGE_DATA``, ``AUTH_LINE``, ``CHUNK_DATA``, ``SKIPPED_CHUNK``,
        ``TLS_HANDSHAKE``)."""
        return self.dialogue.reader

    def take_events(self):
        """The events since the last call."""
        events = self.dialogue.events
        if events:
            self.dialogue.events = []
        return events

    def data_to_send(self):
        """The octets of the replies since the last call."""
        replies = self.dialogue.replies
        if not replies:
            return b''
        self.dialogue.replies = []
        if len(replies) == 1:   # the common case: one reply
            code, text = replies[0]
            if text is None or isinstance(text, basestring):
                return wire_bytes(reply_line(code, text))
        return wire_bytes(''.join(_lines_of(replies)))

    def take_lines(self):
        """The reply lines since the last call, as text (CRLF included)."""
        replies = self.dialogue.replies
        if self._transcript is not None:
            self._transcribe_replies()
        self.dialogue.replies = []
        return _lines_of(replies)

    def close(self):
        """End the connection (no reply): ``closing`` is True."""
        self.dialogue.close()

    def tls_started(self, version, cipher):
        """The driver finished the TLS handshake (``reader`` was
        ``TLS_HANDSHAKE``): the dialogue goes on over TLS, at the state after
        the greeting. ``version`` and ``cipher`` are recorded on the
        messages."""
        self._partial_line = b''
        self._is_discarding_line = False
        self.dialogue.tls_started(version, cipher)
        if self._transcript is not None:
            self._transcript.tls_started(version, cipher,
                                         self.discarded_octets)

    def connection_closed(self, reason=None):
        """The driver closed the connection, or the client did (``reason``:
        why, for the transcript; None: the dialogue ended it)."""
        if self._transcript is not None:
            self._transcribe_replies()
            if reason is None:
                reason = 'by the server' if self.closing else 'reason unknown'
            self._transcript.closed(reason)

    def read_as(self, reader):
        """Read the next input with ``reader`` until the dialogue's state
        picks the reader again (the legacy parser's ``switch_to_*``)."""
        self.dialogue.reader = reader
        self._collector = None

    # --- input ------------------------------------------------------------
    def receive_data(self, data):
        """Handle the next chunk of input (bytes, or text on a legacy path;
        split anywhere)."""
        if isinstance(data, unicode):
            data = text_to_wire_bytes(data)
        if self._partial_line:
            data = self._partial_line + data
            self._partial_line = b''
        dialogue = self.dialogue
        transcript = self._transcript
        position, length = 0, len(data)
        while not dialogue.is_closed:
            reader = dialogue.reader
            if reader is COMMAND_LINE or reader is AUTH_LINE:
                if position >= length:
                    break
                end_of_line = data.find(b'\n', position)
                if end_of_line < 0:
                    self._keep_partial_line(data[position:])
                    break
                start, position = position, end_of_line + 1
                if self._is_discarding_line:
                    self._is_discarding_line = False
                    self._line_too_long(self._discarded_line_octets +
                                        position - start)
                    continue
                if data.endswith(b'\r', start, end_of_line):
                    end_of_line -= 1
                if end_of_line - start > MAX_COMMAND_LINE_OCTETS:
                    self._line_too_long(position - start)   # (as sent)
                    continue
                line = data[start:end_of_line]
                if transcript is not None:
                    # (one test per line where there is no transcript)
                    self._transcribe_line(line, reader)
                elif reader is COMMAND_LINE:
                    command, argument = _split_command(native_from_wire(line))
                    dialogue.command(command, argument)
                else:
                    dialogue.auth_line(native_from_wire(line))
            elif reader is MESSAGE_DATA:
                if position >= length:
                    break
                position = self._read_message_data(data, position)
                if transcript is not None:
                    self._transcribe_replies()
            elif reader is TLS_HANDSHAKE:
                # What the client sent in the clear after STARTTLS is never
                # read (RFC 3207; CVE-2011-0411).
                self.discarded_octets += length - position
                break
            else:
                # a BDAT chunk (one of 0 octets ends before any input)
                position = self._read_chunk(data, position, reader)
                if transcript is not None:
                    self._transcribe_replies()
                if dialogue.reader is reader:
                    break       # the rest of the chunk is still to come

    def _keep_partial_line(self, octets):
        # +1: the CR of a CRLF may be all that is missing of the line end.
        if self._is_discarding_line:
            self._discarded_line_octets += len(octets)
        elif len(octets) > MAX_COMMAND_LINE_OCTETS + 1:
            self._is_discarding_line = True
            self._discarded_line_octets = len(octets)
        else:
            self._partial_line = octets

    def _line_too_long(self, octets):
        """A line of ``octets`` (line end included) was too long."""
        transcript = self._transcript
        if transcript is not None:
            transcript.line_too_long(octets)
        self.dialogue.line_too_long()
        if transcript is not None:
            self._transcribe_replies()

    def _transcribe_line(self, line, reader):
        """``receive_data``'s work on a complete ``line`` (a command, or a
        line of an AUTH exchange), with its transcript: the line, then the
        replies to it (each input line is followed by its replies, however
        the input was split)."""
        dialogue = self.dialogue
        if reader is AUTH_LINE:
            self._transcript.auth_line(line, dialogue.state.current())
            dialogue.auth_line(native_from_wire(line))
        else:
            command, argument = _split_command(native_from_wire(line))
            self._transcript.command(line, command, argument)
            dialogue.command(command, argument)
        self._transcribe_replies()

    def _transcribe_replies(self):
        """Log the replies not logged yet (there is a transcript)."""
        dialogue = self.dialogue
        replies = dialogue.replies
        logged = self._replies_logged if replies is self._replies_seen else 0
        self._replies_seen, self._replies_logged = replies, len(replies)
        if len(replies) > logged:
            self._transcript.replies(_lines_of(replies[logged:]))
            authenticated_as = dialogue.authenticated_as
            if authenticated_as is not None:
                self._transcript.authenticated(*authenticated_as)

    def _read_chunk(self, data, position, reader):
        """Take the octets of the current BDAT chunk that ``data`` holds
        from ``position``; at its end tell the dialogue."""
        dialogue = self.dialogue
        if self._chunk_left is None:
            self._chunk_left = dialogue.chunk_size
            if reader is CHUNK_DATA and dialogue.chunk_number == 1:
                self._chunks = ChunkCollector(self.max_message_size)
        take = min(self._chunk_left, len(data) - position)
        if take:
            if reader is CHUNK_DATA:
                self._chunks.add(data[position:position + take]
                                 if position or take < len(data) else data)
            self._chunk_left -= take
            position += take
        if self._chunk_left:
            return position
        self._chunk_left = None
        if self._transcript is not None:
            self._transcript.message_data(dialogue.chunk_size,
                                          discarded=reader is SKIPPED_CHUNK)
        if reader is SKIPPED_CHUNK:
            dialogue.chunk_skipped()
            return position
        chunks = self._chunks
        if chunks.is_too_big:
            self._chunks = None
            dialogue.chunks_too_big()
        elif dialogue.chunk_is_last:
            self._chunks = None
            dialogue.last_chunk(None, msg_bytes=chunks.message_bytes())
        else:
            dialogue.chunk()
        return position

    def _read_message_data(self, data, position):
        if self._collector is None:
            self._collector = MessageCollector(self.max_message_size)
        collector = self._collector
        end = collector.feed(data, position)
        if end < 0:
            return len(data)
        self._collector = None
        if self._transcript is not None:
            self._transcript.message_data(collector.octets_received)
        if collector.is_too_big:
            self.dialogue.message_too_big()
        else:
            self.dialogue.message(None, msg_bytes=collector.message_bytes())
        return end


def _lines_of(replies):
    """The lines of ``replies`` (``(code, text)``) as they go on the wire."""
    lines = []
    for code, text in replies:
        if text is None or isinstance(text, basestring):
            lines.append(reply_line(code, text))
        else:
            lines.extend(reply_lines(code, text))
    return lines
