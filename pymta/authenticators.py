# -*- coding: utf-8 -*-
"""Ready-made authenticators (``IAuthenticator``) for test servers."""

from __future__ import absolute_import

from .api import IAuthenticator
from .cram_md5 import digest_matches


__all__ = ['AcceptAnyAuthenticator', 'PasswordAuthenticator']


class AcceptAnyAuthenticator(IAuthenticator):
    """Accepts every AUTH: any user name and password (PLAIN, LOGIN), any
    well-formed CRAM-MD5 answer. The credentials go on each message of the
    connection, so a test sees what its client sent even where the message
    crossed a process boundary: ``username``, ``auth_mechanism``
    (``'PLAIN'``, ``'LOGIN'``, ``'CRAM-MD5'``), ``password`` (PLAIN, LOGIN)
    and ``cram_md5`` (``{'challenge': ..., 'digest': ...}``: check it with
    ``pymta.cram_md5.digest_matches(password, **message.cram_md5)``).

    The policy decides which mechanisms EHLO offers
    (``IMTAPolicy.auth_methods``)."""

    records_password = True

    def authenticate(self, username, password, peer):
        return True

    def authenticate_cram_md5(self, username, challenge, digest, peer):
        return True


class PasswordAuthenticator(IAuthenticator):
    """Accepts the users of ``passwords`` (user name -> password, or
    ``(user name, password)`` pairs) with their passwords: PLAIN, LOGIN
    and CRAM-MD5 (``python -m pymta --auth USER:PASSWORD``)."""

    def __init__(self, passwords):
        self.passwords = dict(passwords)

    def authenticate(self, username, password, peer):
        known = self.passwords.get(username)
        return known is not None and known == password

    def authenticate_cram_md5(self, username, challenge, digest, peer):
        known = self.passwords.get(username)
        return known is not None and digest_matches(known, challenge, digest)
