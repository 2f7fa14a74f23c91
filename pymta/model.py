# -*- coding: utf-8 -*-
"""The plain, picklable data pymta hands to policies and deliverers."""

from __future__ import absolute_import

from .compat import basestring


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
    paths, ``msg_data`` the message text (line ends ``\\n``, dot-stuffing
    removed), ``username`` the user name of a successful AUTH, ``tls`` None
    or, for a message that came over TLS, ``{'version': 'TLSv1.3',
    'cipher': ...}``.
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

    def __init__(self, peer, smtp_helo=None, smtp_from=None, smtp_to=None,
                 msg_data=None, username=None, tls=None):
        self.peer = peer
        self.smtp_helo = smtp_helo
        self.smtp_from = smtp_from
        if smtp_to is None:
            smtp_to = []
        elif isinstance(smtp_to, basestring):
            smtp_to = [smtp_to]
        self.smtp_to = list(smtp_to)
        self.msg_data = msg_data
        self.username = username
        self.tls = tls
        #: (a new dict is set for every MAIL FROM with parameters)
        self.mail_options = {}
        self.rcpt_options = {}
        self.unvalidated_input = {}

    def __repr__(self):
        return 'Message(%r, smtp_helo=%r, smtp_from=%r, smtp_to=%r)' % (
            self.peer, self.smtp_helo, self.smtp_from, self.smtp_to)
