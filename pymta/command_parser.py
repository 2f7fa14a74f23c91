# -*- coding: utf-8 -*-
"""The legacy home of the command parser (SPEC section 6):
``SMTPCommandParser``, ``ParserImplementation``, ``ClientDisconnectedError``
and ``WorkerProcess``.

The parser itself is ``pymta.parser.SMTPParser`` (sans I/O); the one thing
``SMTPCommandParser`` adds is the legacy default of ``primary_hostname``,
``socket.getfqdn()``, which the core must not look up itself.
"""

from __future__ import absolute_import

import socket

from .parser import ClientDisconnectedError, ParserImplementation, SMTPParser
from .worker import WorkerProcess


__all__ = ['ClientDisconnectedError', 'ParserImplementation',
           'SMTPCommandParser', 'WorkerProcess']


class SMTPCommandParser(SMTPParser):
    """``SMTPParser`` whose ``primary_hostname`` defaults to
    ``socket.getfqdn()`` (client suites compare replies with it). A server
    passes the name it looked up once."""

    def __init__(self, channel, remote_ip_string, remote_port, deliverer,
                 policy=None, authenticator=None, primary_hostname=None,
                 **limits):
        SMTPParser.__init__(self, channel, remote_ip_string, remote_port,
                            deliverer, policy=policy,
                            authenticator=authenticator,
                            primary_hostname=(primary_hostname or
                                              socket.getfqdn()),
                            **limits)
