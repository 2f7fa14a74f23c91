# -*- coding: utf-8 -*-
"""Serving one connection: ``serve_connection`` moves the octets between an
accepted socket and an ``SMTPConnection`` until the connection ends.

It reads the socket in large chunks, feeds each chunk to the connection and
sends everything the connection answered to that chunk with one send. It
ends when the connection says it is closing, the client goes away, a time
limit is up (the client waited too long with its next complete command, or
took too long over one DATA phase or the whole session; it gets a 421), or
the stop fd becomes readable (the server shuts down; the client then gets a
421). It knows no SMTP: the connection writes every reply, and the 421s
come from ``pymta.replies`` by name.
"""

from __future__ import absolute_import

import logging

from .fdwait import FdWaiter, _errno_of, _now
from .sockets import DISCONNECT_ERRNOS, DONTWAIT, RETRY_ERRNOS, \
    close_connection, make_non_blocking, replies_before_a_fault, say_goodbye
from .states import CHUNK_DATA, MESSAGE_DATA, TLS_HANDSHAKE


__all__ = ['serve_connection']

log = logging.getLogger('pymta')

#: the readers of message octets (DATA, BDAT chunks): the DATA time
#: limits apply
_READING_MESSAGES = (MESSAGE_DATA, CHUNK_DATA)

_STOPPED = 'stopped'
_TIMED_OUT = 'timed out'
_DONE = 'done'


def _send_all(connection, data, waiter, deadline, stop=None):
    """Send ``data`` on the non-blocking ``connection``; give up when the
    client has not taken it all by ``deadline`` (a ``_now()`` time; None: no
    limit; returns _TIMED_OUT) or ``stop`` (a ``StopSignal``, or None)
    says stop (returns _STOPPED). ``waiter``: the connection's
    ``FdWaiter``, watching the connection for reading and the stop fd; while
    this waits it watches the connection for writing instead."""
    if not data:
        return _DONE
    try:
        sent = connection.send(data, DONTWAIT)
    except (IOError, OSError) as e:
        if _errno_of(e) not in RETRY_ERRNOS:
            raise
        sent = 0
    if sent == len(data):
        return _DONE    # the common case: the socket buffer took it all
    view = memoryview(data)[sent:]
    fd = connection.fileno()
    try:
        while len(view):
            try:
                sent = connection.send(view, DONTWAIT)
            except (IOError, OSError) as e:
                if _errno_of(e) not in RETRY_ERRNOS:
                    raise
                waiter.watch(fd, read=False, write=True)
                timeout = None
                if deadline is not None:
                    timeout = deadline - _now()
                    if timeout <= 0:
                        return _TIMED_OUT
                readable, writable = waiter.wait(timeout)
                if readable:
                    # (only the stop fd is watched for reading meanwhile)
                    if stop is None or stop.confirmed():
                        return _STOPPED
                    continue
                if not writable:
                    return _TIMED_OUT
                continue
            view = view[sent:]
    finally:
        waiter.watch(fd)
    return _DONE


class _NoTLS(Exception):
    """The TLS handshake before the greeting failed (it was logged)."""


def _start_tls(connection, context, waiter, time_limits, stop):
    """The TLS handshake on ``connection`` (see ``pymta.tls.handshake``):
    the ``TLSSocket``, or None (the connection is closed)."""
    from .tls import handshake
    return handshake(connection, context, waiter, time_limits.deadline, stop)


def _time_is_up(remote_ip, remote_port, time_limits):
    """Log which time limit is up; the name of the reply to say goodbye
    with, and the reason for the transcript."""
    what = time_limits.what_expired()
    log.info('%s:%s reached the %s, closing', remote_ip, remote_port, what)
    return 'idle_timeout', 'the %s is up' % what


