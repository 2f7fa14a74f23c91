# -*- coding: utf-8 -*-
"""Warming the SMTP core up before the fork path forks: ``prepare_core``
runs a canned dialogue through it, so that every worker inherits it built
and warm."""

from __future__ import absolute_import

from .connection import SMTPConnection
from .dialogue import Dialogue


__all__ = ['prepare_core']

# What prepare_core feeds the core: one message, sent as a client without
# pipelining sends it.
_WARM_UP_DIALOGUE = (
    b'EHLO localhost\r\n',
    b'MAIL FROM:<warm-up@example.com>\r\n',
    b'RCPT TO:<warm-up@example.com>\r\n',
    b'DATA\r\n',
    b'Subject: warm-up\r\n\r\n..\r\n.\r\n',
    b'QUIT\r\n',
)


class _Discard(object):
    """The deliverer of ``prepare_core``: keeps nothing but a count of the
    messages."""

    def __init__(self):
        self.messages = 0

    def new_message_accepted(self, msg):
        self.messages += 1


def prepare_core(rounds=10):
    """Build the SMTP core's tables and run a canned dialogue through it
    ``rounds`` times, with no socket and none of the user's classes.

    A forking server calls it before it forks. Its workers then share what
    the core builds on first use (the state table, the schemas, compiled
    patterns and, on Python 3.11+, specialised bytecode, which takes about
    eight runs of a function) instead of each building its own copy for its
    first clients. Returns the number of messages the core accepted (one per
    round)."""
    Dialogue.build_tables()
    discard = _Discard()
    for _ in range(rounds):
        # (no transcript: no client is there)
        connection = SMTPConnection(discard, hostname='localhost',
                                    transcript=False)
        connection.start('127.0.0.1', 0)
        for chunk in _WARM_UP_DIALOGUE:
            connection.receive_data(chunk)
            connection.data_to_send()
    return discard.messages
