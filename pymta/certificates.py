# -*- coding: utf-8 -*-
"""A throwaway self-signed certificate for tests of TLS (STARTTLS,
implicit TLS): ``self_signed_certificate(directory)``.

Made at run time, never shipped, with the ``openssl`` command (OpenSSL
1.1.1 or later: Debian's ``openssl`` package): an EC P-256 key and a
certificate valid for two days for ``localhost``, ``127.0.0.1`` and
``::1``. (``trustme`` is not used: it does not install on every Python
pymta supports, the command is on every machine the tests run on.)"""

from __future__ import absolute_import

import os
import subprocess


__all__ = ['self_signed_certificate']

_NAMES = ('localhost', '127.0.0.1', '::1')


def self_signed_certificate(directory):
    """Write ``cert.pem`` (the certificate; clients trust it as their CA
    file) and ``key.pem`` (its private key) into ``directory``; return
    their paths, ``(certfile, keyfile)``, ready for ``PythonMTA(tls=...)``.
    Raises ``RuntimeError`` if the openssl command fails or is missing."""
    certfile = os.path.join(directory, 'cert.pem')
    keyfile = os.path.join(directory, 'key.pem')
    command = ['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt',
               'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
               '-subj', '/CN=localhost', '-keyout', keyfile, '-out', certfile,
               '-addext', 'subjectAltName=' + ','.join(
                   ('IP:' if name[0].isdigit() or ':' in name else 'DNS:')
                   + name for name in _NAMES)]
    try:
        with open(os.devnull, 'wb') as devnull:
            subprocess.check_call(command, stdout=devnull, stderr=devnull)
    except (OSError, subprocess.CalledProcessError) as e:
        raise RuntimeError('no self-signed certificate: openssl failed '
                           '(%s)' % (e,))
    return certfile, keyfile