def serve_connection(connection, remote_address, instances, settings,
                     stop=None, spinner=None, on_session_end=None):
    """Serve one SMTP connection (an accepted socket) until it ends; close it.

    ``remote_address`` is the address ``accept()`` returned. ``instances``:
    ``(deliverer, policy, authenticator)`` (policy and authenticator may be
    None). ``settings``: a ``ConnectionSettings``, the server's name and
    the limits: the limits of ``SMTPConnection`` and the time limits (see
    ``TimeLimits``): ``command_timeout`` for each command (only a reply to
    a complete command, or in the DATA phase a chunk of message data,
    restarts it; also the time the client may leave our replies unread),
    ``max_data_seconds`` for one DATA phase, ``max_session_seconds`` for
    the whole connection; when one is up the client gets the 421
    ``idle_timeout`` and is cut off. ``stop``: a ``StopSignal``; when it
    says stop, the client gets a 421 and the connection is closed (None:
    never). ``spinner``: a ``Spinner`` to wait for the client's commands
    with (None: block at once). ``on_session_end``: called once, before the
    client can tell that the session ended (before the last reply, the
    421, or closing the connection); it must not raise. (TCP_NODELAY is the
    caller's: the accept loop knows whether accepted sockets inherit it.)

    Returns True if the connection ended because of ``stop`` (the caller
    should stop serving), False otherwise. Never raises for what a client
    does; a fault in pymta itself is logged and ends only this connection
    (the replies written before it are sent, then a 421).
    The connection's transcript (``pymta.transcript``) ends with why it
    ended.
    """
    remote_ip, remote_port = remote_address[0], remote_address[1]
    hostname = settings.server_name()
    # (what the loop below needs, bound once: no lookups per chunk)
    read_size = settings.read_size
    stop_fd = None if stop is None else stop.fd
    stopped = False
    graceful = False
    goodbye = None      # the name of the last reply, sent on the way out
    last_replies = b''  # (after a fault: the replies before it, unsent)
    handshaking = False  # (no plaintext reply in a TLS handshake)
    smtp = None
    reason = None       # why the connection ended (None: the dialogue ended it)
    waiter = FdWaiter()
    waiter.watch(connection.fileno())
    if stop_fd is not None:
        waiter.watch(stop_fd)
    try:
        make_non_blocking(connection)
        tls_context = settings.tls_context
        time_limits = settings.time_limits()
        smtp = settings.new_connection(instances, hostname)
        tls_info = None
        tls = None      # the TLSSocket, once the connection is TLS
        if tls_context is not None and settings.implicit_tls:
            # (RFC 8314: the handshake comes before the greeting)
            handshaking = True
            tls = _start_tls(connection, tls_context, waiter, time_limits,
                             stop)
            handshaking = False
            if tls is None:
                stopped = stop is not None and stop.requested()
                raise _NoTLS()   # (before start(): no transcript)
            connection = tls
            tls_info = (tls.version(), tls.cipher())
        smtp.start(remote_ip, remote_port, tls=tls_info)
        output = smtp.data_to_send()
        while True:
            if smtp.closing and on_session_end is not None:
                on_session_end()
                on_session_end = None
            outcome = _send_all(connection, output, waiter,
                                time_limits.deadline, stop)
            output = b''
            if outcome == _STOPPED:
                stopped = True
                break
            if outcome == _TIMED_OUT:
                log.info('%s:%s does not read its replies, closing',
                         remote_ip, remote_port)
                reason = 'the client does not read its replies'
                break
            if smtp.closing:
                graceful = True
                break
            if smtp.reader is TLS_HANDSHAKE:
                # (the 220 of STARTTLS is sent)
                handshaking = True
                tls = _start_tls(connection, tls_context, waiter,
                                 time_limits, stop)
                handshaking = False
                if tls is None:
                    stopped = stop is not None and stop.requested()
                    reason = 'the TLS handshake failed'
                    break
                connection = tls
                smtp.tls_started(tls.version(), tls.cipher())
                continue
            if time_limits.expired:
                goodbye, reason = _time_is_up(remote_ip, remote_port,
                                              time_limits)
                break
            data = None
            if spinner is not None:
                data = spinner.attempt(connection.recv, read_size, DONTWAIT)
                if data:
                    # (a client that always answers within the spin never
                    # lets this reach the poll that would see a stop)
                    if stop is not None and stop.requested():
                        stopped = True
                        goodbye = 'shutting_down'
                        break
                elif data is None:
                    started = _now()
            if data is None:
                timeout = time_limits.time_left()
                readable = []
                if tls is not None and tls.pending():
                    # (decrypted already: poll would not see it)
                    readable = [connection.fileno()]
                elif timeout is None or timeout > 0:
                    readable, _ = waiter.wait(timeout)
                if spinner is not None:
                    spinner.blocked(_now() - started)
                if stop_fd is not None and stop_fd in readable:
                    stopped = stop.confirmed()
                    if stopped:
                        goodbye = 'shutting_down'
                        break
                    readable.remove(stop_fd)
                    if not readable:
                        continue
                if not readable:
                    goodbye, reason = _time_is_up(remote_ip, remote_port,
                                                  time_limits)
                    break
                try:
                    data = connection.recv(read_size, DONTWAIT)
                except (IOError, OSError) as e:
                    if _errno_of(e) in RETRY_ERRNOS:
                        continue
                    raise
            if not data:
                log.debug('%s:%s disconnected', remote_ip, remote_port)
                reason = 'the client closed the connection'
                break
            smtp.receive_data(data)
            output = smtp.data_to_send()
            # (every complete command gets a reply: only a reply, or message
            # data, restarts the command timeout)
            time_limits.after_input(output, smtp.reader in _READING_MESSAGES)
    except _NoTLS:
        pass
    except (IOError, OSError) as e:
        if _errno_of(e) in DISCONNECT_ERRNOS:
            log.debug('%s:%s went away: %s', remote_ip, remote_port, e)
            reason = 'the client went away: %s' % (e,)
        else:
            log.exception('error while serving %s:%s', remote_ip, remote_port)
            reason = 'error: %s' % (e,)
    except Exception as e:
        log.exception('error while serving %s:%s', remote_ip, remote_port)
        reason = 'error: %r' % (e,)
        if smtp is not None and not handshaking:
            # (what the core answered before the fault, then a 421)
            last_replies = replies_before_a_fault(smtp)
            goodbye = 'shutting_down'
    finally:
        waiter.close()
        if smtp is not None:
            if stopped:
                reason = 'the server stops'
            if goodbye is not None:
                reason = '%s, 421 sent' % (reason or 'closed')
            smtp.connection_closed(reason)
        if on_session_end is not None:
            on_session_end()
        if goodbye is not None:
            say_goodbye(connection, hostname, goodbye,
                        settings.enhanced_codes, last_replies)
            close_connection(connection, True, drain=True)
        else:
            close_connection(connection, graceful)
    return stopped
