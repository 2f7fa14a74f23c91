# -*- coding: utf-8 -*-
"""The small calls on sockets and file descriptors that every server loop
makes, and what the errors of those calls mean: sending and receiving
without blocking, accepting without waiting, the last reply before closing,
closing a client without losing that reply, TCP_NODELAY and close-on-exec.
Nothing here knows SMTP: a last reply is named and formatted by
``pymta.replies``, and the replies before a fault are the connection
core's ``data_to_send()``."""

from __future__ import absolute_import

import errno
import socket

from .fdwait import _errno_of
from .replies import enhanced_reply_for, reply_bytes, reply_for

try:
    import fcntl
except ImportError:     # not POSIX
    fcntl = None


__all__ = ['ACCEPT_RESOURCE_ERRNOS', 'ACCEPT_SKIP_ERRNOS', 'DISCONNECT_ERRNOS',
           'DONTWAIT', 'READ_SIZE', 'RETRY_ERRNOS', 'accept_if_pending',
           'close_connection', 'has_nodelay', 'host_and_port',
           'replies_before_a_fault', 'say_goodbye',
           'set_close_on_exec', 'set_nodelay']

#: Octets read from a client socket at once.
READ_SIZE = 64 * 1024

# errors that only mean "try again"
RETRY_ERRNOS = frozenset([errno.EAGAIN, errno.EWOULDBLOCK, errno.EINTR])
# errors accept() returns for a connection that went away before we took it;
# Linux also passes network errors pending on the new connection and a
# firewall's refusal (accept(2): treat them like EAGAIN)
ACCEPT_SKIP_ERRNOS = frozenset(
    [errno.ECONNABORTED, errno.EPROTO, errno.EPERM] +
    [getattr(errno, name) for name in (
        'ENOSR', 'ENETDOWN', 'ENOPROTOOPT', 'EHOSTDOWN', 'ENONET',
        'EHOSTUNREACH', 'EOPNOTSUPP', 'ENETUNREACH')
     if hasattr(errno, name)])
# errors accept() returns when this process (or the system) has no room
ACCEPT_RESOURCE_ERRNOS = frozenset([errno.EMFILE, errno.ENFILE,
                                    errno.ENOBUFS, errno.ENOMEM])
# errors that mean the client is gone
DISCONNECT_ERRNOS = frozenset([errno.ECONNRESET, errno.EPIPE,
                               errno.ENOTCONN, errno.ESHUTDOWN,
                               errno.ECONNABORTED, errno.ETIMEDOUT])

# Sends and receives on a client socket never block: with MSG_DONTWAIT the
# socket itself can stay in blocking mode, which saves the fcntl/ioctl per
# connection that setblocking(False) costs (Linux, BSD, macOS).
DONTWAIT = getattr(socket, 'MSG_DONTWAIT', 0)


def host_and_port(host, port):
    """``host:port`` as text, an IPv6 address in brackets (``[::1]:25``),
    ``*`` for every address (``''``)."""
    if not host:
        host = '*'
    elif ':' in host:
        host = '[%s]' % (host,)
    return '%s:%s' % (host, port)


def accept_if_pending(listen_socket):
    """``accept()`` on the non-blocking ``listen_socket``; None if no
    connection is waiting."""
    try:
        return listen_socket.accept()
    except (IOError, OSError) as e:
        if _errno_of(e) in RETRY_ERRNOS:
            return None
        raise


def set_nodelay(connection):
    """Send replies at once (no Nagle delay); True if it is set."""
    try:
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return True
    except (IOError, OSError):
        return False    # not TCP (e.g. a socket pair in a test)


def has_nodelay(connection):
    try:
        return bool(connection.getsockopt(socket.IPPROTO_TCP,
                                          socket.TCP_NODELAY))
    except (IOError, OSError):
        return False


def say_goodbye(connection, hostname, reply_name, enhanced=False,
                first=b''):
    """Send the last reply ``reply_name`` (a 421) without waiting for the
    client (best effort); ``enhanced``: with its enhanced status code
    (ENHANCEDSTATUSCODES); ``first``: octets to send before it (replies
    that were not sent yet)."""
    code, text = (enhanced_reply_for if enhanced else reply_for)(
        reply_name, host=hostname)
    try:
        connection.send(first + reply_bytes(code, text), DONTWAIT)
    except (IOError, OSError):
        pass


def replies_before_a_fault(smtp):
    """The octets of the replies the connection core ``smtp`` wrote
    before it raised (a message's 250 may be among them: without it the
    client would send the message again); b'' where it cannot tell."""
    try:
        return smtp.data_to_send()
    except Exception:
        return b''


def make_non_blocking(connection):
    """Make an accepted ``connection`` non-blocking (where sends and
    receives cannot say ``MSG_DONTWAIT``), and drop a default timeout
    (``socket.setdefaulttimeout`` would make Python poll before each
    call)."""
    if not DONTWAIT:
        connection.setblocking(False)
    elif connection.gettimeout() is not None:
        connection.settimeout(0.0)


def turn_away(connection, hostname, enhanced=False, silently=False):
    """Answer the accepted ``connection`` ``421 <hostname> Service too
    busy ...`` and close it (every place that could serve it is taken).
    ``enhanced``: the 421 with its enhanced status code; ``silently``:
    close without it (implicit TLS: the client expects a handshake, not
    text)."""
    make_non_blocking(connection)
    if silently:
        close_connection(connection, False)
        return
    say_goodbye(connection, hostname, 'too_busy', enhanced)
    close_connection(connection, True, drain=True)


def close_connection(connection, graceful, drain=False):
    """Close ``connection``; ``graceful``: after a FIN behind the replies
    sent; ``drain``: read what the client sent meanwhile first (without
    waiting), because closing with unread input resets the connection,
    which may throw away a last reply the kernel has not sent yet."""
    try:
        if graceful:
            connection.shutdown(socket.SHUT_WR)
        if drain:
            for _ in range(16):
                if not connection.recv(READ_SIZE, DONTWAIT):
                    break
    except (IOError, OSError):
        pass
    try:
        connection.close()
    except (IOError, OSError):
        pass


def set_close_on_exec(fd):
    """Keep ``fd`` from programs started with exec (forked workers do get
    it)."""
    if fcntl is None:
        return
    flags = fcntl.fcntl(fd, fcntl.F_GETFD)
    fcntl.fcntl(fd, fcntl.F_SETFD, flags | fcntl.FD_CLOEXEC)


def socket_pair():
    """A connected pair of sockets (``socket.socketpair()``) that programs
    started with exec do not inherit (forked workers do)."""
    pair = socket.socketpair()
    for sock in pair:
        set_close_on_exec(sock.fileno())
    return pair
