# -*- coding: utf-8 -*-
"""TLS for the server loop (STARTTLS, RFC 3207, and implicit TLS, RFC
8314), with the standard ``ssl`` module: the server's context, the
handshake on a non-blocking socket, and ``TLSSocket``, which lets
``serve_connection`` use the TLS connection as it uses a plain socket."""

from __future__ import absolute_import

import errno
import logging
import socket
import ssl

from .compat import new_tls_server_context
from .fdwait import _now


__all__ = ['TLSSocket', 'WANT_READ', 'WANT_WRITE', 'handshake',
           'handshake_step', 'server_context', 'wrap_for_handshake']

log = logging.getLogger('pymta')


def server_context(tls):
    """The server's ``ssl.SSLContext`` for ``tls``: a context (used as it
    is), a certificate file (with the key in it) or ``(certificate file,
    key file)``; None for None."""
    if tls is None or isinstance(tls, ssl.SSLContext):
        return tls
    if isinstance(tls, (tuple, list)):
        certfile, keyfile = tls
    else:
        certfile, keyfile = tls, None
    for path in (certfile, keyfile):
        if path is not None:
            # (an error that names the file: load_cert_chain's does not)
            with open(path, 'rb'):
                pass
    context = new_tls_server_context()
    try:
        context.load_cert_chain(certfile, keyfile)
    except ssl.SSLError as e:
        raise ssl.SSLError(e.args[0] if e.args else None,
                           'cannot load the certificate %s %s: %s' % (
                               certfile, 'with the key %s' % keyfile
                               if keyfile else '(is its key in it?)', e))
    return context


def _would_block(error):
    return socket.error(errno.EAGAIN, 'TLS: %s' % (error,))


def _broken_by_client(error):
    # (a record the client broke, an end without TLS's closing alert: the
    # client went away, as ECONNABORTED says; not a fault of the server's)
    return socket.error(errno.ECONNABORTED, 'TLS: %s' % (error,))


class TLSSocket(object):
    """A non-blocking ``ssl.SSLSocket`` with the calls of a plain socket
    that the server loop makes: ``recv`` and ``send`` take (and ignore) the
    flags, and "want read/write" is raised as ``EAGAIN``, as a non-blocking
    plain socket does; the TLS closing alert is the end of input; any other
    TLS error is raised as ``ECONNABORTED`` (the client went away)."""

    __slots__ = ('_socket',)

    def __init__(self, ssl_socket):
        self._socket = ssl_socket

    def recv(self, size, flags=0):
        try:
            return self._socket.recv(size)
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError) as e:
            raise _would_block(e)
        except ssl.SSLZeroReturnError:
            return b''
        except ssl.SSLError as e:
            raise _broken_by_client(e)

    def send(self, data, flags=0):
        try:
            return self._socket.send(data)
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError) as e:
            raise _would_block(e)
        except ssl.SSLError as e:
            raise _broken_by_client(e)

    def pending(self):
        """Octets decrypted and not read yet (poll does not see them)."""
        return self._socket.pending()

    def fileno(self):
        return self._socket.fileno()

    def shutdown(self, how):
        """Send TLS's closing alert (clients such as OpenSSL 3 count an
        end without it as an error), then shut the socket down."""
        try:
            self._socket.unwrap()
        except (ssl.SSLError, IOError, OSError, ValueError):
            # (non-blocking: the alert is sent, the client's answer is not
            # waited for)
            pass
        self._socket.shutdown(how)

    def close(self):
        self._socket.close()

    def version(self):
        """The protocol (``'TLSv1.3'``)."""
        return self._socket.version()

    def cipher(self):
        """The cipher's name."""
        return self._socket.cipher()[0]


def wrap_for_handshake(connection, context):
    """``connection`` (a plain socket, made non-blocking) as a server-side
    ``ssl.SSLSocket`` whose handshake is still to do (see
    ``handshake_step``). The SSL socket owns the connection's fd now."""
    connection.setblocking(False)
    return context.wrap_socket(connection, server_side=True,
                               do_handshake_on_connect=False)


#: what ``handshake_step`` waits for
WANT_READ, WANT_WRITE = 'read', 'write'


def handshake_step(ssl_socket):
    """Go on with the handshake of ``ssl_socket`` as far as the octets at
    hand allow: None once it is done, else ``WANT_READ`` or ``WANT_WRITE``
    (what to wait for before the next step). Raises ``ssl.SSLError`` or an
    ``OSError`` when it failed (the client went away, or sent what is not
    TLS)."""
    try:
        ssl_socket.do_handshake()
        return None
    except ssl.SSLWantReadError:
        return WANT_READ
    except ssl.SSLWantWriteError:
        return WANT_WRITE


def handshake(connection, context, waiter, deadline, stop=None):
    """The server side of the TLS handshake on ``connection`` (a plain
    socket; made non-blocking), waiting for it. ``waiter``: the
    connection's ``FdWaiter`` (watching it for reading, and the stop fd);
    ``deadline``: a ``_now()`` time or None; ``stop``: a ``StopSignal`` or
    None. Returns a ``TLSSocket``, or None if the client went away, sent
    something that is not TLS, or did not finish by the deadline, or the
    server stops (each logged); the caller then closes the connection."""
    try:
        tls = wrap_for_handshake(connection, context)
    except (IOError, OSError) as e:
        log.info('TLS: %s', e)
        return None
    fd = tls.fileno()
    done = False
    try:
        while True:
            want = handshake_step(tls)
            if want is None:
                done = True
                return TLSSocket(tls)
            waiter.watch(fd, read=want is WANT_READ,
                         write=want is WANT_WRITE)
            timeout = None
            if deadline is not None:
                timeout = deadline - _now()
                if timeout <= 0:
                    log.info('TLS handshake timed out')
                    return None
            readable, writable = waiter.wait(timeout)
            if not readable and not writable:
                log.info('TLS handshake timed out')
                return None
            if stop is not None and stop.fd in readable and stop.confirmed():
                return None
    except (ssl.SSLError, IOError, OSError) as e:
        log.info('TLS handshake failed: %s', e)
        return None
    finally:
        waiter.watch(fd)
        if not done:
            # (the TLS socket owns the connection's fd now)
            tls.close()
