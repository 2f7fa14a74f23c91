# -*- coding: utf-8 -*-
"""What is the same for every connection a server serves:
``ConnectionSettings``, built once by ``PythonMTA`` and handed unchanged
through the worker to ``serve_connection``."""

from __future__ import absolute_import

import socket

from .connection import SMTPConnection
from .sockets import READ_SIZE, turn_away
from .time_limits import TimeLimits


__all__ = ['ConnectionSettings']


class ConnectionSettings(object):
    """The server's name and the limits of each connection.

    * ``hostname``: the server's name in replies (``PythonMTA`` looks it up
      once per server); None: ``server_name()`` asks ``socket.getfqdn()``
      for each connection.
    * ``command_timeout``: ``PythonMTA``'s ``session_timeout``, the seconds
      to wait for the next complete command (see ``TimeLimits``).
    * ``max_data_seconds``, ``max_session_seconds``: the most one DATA
      phase, and the whole connection, may take (see ``TimeLimits``).
    * ``max_errors``, ``max_auth_failures``, ``default_max_message_size``:
      the limits of ``SMTPConnection``.
    * ``read_size``: octets read from the client at once.
    * ``tls_context``: the server's ``ssl.SSLContext`` (None: no TLS);
      ``implicit_tls``: TLS from the start (RFC 8314) instead of STARTTLS;
      ``require_tls``, ``extensions``: see ``PythonMTA``.

    Each limit is None for none (the default)."""

    __slots__ = ('hostname', 'command_timeout', 'max_data_seconds',
                 'max_session_seconds', 'max_errors', 'max_auth_failures',
                 'default_max_message_size', 'read_size', 'tls_context',
                 'implicit_tls', 'require_tls', 'extensions')

    def __init__(self, hostname=None, command_timeout=None,
                 max_data_seconds=None, max_session_seconds=None,
                 max_errors=None, max_auth_failures=None,
                 default_max_message_size=None, read_size=READ_SIZE,
                 tls_context=None, implicit_tls=False, require_tls=None,
                 extensions=()):
        self.hostname = hostname
        self.command_timeout = command_timeout
        self.max_data_seconds = max_data_seconds
        self.max_session_seconds = max_session_seconds
        self.max_errors = max_errors
        self.max_auth_failures = max_auth_failures
        self.default_max_message_size = default_max_message_size
        self.read_size = read_size
        self.tls_context = tls_context
        self.implicit_tls = implicit_tls
        self.require_tls = require_tls
        self.extensions = tuple(extensions)

    def server_name(self):
        """``hostname``, or where it is None ``socket.getfqdn()`` (asked
        each time)."""
        return self.hostname or socket.getfqdn()

    @property
    def enhanced_codes(self):
        """Do replies carry enhanced status codes (ENHANCEDSTATUSCODES)?"""
        return 'ENHANCEDSTATUSCODES' in self.extensions

    def new_connection(self, instances, hostname):
        """A new ``SMTPConnection`` with these limits and extensions (and
        STARTTLS where there is TLS but not from the start), for
        ``instances``: ``(deliverer, policy, authenticator)``."""
        deliverer, policy, authenticator = instances
        extensions = self.extensions
        if self.tls_context is not None and not self.implicit_tls:
            extensions += ('STARTTLS',)
        return SMTPConnection(
            deliverer, policy=policy, authenticator=authenticator,
            hostname=hostname, max_errors=self.max_errors,
            max_auth_failures=self.max_auth_failures,
            default_max_message_size=self.default_max_message_size,
            extensions=extensions, require_tls=self.require_tls)

    def time_limits(self):
        """A new connection's ``TimeLimits``."""
        return TimeLimits(self.command_timeout, self.max_data_seconds,
                          self.max_session_seconds)

    def turn_away(self, connection):
        """Answer the accepted ``connection`` ``421 ... too busy`` and
        close it (``pymta.sockets.turn_away``; silently under implicit
        TLS)."""
        turn_away(connection, self.server_name(), self.enhanced_codes,
                  silently=self.tls_context is not None and
                  self.implicit_tls)

    def __repr__(self):
        return 'ConnectionSettings(%s)' % ', '.join(
            '%s=%r' % (name, getattr(self, name)) for name in self.__slots__)
