# -*- coding: utf-8 -*-
"""CRAM-MD5 (RFC 2195): the server's challenge and the client's digest.

The server sends a challenge ``<digits.timestamp@hostname>`` (base64, in a
334); the client answers with the base64 of ``username SP digest``, where
the digest is the HMAC-MD5 of the challenge keyed with the password, in
lowercase hexadecimal. An authenticator that knows the password checks
the digest with ``digest_matches``.
"""

from __future__ import absolute_import

import binascii
import hashlib
import hmac
import os
import time

from .compat import compare_digest, wire_bytes


__all__ = ['cram_md5_digest', 'digest_matches', 'new_challenge']


def new_challenge(hostname):
    """A fresh challenge ``<digits.timestamp@hostname>``. The digits come
    from ``os.urandom``: a client cannot predict them (and so cannot replay
    a digest it saw before)."""
    digits = int(binascii.hexlify(os.urandom(8)), 16)
    return '<%d.%d@%s>' % (digits, int(time.time()), hostname)


def cram_md5_digest(password, challenge):
    """The digest a client answers ``challenge`` with (lowercase hex)."""
    return hmac.new(wire_bytes(password), wire_bytes(challenge),
                    hashlib.md5).hexdigest()


def digest_matches(password, challenge, digest):
    """Is ``digest`` (what the client sent) the right answer to
    ``challenge`` for ``password``? (Compared in constant time; hex digits
    in either case.)"""
    if password is None:
        return False
    expected = wire_bytes(cram_md5_digest(password, challenge))
    return compare_digest(expected, wire_bytes(digest.lower()))
