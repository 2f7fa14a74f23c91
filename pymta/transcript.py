# -*- coding: utf-8 -*-
"""The transcript of an SMTP connection: every command and reply at DEBUG
on the logger ``pymta.transcript`` (see docs/transcript.md).

``SMTPConnection`` writes it: only the connection knows what each input
line was (a command, message data, a line of an AUTH exchange). It asks
``transcript_for`` once per connection; with DEBUG off for the logger it
gets None and logs nothing at all.

Each record is one line: the peer (``ip:port``), then ``<`` and what the
client sent, ``>`` and a reply line, or an event (connected, TLS,
authenticated, closed). Client input is escaped (``escape``), so no
client can write a line break (or anything else) into the log; what AUTH
sends is masked, message data is summarised by its size.
"""

from __future__ import absolute_import

import logging
import re

from .compat import wire_bytes


__all__ = ['LOGGER_NAME', 'MAX_SHOWN_OCTETS', 'Transcript', 'escape',
           'transcript_for']

#: the logger of every transcript
LOGGER_NAME = 'pymta.transcript'
#: a line longer than this is shown up to here, followed by its length
MAX_SHOWN_OCTETS = 512
#: what the log shows instead of a secret
MASK = '***'

_log = logging.getLogger(LOGGER_NAME)

_PRINTABLE = re.compile(b'[\x20-\x7e]*\\Z')

# a SASL mechanism's name (RFC 4422, section 3.1)
_SASL_NAME = re.compile(r'[A-Za-z0-9_-]{1,20}\Z')

#: the state of an AUTH exchange -> what its line holds
_AUTH_LINES = {
    'auth_login_username': 'AUTH LOGIN user name',
    'auth_login_password': 'AUTH LOGIN password',
    'auth_cram_md5_response': 'AUTH CRAM-MD5 answer',
}


def transcript_for(remote_ip, remote_port):
    """A ``Transcript`` of the connection from ``remote_ip``:``remote_port``
    if DEBUG is on for ``pymta.transcript``, else None (the one question
    asked of the logger per connection)."""
    if not _log.isEnabledFor(logging.DEBUG):
        return None
    return Transcript(_log, peer_name(remote_ip, remote_port))


def peer_name(remote_ip, remote_port):
    """``'127.0.0.1:4567'``, ``'[::1]:4567'``."""
    if ':' in str(remote_ip):
        return '[%s]:%s' % (remote_ip, remote_port)
    return '%s:%s' % (remote_ip, remote_port)


def escape(octets):
    """``octets`` (or text, as UTF-8) as a native string to log: printable
    ASCII as it is, every other octet as ``\\xNN`` (CR and LF too: a client
    cannot start a line of the log), as ``replies.printable`` quotes client
    input in replies; more than ``MAX_SHOWN_OCTETS`` are cut there, with
    ``... (N octets)``."""
    if not isinstance(octets, bytes):
        octets = wire_bytes(octets)
    suffix = ''
    if len(octets) > MAX_SHOWN_OCTETS:
        suffix = '... (%d octets)' % len(octets)
        octets = octets[:MAX_SHOWN_OCTETS]
    if _PRINTABLE.match(octets) is not None:
        return str(octets.decode('ascii')) + suffix
    return ''.join([chr(octet) if 0x20 <= octet <= 0x7e else
                    '\\x%02x' % octet
                    for octet in bytearray(octets)]) + suffix


class Transcript(object):
    """Writes the transcript of one connection to ``log`` (a
    ``logging.Logger``), each line starting with ``peer``."""

    def __init__(self, log, peer):
        self._debug = log.debug
        self.peer = peer
        self._is_closed = False
        self._authenticated_as = None

    def _event(self, text, *args):
        self._debug('%s ' + text, self.peer, *args)

    def connected(self, tls=None):
        """The client connected (``tls``: ``(version, cipher)`` of an
        implicit TLS connection)."""
        if tls is None:
            self._event('connected')
        else:
            self._event('connected over TLS: %s, %s', tls[0], tls[1])

    def command(self, line, command, argument):
        """A command line: ``line`` as received (octets, line end removed),
        ``command`` and ``argument`` as the parser split it. Whatever
        follows an AUTH mechanism (an initial response) is masked."""
        if command[:4].upper() != 'AUTH':
            self._debug('%s < %s', self.peer, escape(line))
            return
        words = command.split(None, 1)
        if len(words) > 1 and _SASL_NAME.match(words[1]) is None:
            # (not a mechanism: a client that left it out, say)
            words[1] = MASK
        if argument is not None:
            words.append(MASK)
        self._debug('%s < %s', self.peer, escape(' '.join(words)))

    def auth_line(self, line, state):
        """A line of an AUTH exchange (``state``: the dialogue's state it
        arrived in): masked, unless it is the ``*`` that cancels."""
        if line.strip() == b'*':
            self._debug('%s < *', self.peer)
            return
        self._debug('%s < %s (%s)', self.peer, MASK,
                    _AUTH_LINES.get(state, 'AUTH line'))

    def line_too_long(self, octets):
        """A line over the limit (``octets`` long, its line end included)
        was thrown away."""
        self._debug('%s < <line too long: %d octets>', self.peer, octets)

    def message_data(self, octets, discarded=False):
        """The end of DATA's message data (``octets``: what the client sent
        before the final ``.`` line) or of a BDAT chunk (its size);
        ``discarded``: a chunk of a refused BDAT."""
        self._debug('%s < <message data: %d octets%s>', self.peer, octets,
                    ', discarded' if discarded else '')

    def replies(self, lines):
        """Reply lines as sent (each ending in CRLF)."""
        for line in lines:
            self._debug('%s > %s', self.peer, escape(line[:-2]))

    def authenticated(self, mechanism, username):
        """AUTH succeeded (logged once per user name and mechanism)."""
        if self._authenticated_as == (mechanism, username):
            return
        self._authenticated_as = (mechanism, username)
        self._event('authenticated as %s (%s)', escape(username or ''),
                    mechanism)

    def tls_started(self, version, cipher, discarded_octets=0):
        """The handshake after STARTTLS succeeded; ``discarded_octets``:
        what the client sent in the clear before it (thrown away)."""
        if discarded_octets:
            self._debug('%s < <%d octets before the TLS handshake, '
                        'discarded>', self.peer, discarded_octets)
        self._event('TLS started: %s, %s', version, cipher)

    def closed(self, reason):
        """The connection ended (``reason``: why); logged once."""
        if self._is_closed:
            return
        self._is_closed = True
        self._event('closed (%s)', reason)
