# -*- coding: utf-8 -*-
"""The extension interfaces: what a user of pymta implements.

* ``IMTAPolicy`` decides, command by command, what the server accepts;
* ``IAuthenticator`` checks credentials sent with AUTH;
* ``IMessageDeliverer`` receives every accepted message.

One instance of each lives as long as the worker process (fork path) or the
server (serial path) and serves every connection it handles.
"""

from __future__ import absolute_import


__all__ = ['IAuthenticator', 'IMessageDeliverer', 'IMTAPolicy',
           'PolicyDecision', 'PyMTAException']


class PyMTAException(Exception):
    """Base class of all exceptions pymta raises."""


class IAuthenticator(object):
    """Checks the credentials of an SMTP AUTH.

    ``authenticate`` serves AUTH PLAIN and AUTH LOGIN. For AUTH CRAM-MD5
    (RFC 2195) an authenticator also defines ``authenticate_cram_md5(
    username, challenge, digest, peer)``: True if ``digest`` (32 lowercase
    hex digits) is the right answer to ``challenge`` for the user's password
    (``pymta.cram_md5.digest_matches(password, challenge, digest)`` checks
    it). Without that method the server knows no CRAM-MD5: the client gets
    ``504 Unrecognized authentication type``, as for any unknown mechanism.

    ``records_password``: True puts the password of a successful AUTH PLAIN
    or LOGIN (``Message.password``), or the challenge and digest of a
    CRAM-MD5 (``Message.cram_md5``), on the messages (for test servers;
    never by default).
    """

    #: the method that checks a CRAM-MD5 answer (see above); None: none
    authenticate_cram_md5 = None
    records_password = False

    def authenticate(self, username, password, peer):
        """Return True if ``username``/``password`` are valid for ``peer``."""
        raise NotImplementedError


class IMessageDeliverer(object):
    """Receives every message the server accepted."""

    def new_message_accepted(self, msg):
        """Called once per accepted message (a ``pymta.model.Message``)
        before the client gets its 250. It must not reject the message;
        raising is a server-side fault (the client gets a 451)."""
        raise NotImplementedError


class PolicyDecision(object):
    """A policy's verdict on one command, optionally with a custom reply and
    an instruction to close the connection.

    ``reply`` is ``(code, text)``; ``text`` is one line or a sequence of lines.
    """

    def __init__(self, decision=True, reply=None):
        self.decision = decision
        self.reply = reply
        # Legacy policies set these plain attributes directly.
        self._close_connection_before_response = False
        self._close_connection_after_response = False

    def is_command_acceptable(self):
        return bool(self.decision)

    def use_custom_reply(self):
        return self.reply is not None

    def get_custom_reply(self):
        if self.reply is None:
            raise ValueError('This PolicyDecision has no custom reply')
        return self.reply

    def close_connection_before_response(self):
        """Close the connection without sending any reply."""
        return bool(self._close_connection_before_response)

    def close_connection_after_response(self):
        """Send the reply, then close the connection."""
        return bool(self._close_connection_after_response)

    def __repr__(self):
        return 'PolicyDecision(%r, reply=%r)' % (self.decision, self.reply)


class IMTAPolicy(object):
    """The policy decides which commands the server accepts.

    This base class accepts everything; override only the methods you need.
    Every ``accept_*`` method may return True or None (accept), False (reject
    with the default reply), ``(decision, (code, text))`` for a custom reply
    (``text`` may be a sequence of lines for a multi-line reply) or a
    ``PolicyDecision``.
    """

    def accept_new_connection(self, peer):
        return True

    def max_message_size(self, peer):
        """The largest message (in octets) accepted from ``peer``, or None."""
        return None

    def auth_methods(self, peer):
        """The AUTH mechanisms offered to ``peer``."""
        return ('PLAIN', 'LOGIN')

    def ehlo_lines(self, peer):
        """The extension lines of the EHLO reply (a tuple of strings)."""
        lines = []
        max_size = self.max_message_size(peer)
        if max_size is not None:
            lines.append('SIZE %d' % max_size)
        methods = self.auth_methods(peer)
        if methods:
            lines.append('AUTH ' + ' '.join(methods))
        return tuple(lines)

    def accept_helo(self, helo_string, message):
        return True

    def accept_ehlo(self, ehlo_string, message):
        return True

    def accept_auth_plain(self, username, password, message):
        return 'PLAIN' in self.auth_methods(message.peer)

    def accept_auth_login(self, username, message):
        """``username`` is None when the client sent no initial response."""
        return 'LOGIN' in self.auth_methods(message.peer)

    def accept_auth_cram_md5(self, message):
        """AUTH CRAM-MD5, asked before the challenge is sent (the user name
        comes only with the client's answer; an authenticator without
        ``authenticate_cram_md5`` means no CRAM-MD5 at all)."""
        return 'CRAM-MD5' in self.auth_methods(message.peer)

    def accept_from(self, sender, message):
        return True

    def accept_rcpt_to(self, new_recipient, message):
        """Called once per recipient."""
        return True

    def accept_data(self, message):
        return True

    def accept_starttls(self, message):
        """STARTTLS (only where the server has TLS): refuse it to test a
        client's fallback (the default reply is ``454 TLS not available due
        to temporary reason``)."""
        return True

    def accept_msgdata(self, msgdata, message):
        """Called after the whole message arrived (and passed the size
        check)."""
        return True
