# -*- coding: utf-8 -*-
"""The plain, picklable data pymta hands to policies and deliverers."""

from __future__ import absolute_import

from .compat import basestring, email_from_octets
from .message_octets import octets_from_text, text_from_octets


__all__ = ['Message', 'Peer']


class Peer(object):
    """The remote end of a connection."""

    def __init__(self, remote_ip, remote_port):
        self.remote_ip = remote_ip
        self.remote_port = remote_port

    def __repr__(self):
        return 'Peer(%s, %s)' % (self.remote_ip, self.remote_port)


class Message(object):
    """One message and its envelope.

    ``smtp_helo`` is the HELO/EHLO argument, ``smtp_from`` the reverse path
    without angle brackets (``''`` for ``<>``), ``smtp_to`` the list of forward
    paths, ``username`` the user name of a successful AUTH (and
    ``auth_mechanism`` its mechanism; ``password`` only where the
    authenticator has ``records_password``), ``tls`` None
    or, for a message that came over TLS, ``{'version': 'TLSv1.3',
    'cipher': ...}``.

    The message itself, in two forms:

    * ``msg_bytes``: the octets exactly as the client sent them between
      DATA and the final dot (line ends as sent, the last line's CRLF
      kept, dot-stuffing undone; ``b''`` for an empty message), or the
      BDAT chunks joined;
    * ``msg_data``: the text as a native string (every CRLF ``\\n``, the
      final line end removed; decoded as UTF-8 with surrogateescape on
      Python 3, the bytes on Python 2).

    Each is what was assigned to it (the constructor's argument or the
    attribute; None: nothing) or, failing that, derived from the other
    (``msg_bytes`` from text: LF -> CRLF plus a final CRLF). A received
    message has ``msg_bytes`` and a derived ``msg_data``. A derived form
    is kept once asked for, but never pickled: a pickle holds only what
    was assigned. ``as_email()`` parses the message.
    """

    # What a successful AUTH told (carried over to the next message of the
    # connection, like ``username``; class attributes: most messages come
    # without AUTH). The mechanism: 'PLAIN', 'LOGIN' or 'CRAM-MD5'.
    auth_mechanism = None
    # Only where the authenticator has ``records_password`` (test servers):
    # the password of AUTH PLAIN or LOGIN, and of CRAM-MD5
    # ``{'challenge': ..., 'digest': ...}``.
    password = None
    cram_md5 = None
    # The derived forms, set on an instance once computed (None: not yet).
    _derived_data = None
    _derived_bytes = None

    def __init__(self, peer, smtp_helo=None, smtp_from=None, smtp_to=None,
                 msg_data=None, username=None, tls=None, msg_bytes=None):
        self.peer = peer
        self.smtp_helo = smtp_helo
        self.smtp_from = smtp_from
        if smtp_to is None:
            smtp_to = []
        elif isinstance(smtp_to, basestring):
            smtp_to = [smtp_to]
        self.smtp_to = list(smtp_to)
        self._msg_data = msg_data
        self._msg_bytes = msg_bytes
        self.username = username
        self.tls = tls
        #: (a new dict is set for every MAIL FROM with parameters)
        self.mail_options = {}
        self.rcpt_options = {}
        self.unvalidated_input = {}

    @property
    def msg_data(self):
        """The message text (see the class)."""
        if self._msg_data is not None:
            return self._msg_data
        text = self._derived_data
        if text is None and self._msg_bytes is not None:
            text = self._derived_data = text_from_octets(self._msg_bytes)
        return text

    @msg_data.setter
    def msg_data(self, text):
        self._msg_data = text
        self.__dict__.pop('_derived_bytes', None)

    @property
    def msg_bytes(self):
        """The message's octets as received (see the class)."""
        if self._msg_bytes is not None:
            return self._msg_bytes
        octets = self._derived_bytes
        if octets is None and self._msg_data is not None:
            octets = self._derived_bytes = octets_from_text(self._msg_data)
        return octets

    @msg_bytes.setter
    def msg_bytes(self, octets):
        self._msg_bytes = octets
        self.__dict__.pop('_derived_data', None)

    def as_email(self):
        """The message parsed anew on each call: an ``email.message.Message``
        (on Python 3 an ``EmailMessage``, parsed with
        ``email.policy.default``); None without a message."""
        octets = self.msg_bytes
        if octets is None:
            return None
        return email_from_octets(octets)

    def __getstate__(self):
        # Every attribute (whoever added it) except the derived forms: they
        # are made again on demand, and would double a large pickle.
        state = self.__dict__.copy()
        for name in _DERIVED:
            state.pop(name, None)
        return state

    def __setstate__(self, state):
        state = dict(state)
        if 'msg_data' in state:
            # pickled before msg_data was a property
            state['_msg_data'] = state.pop('msg_data')
        state.setdefault('_msg_data', None)
        state.setdefault('_msg_bytes', None)
        self.__dict__.update(state)

    def __repr__(self):
        return 'Message(%r, smtp_helo=%r, smtp_from=%r, smtp_to=%r)' % (
            self.peer, self.smtp_helo, self.smtp_from, self.smtp_to)


_DERIVED = ('_derived_data', '_derived_bytes')
