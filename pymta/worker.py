# -*- coding: utf-8 -*-
"""Serving connections: the I/O around the sans-I/O parser.

Two loops live here, and both server paths of ``PythonMTA`` use them:

* ``serve_connection()`` serves ONE connection: it reads the socket in large
  chunks, feeds each chunk to an ``SMTPParser`` and sends everything
  the parser wrote in reply to that chunk with one send. It ends when the
  parser closes the connection, the client goes away, a time limit is up
  (the client waited too long with its next complete command, or took too
  long over one DATA phase or the whole session; it gets a 421), or the
  *stop fd* becomes readable (the server shuts down; the client then gets a
  421).
* ``WorkerProcess.accept_loop()`` accepts connections on the listening socket
  and serves them one after the other until the stop fd becomes readable.

The serial path runs ``accept_loop`` in the thread that called
``serve_forever``, with the read end of the server's wake-up socket pair as
stop fd; there a ``Spinner`` retries the non-blocking accept and recv calls
for a moment before the loops sleep in poll. On the fork path every worker
process runs ``WorkerProcess.run``: it accepts on the listening socket it
shares with its siblings (the kernel hands each connection to one of them),
marks itself idle or busy on the ``WorkerBoard`` it shares with the parent,
writes to its status pipe only ``R`` once ready, ``B`` when the parent must
count the idle workers (to start more, or to answer new clients with a 421
while none is idle) and ``X`` when it exits because it was idle too long
(end of file there means the worker is gone), and stops when its *lifeline*
pipe reaches end of file: the parent closes the write end on shutdown, and
the kernel closes it when the parent dies in any way.

``pymta.command_parser`` re-exports ``WorkerProcess``, so this module uses
the parser of ``pymta.parser`` and never imports ``pymta.command_parser``.
"""

from __future__ import absolute_import

import errno
import inspect
import logging
import os
import select
import signal
import socket
import sys
import threading

from .compat import wire_bytes
from .fdwait import FdWaiter, wait_for, _errno_of, _now
from .parser import ClientDisconnectedError, SMTPParser
from .replies import reply_bytes, reply_for
from .session import SMTPSession


__all__ = ['WorkerProcess']

log = logging.getLogger('pymta')

#: Octets read from a client socket at once.
READ_SIZE = 64 * 1024

# errors that only mean "try again"
_RETRY_ERRNOS = frozenset([errno.EAGAIN, errno.EWOULDBLOCK, errno.EINTR])
# errors accept() returns for a connection that went away before we took it;
# Linux also passes network errors pending on the new connection and a
# firewall's refusal (accept(2): treat them like EAGAIN)
_ACCEPT_SKIP_ERRNOS = frozenset(
    [errno.ECONNABORTED, errno.EPROTO, errno.EPERM] +
    [getattr(errno, name) for name in (
        'ENOSR', 'ENETDOWN', 'ENOPROTOOPT', 'EHOSTDOWN', 'ENONET',
        'EHOSTUNREACH', 'EOPNOTSUPP', 'ENETUNREACH')
     if hasattr(errno, name)])
# errors accept() returns when this process (or the system) has no room
_ACCEPT_RESOURCE_ERRNOS = frozenset([errno.EMFILE, errno.ENFILE,
                                     errno.ENOBUFS, errno.ENOMEM])
# errors that mean the client is gone
_DISCONNECT_ERRNOS = frozenset([errno.ECONNRESET, errno.EPIPE,
                                errno.ENOTCONN, errno.ESHUTDOWN,
                                errno.ECONNABORTED, errno.ETIMEDOUT])

_STOPPED = 'stopped'
_TIMED_OUT = 'timed out'
_DONE = 'done'


# Sends and receives on a client socket never block: with MSG_DONTWAIT the
# socket itself can stay in blocking mode, which saves the fcntl/ioctl per
# connection that setblocking(False) costs (Linux, BSD, macOS).
_DONTWAIT = getattr(socket, 'MSG_DONTWAIT', 0)


class Spinner(object):
    """Spin-then-block waiting for the serial path (``PythonMTA`` keyword
    ``serial_spin_seconds``).

    Serving one connection at a time, the serial path spends most of a
    connection waiting for the client's next command. Blocking in poll lets
    this CPU go idle, and on a virtual machine waking it again takes longer
    than a program needs to answer. So, like an adaptive mutex, a wait first
    retries the non-blocking call for up to ``seconds`` and blocks only if
    nothing came. It spins only while that pays: after a blocking wait that
    took longer than the spin would have (a slow or interactive client, an
    idle server) it blocks straight away until a wait is short again. And
    never while another Python thread runs in this process: spinning holds
    the GIL that thread may need (say, a test's smtplib client)."""

    __slots__ = ('seconds', 'active')

    def __init__(self, seconds):
        self.seconds = seconds
        self.active = True

    def attempt(self, call, *args):
        """``call(*args)`` (non-blocking) until it does not raise a "try
        again" error or the time is up; its result, or None."""
        if not self.active or self.other_threads_run():
            return None
        deadline = _now() + self.seconds
        while True:
            try:
                return call(*args)
            except (IOError, OSError) as e:
                if _errno_of(e) not in _RETRY_ERRNOS:
                    raise
            if _now() > deadline:
                return None

    def blocked(self, seconds):
        """A blocking wait took ``seconds``: spin next time if spinning
        would have caught it."""
        self.active = seconds <= self.seconds

    @staticmethod
    def other_threads_run():
        return threading.active_count() > 1


class _AcceptWaiter(object):
    """Waits for a connection on the listening socket or for the stop fd.

    Where the kernel offers ``EPOLLEXCLUSIVE`` (Linux 4.5+, Python 3.6+), the
    listening socket is registered with it in an epoll object of this
    process, so a new connection wakes one idle worker, not all of them (the
    thundering herd); the stop fd is registered normally, so stopping wakes
    every worker. Elsewhere it is an ``FdWaiter``."""

    def __init__(self, listen_fd, stop_fd):
        self.stop_fd = stop_fd
        self._epoll = None
        self._waiter = None
        epoll = getattr(select, 'epoll', None)
        exclusive = getattr(select, 'EPOLLEXCLUSIVE', None)
        if epoll is not None and exclusive is not None:
            try:
                self._epoll = epoll()
                self._epoll.register(listen_fd, select.EPOLLIN | exclusive)
                self._epoll.register(stop_fd, select.EPOLLIN)
            except (IOError, OSError, ValueError):
                # e.g. a kernel older than 4.5 refuses EPOLLEXCLUSIVE
                if self._epoll is not None:
                    self._epoll.close()
                self._epoll = None
        if self._epoll is None:
            self._waiter = FdWaiter()
            self._waiter.watch(listen_fd)
            self._waiter.watch(stop_fd)

    def wait(self, timeout=None):
        """True when the stop fd is readable (or hung up), else False
        (a connection may be waiting, or the time is up)."""
        if self._epoll is None:
            return self.stop_fd in self._waiter.wait(timeout)[0]
        while True:
            try:
                events = self._epoll.poll(-1 if timeout is None else timeout)
            except (IOError, OSError) as e:
                if _errno_of(e) != errno.EINTR:
                    raise
                continue
            for fd, _ in events:
                if fd == self.stop_fd:
                    return True
            return False

    def close(self):
        if self._epoll is not None:
            self._epoll.close()
            self._epoll = None
        if self._waiter is not None:
            self._waiter.close()
            self._waiter = None


# --- one connection ------------------------------------------------------------
class SocketChannel(object):
    """The channel an ``SMTPParser`` writes to: it collects the reply
    lines (``write``) and whether the connection is to be closed
    (``close``); ``serve_connection`` sends them after each chunk of input."""

    __slots__ = ('_lines', 'is_closing')

    def __init__(self):
        self._lines = []
        self.is_closing = False

    def write(self, text):
        self._lines.append(text)

    def close(self):
        self.is_closing = True

    def take_output(self):
        """The octets written since the last call."""
        lines = self._lines
        if not lines:
            return b''
        self._lines = []
        if len(lines) == 1:     # the common case: one reply line
            return wire_bytes(lines[0])
        return b''.join([wire_bytes(line) for line in lines])


def _stop_confirmed(stop_fd, is_stopping):
    """The stop fd is readable: does that mean stop? Without ``is_stopping``
    it does; with it (the serial path, whose stop fd also wakes the thread
    for signals) the fd is drained and ``is_stopping()`` decides."""
    if is_stopping is None:
        return True
    try:
        while os.read(stop_fd, 4096):
            pass
    except (IOError, OSError):
        pass    # drained (EAGAIN)
    return is_stopping()


def _stop_requested(stop_fd, is_stopping):
    """Without waiting: has a stop been asked for? (For loops that spin
    instead of waiting for the stop fd.)"""
    if stop_fd is None:
        return False
    if is_stopping is not None:
        return is_stopping()
    return bool(wait_for([stop_fd], (), 0)[0])


def _send_all(connection, data, waiter, deadline, stop_fd=None,
              is_stopping=None):
    """Send ``data`` on the non-blocking ``connection``; give up when the
    client has not taken it all by ``deadline`` (a ``_now()`` time; None: no
    limit; returns _TIMED_OUT) or the stop fd becomes readable (returns
    _STOPPED). ``waiter``: the connection's
    ``FdWaiter``, watching the connection for reading and the stop fd; while
    this waits it watches the connection for writing instead."""
    if not data:
        return _DONE
    try:
        sent = connection.send(data, _DONTWAIT)
    except (IOError, OSError) as e:
        if _errno_of(e) not in _RETRY_ERRNOS:
            raise
        sent = 0
    if sent == len(data):
        return _DONE    # the common case: the socket buffer took it all
    view = memoryview(data)[sent:]
    fd = connection.fileno()
    try:
        while len(view):
            try:
                sent = connection.send(view, _DONTWAIT)
            except (IOError, OSError) as e:
                if _errno_of(e) not in _RETRY_ERRNOS:
                    raise
                waiter.watch(fd, read=False, write=True)
                timeout = None
                if deadline is not None:
                    timeout = deadline - _now()
                    if timeout <= 0:
                        return _TIMED_OUT
                readable, writable = waiter.wait(timeout)
                if readable:
                    if _stop_confirmed(stop_fd, is_stopping):
                        return _STOPPED
                    continue
                if not writable:
                    return _TIMED_OUT
                continue
            view = view[sent:]
    finally:
        waiter.watch(fd)
    return _DONE


def _set_nodelay(connection):
    """Send replies at once (no Nagle delay); True if it is set."""
    try:
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return True
    except (IOError, OSError):
        return False    # not TCP (e.g. a socket pair in a test)


def _has_nodelay(connection):
    try:
        return bool(connection.getsockopt(socket.IPPROTO_TCP,
                                          socket.TCP_NODELAY))
    except (IOError, OSError):
        return False


def _say_goodbye(connection, hostname, reply_name):
    """Send the last reply ``reply_name`` (a 421) without waiting for the
    client (best effort)."""
    code, text = reply_for(reply_name, host=hostname)
    try:
        connection.send(reply_bytes(code, text), _DONTWAIT)
    except (IOError, OSError):
        pass


def _close(connection, graceful, drain=False):
    """Close ``connection``; ``graceful``: after a FIN behind the replies
    sent; ``drain``: read what the client sent meanwhile first (without
    waiting), because closing with unread input resets the connection,
    which may throw away a last reply the kernel has not sent yet."""
    try:
        if graceful:
            connection.shutdown(socket.SHUT_WR)
        if drain:
            for _ in range(16):
                if not connection.recv(READ_SIZE, _DONTWAIT):
                    break
    except (IOError, OSError):
        pass
    try:
        connection.close()
    except (IOError, OSError):
        pass


class _Deadlines(object):
    """The time limits of one connection (RFC 5321 §4.5.3.2), kept by a
    driver that knows no SMTP: it tells a complete command by the reply the
    core wrote for it, and the DATA phase by ``is_in_data_mode()``.

    * ``command_timeout``: seconds to wait for the next complete command
      (or, in the DATA phase, for the next chunk of message data); only a
      reply restarts it, so bytes that do not complete a command do not.
    * ``data_seconds``: the most one DATA phase (354 to the end of the
      data) may take, however steadily the data trickles in.
    * ``session_seconds``: the most the whole connection may take.

    Each is None for no limit. ``deadline`` is the earliest of them (a
    ``_now()`` time, or None); ``expired`` is set by ``after_input``."""

    __slots__ = ('command_timeout', 'data_seconds', 'command_deadline',
                 'data_deadline', 'session_deadline', 'deadline', 'expired',
                 'unlimited')

    def __init__(self, command_timeout, data_seconds, session_seconds):
        now = _now()
        self.command_timeout = command_timeout
        self.data_seconds = data_seconds
        self.command_deadline = None
        if command_timeout is not None:
            self.command_deadline = now + command_timeout
        self.data_deadline = None
        self.session_deadline = None
        if session_seconds is not None:
            self.session_deadline = now + session_seconds
        self.unlimited = command_timeout is None and data_seconds is None \
            and session_seconds is None
        self.expired = False
        self._set_deadline()

    def _set_deadline(self):
        # (runs for every reply: no list, no min())
        deadline = self.command_deadline
        other = self.data_deadline
        if other is not None and (deadline is None or other < deadline):
            deadline = other
        other = self.session_deadline
        if other is not None and (deadline is None or other < deadline):
            deadline = other
        self.deadline = deadline

    def after_input(self, replied, was_in_data_mode, is_in_data_mode):
        """The core has handled a chunk of input: ``replied`` if it wrote a
        reply (a command, or the message data, was complete);
        ``was_in_data_mode`` / ``is_in_data_mode``: before and after."""
        if self.unlimited:
            return
        now = _now()
        if replied or was_in_data_mode:
            if self.command_timeout is not None:
                self.command_deadline = now + self.command_timeout
            if not is_in_data_mode:
                self.data_deadline = None
            elif replied or self.data_deadline is None:
                # a reply that leaves the core in data mode is a 354: a new
                # DATA phase begins
                self.data_deadline = None
                if self.data_seconds is not None:
                    self.data_deadline = now + self.data_seconds
            self._set_deadline()
        self.expired = self.deadline is not None and now >= self.deadline

    def time_left(self):
        """Seconds until the earliest deadline (0 once it passed), or None."""
        deadline = self.deadline
        if deadline is None:
            return None
        left = deadline - _now()
        return left if left > 0.0 else 0.0

    def what_expired(self):
        now = _now()
        if self.session_deadline is not None and now >= self.session_deadline:
            return 'session time limit'
        if self.data_deadline is not None and now >= self.data_deadline:
            return 'DATA time limit'
        return 'command timeout'


def turn_away_connection(listen_socket, hostname):
    """Accept one connection from the (non-blocking) ``listen_socket``,
    answer it ``421 <hostname> Service too busy ...`` and close it (the
    fork path's parent, while every worker is busy). Returns the client's
    address, or None if there was no connection to take (a worker took
    it). Other errors of ``accept()`` are raised."""
    try:
        connection, address = listen_socket.accept()
    except (IOError, OSError) as e:
        number = _errno_of(e)
        if number in _RETRY_ERRNOS or number in _ACCEPT_SKIP_ERRNOS:
            return None
        raise   # (e.g. no file descriptor left: the caller waits a moment)
    log.info('%s:%s: every worker is busy, answering 421', address[0],
             address[1])
    if not _DONTWAIT:
        connection.setblocking(False)
    _say_goodbye(connection, hostname, 'too_busy')
    _close(connection, True, drain=True)
    return address


def _time_is_up(remote_ip, remote_port, deadlines):
    """Log which time limit is up; the name of the reply to say goodbye
    with."""
    log.info('%s:%s reached the %s, closing', remote_ip, remote_port,
             deadlines.what_expired())
    return 'idle_timeout'


def serve_connection(connection, remote_address, deliverer, policy=None,
                     authenticator=None, primary_hostname=None, stop_fd=None,
                     idle_timeout=None, read_size=READ_SIZE, is_stopping=None,
                     spinner=None, set_nodelay=True, max_errors=None,
                     max_auth_failures=None, default_max_message_size=None,
                     max_data_seconds=None, max_session_seconds=None,
                     on_session_end=None):
    """Serve one SMTP connection (an accepted socket) until it ends; close it.

    ``remote_address`` is the address ``accept()`` returned. ``stop_fd``: when
    it becomes readable the server is stopping: the client gets a 421 and the
    connection is closed. Time limits (seconds, None for none; see
    ``_Deadlines``): ``idle_timeout`` for each command (only a reply to a
    complete command, or in the DATA phase a chunk of message data,
    restarts it; also the time the client may leave our replies unread),
    ``max_data_seconds`` for one DATA phase, ``max_session_seconds`` for
    the whole connection; when one is up the client gets the 421 of
    ``idle_timeout`` and is cut off. ``is_stopping``: see ``_stop_confirmed``.
    ``spinner``: a ``Spinner`` to wait for the client's commands with (None:
    block at once). ``set_nodelay``: False when the socket has TCP_NODELAY
    already (inherited from the listening socket). ``max_errors``,
    ``max_auth_failures``, ``default_max_message_size``: the limits of
    ``SMTPParser`` (None: none). ``on_session_end``: called once,
    before the client can tell that the session ended (before the last
    reply, the 421, or closing the connection); it must not raise.

    Returns True if the connection ended because ``stop_fd`` became readable
    (the caller should stop serving), False otherwise. Never raises for what
    a client does; a fault in pymta itself is logged and ends only this
    connection.
    """
    remote_ip, remote_port = remote_address[0], remote_address[1]
    channel = SocketChannel()
    hostname = primary_hostname or socket.getfqdn()
    stopped = False
    graceful = False
    goodbye = None      # the name of the last reply, sent on the way out
    waiter = FdWaiter()
    waiter.watch(connection.fileno())
    if stop_fd is not None:
        waiter.watch(stop_fd)
    try:
        if not _DONTWAIT:
            connection.setblocking(False)
        elif connection.gettimeout() is not None:
            # (a default timeout set with socket.setdefaulttimeout would
            # make Python poll before each call)
            connection.settimeout(0.0)
        if set_nodelay:
            _set_nodelay(connection)
        parser = SMTPParser(channel, remote_ip, remote_port, deliverer,
                            policy=policy, authenticator=authenticator,
                            primary_hostname=hostname, max_errors=max_errors,
                            max_auth_failures=max_auth_failures,
                            default_max_message_size=default_max_message_size)
        deadlines = _Deadlines(idle_timeout, max_data_seconds,
                               max_session_seconds)
        output = channel.take_output()
        while True:
            if channel.is_closing and on_session_end is not None:
                on_session_end()
                on_session_end = None
            outcome = _send_all(connection, output, waiter,
                                deadlines.deadline, stop_fd, is_stopping)
            output = b''
            if outcome == _STOPPED:
                stopped = True
                break
            if outcome == _TIMED_OUT:
                log.info('%s:%s does not read its replies, closing',
                         remote_ip, remote_port)
                break
            if channel.is_closing:
                graceful = True
                break
            if deadlines.expired:
                goodbye = _time_is_up(remote_ip, remote_port, deadlines)
                break
            data = None
            if spinner is not None:
                data = spinner.attempt(connection.recv, read_size, _DONTWAIT)
                if data:
                    # (a client that always answers within the spin never
                    # lets this reach the poll that would see a stop)
                    stopped = _stop_requested(stop_fd, is_stopping)
                    if stopped:
                        goodbye = 'shutting_down'
                        break
                elif data is None:
                    started = _now()
            if data is None:
                timeout = deadlines.time_left()
                readable = []
                if timeout is None or timeout > 0:
                    readable, _ = waiter.wait(timeout)
                if spinner is not None:
                    spinner.blocked(_now() - started)
                if stop_fd is not None and stop_fd in readable:
                    stopped = _stop_confirmed(stop_fd, is_stopping)
                    if stopped:
                        goodbye = 'shutting_down'
                        break
                    readable.remove(stop_fd)
                    if not readable:
                        continue
                if not readable:
                    goodbye = _time_is_up(remote_ip, remote_port, deadlines)
                    break
                try:
                    data = connection.recv(read_size, _DONTWAIT)
                except (IOError, OSError) as e:
                    if _errno_of(e) in _RETRY_ERRNOS:
                        continue
                    raise
            if not data:
                log.debug('%s:%s disconnected', remote_ip, remote_port)
                break
            was_in_data_mode = parser.is_in_data_mode()
            parser.process_new_data(data)
            output = channel.take_output()
            # (every complete command gets a reply: only a reply, or message
            # data, restarts the command timeout)
            deadlines.after_input(bool(output), was_in_data_mode,
                                  parser.is_in_data_mode())
    except ClientDisconnectedError:
        log.debug('%s:%s disconnected', remote_ip, remote_port)
    except (IOError, OSError) as e:
        if _errno_of(e) in _DISCONNECT_ERRNOS:
            log.debug('%s:%s went away: %s', remote_ip, remote_port, e)
        else:
            log.exception('error while serving %s:%s', remote_ip, remote_port)
    except Exception:
        log.exception('error while serving %s:%s', remote_ip, remote_port)
    finally:
        waiter.close()
        if on_session_end is not None:
            on_session_end()
        if goodbye is not None:
            _say_goodbye(connection, hostname, goodbye)
            _close(connection, True, drain=True)
        else:
            _close(connection, graceful)
    return stopped


# --- warming the core up before the fork path forks ---------------------------
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
    """The channel and the deliverer of ``prepare_core``: keeps nothing but
    a count of the messages."""

    def __init__(self):
        self.messages = 0

    def write(self, text):
        pass

    def close(self):
        pass

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
    SMTPSession.build_tables()
    discard = _Discard()
    for _ in range(rounds):
        parser = SMTPParser(discard, '127.0.0.1', 0, discard,
                            primary_hostname='localhost')
        for chunk in _WARM_UP_DIALOGUE:
            parser.process_new_data(chunk)
    return discard.messages


# --- building the deliverer, policy and authenticator -------------------------
def build_instance(factory, interface_method):
    """One instance from a "class" argument of ``PythonMTA``: a class or any
    other callable is called without arguments; an object that already has
    ``interface_method`` (an instance) is used as it is; None stays None."""
    if factory is None:
        return None
    if inspect.isclass(factory):
        return factory()
    if hasattr(factory, interface_method) or not callable(factory):
        return factory
    return factory()


def build_instances(deliverer_class, policy_class, authenticator_class):
    """``(deliverer, policy, authenticator)`` built from the class arguments."""
    return (build_instance(deliverer_class, 'new_message_accepted'),
            build_instance(policy_class, 'accept_new_connection'),
            build_instance(authenticator_class, 'authenticate'))


# --- the accept loop and the worker process -----------------------------------
class _ParentGone(Exception):
    pass


def _accept_if_pending(listen_socket):
    """``accept()`` on the non-blocking ``listen_socket``; None if no
    connection is waiting."""
    try:
        return listen_socket.accept()
    except (IOError, OSError) as e:
        if _errno_of(e) in _RETRY_ERRNOS:
            return None
        raise


class WorkerBoard(object):
    """What the workers of the fork path are doing, in memory they share
    with their parent, so that no report costs a system call.

    Each worker has a slot (``IDLE`` or ``BUSY``; ``FREE`` when no worker
    has it). A worker marks itself busy when it accepts a connection and
    idle when the connection ends; only when that leaves fewer than
    ``min_spare`` idle workers, and a slot is free (the parent may start
    another worker), does it wake the parent (through its status pipe),
    which then counts the idle workers and starts more. With every slot
    taken it wakes the parent only when it leaves no worker idle: the
    parent then answers new clients itself (``421 ... too busy``) while
    that lasts. An idle worker beyond ``min_spare`` may retire
    (``retire``).

    ``lock`` (a multiprocessing lock: taking a free one is no system call)
    makes marking and counting one step, so two workers going busy at once
    cannot both count the other as idle. It is never waited for: a worker
    that finds it taken (by a sibling marking right now, or by one killed
    while it held it) marks without it and wakes the parent anyway. Where
    the platform has no lock to share, a worker counts without one; the
    race then costs at most a late spare worker."""

    FREE, IDLE, BUSY = 0, 1, 2

    def __init__(self, slots, lock, min_spare):
        self.slots = slots          # a shared array of bytes (RawArray('b'))
        self.lock = lock
        self.min_spare = min_spare

    def mark(self, slot, state):
        """Set ``slot`` to ``state``; True if the parent should count the
        idle workers (there may be fewer than ``min_spare``)."""
        lock = self.lock
        if lock is not None and not lock.acquire(False):
            self.slots[slot] = state
            return True
        try:
            slots = self.slots
            slots[slot] = state
            states = slots[:]
            idle = states.count(self.IDLE)
            if self.FREE in states:
                return idle < self.min_spare
            # with every slot taken the parent may not start another worker:
            # it is woken only when no worker is left to accept, to turn new
            # clients away with a 421 until one is idle again
            return idle == 0
        finally:
            if lock is not None:
                lock.release()

    def retire(self, slot):
        """The worker of ``slot`` has been idle for a while and would exit:
        True (the slot is ``FREE`` now) if more than ``min_spare`` workers
        are idle, else False. Decided under the lock, so that idle workers
        retiring at the same moment never leave fewer than ``min_spare``;
        if the lock is taken, None (ask again in a moment: the workers of
        a burst tend to retire at the same time). (Without a lock, two at
        once may leave one too few: the parent then starts one.)"""
        lock = self.lock
        if lock is not None and not lock.acquire(False):
            return None
        try:
            slots = self.slots
            if slots[slot] != self.IDLE or \
                    slots[:].count(self.IDLE) <= self.min_spare:
                return False
            slots[slot] = self.FREE
            return True
        finally:
            if lock is not None:
                lock.release()

    def idle_workers(self):
        return self.slots[:].count(self.IDLE)


class WorkerProcess(object):
    """Accepts connections on a listening socket and serves them, one at a
    time, with one deliverer, policy and authenticator instance.

    ``PythonMTA`` makes one per worker process on the fork path (``run`` is
    the process's target) and one for the serial path (``build`` and
    ``accept_loop`` in the serving thread).

    * ``listen_socket``: the listening socket (made non-blocking here).
    * ``deliverer_class``, ``policy_class``, ``authenticator_class``: the
      "class" arguments of ``PythonMTA`` (see ``build_instance``).
    * ``primary_hostname``: the server's name, looked up once by the server.
    * ``session_timeout``, ``max_data_seconds``, ``max_session_seconds``:
      a connection's time limits (see ``serve_connection``; None: none).
    * ``lifeline_fd``: (fork path) read end of the parent's lifeline pipe;
      end of file there means stop.
    * ``status_fd``: (fork path) write end of this worker's status pipe:
      ``R`` once ready, ``B`` when the parent should count the idle workers
      (to start more, or to turn clients away while none is idle), ``X``
      when it exits because it was not needed (``idle_worker_seconds``).
    * ``board``, ``slot``: (fork path) the ``WorkerBoard`` and this
      worker's slot on it.
    * ``inherited``: (fork path) sockets and fds of the parent that the
      worker closes first thing.
    * ``spin_seconds``: (serial path) spin this long for the next command
      or connection before blocking (see ``Spinner``); 0: never spin.
    * ``idle_worker_seconds``: (fork path) after this long without a
      connection, exit if more than ``min_spare`` workers are idle
      (``WorkerBoard.retire``); None: never.
    * ``max_errors``, ``max_auth_failures``, ``default_max_message_size``:
      the per-connection limits of ``SMTPParser`` (None: none).
    """

    #: what waits for the next command or connection when ``spin_seconds``
    #: is set
    spinner_class = Spinner

    def __init__(self, listen_socket, deliverer_class, policy_class=None,
                 authenticator_class=None, primary_hostname=None,
                 session_timeout=None, lifeline_fd=None, status_fd=None,
                 board=None, slot=None, inherited=(), spin_seconds=0,
                 max_errors=None, max_auth_failures=None,
                 default_max_message_size=None, max_data_seconds=None,
                 max_session_seconds=None, idle_worker_seconds=None):
        self.listen_socket = listen_socket
        self.deliverer_class = deliverer_class
        self.policy_class = policy_class
        self.authenticator_class = authenticator_class
        self.primary_hostname = primary_hostname
        self.session_timeout = session_timeout
        self.lifeline_fd = lifeline_fd
        self.status_fd = status_fd
        self.board = board
        self.slot = slot
        self.inherited = inherited
        self.spin_seconds = spin_seconds
        self.max_errors = max_errors
        self.max_auth_failures = max_auth_failures
        self.default_max_message_size = default_max_message_size
        self.max_data_seconds = max_data_seconds
        self.max_session_seconds = max_session_seconds
        self.idle_worker_seconds = idle_worker_seconds
        self._wake_parent = False
        self.deliverer = self.policy = self.authenticator = None
        # None until the first connection tells whether accepted sockets
        # inherit TCP_NODELAY from the listening socket (Linux: they do)
        self._nodelay_inherited = None

    def build(self):
        """Build this worker's deliverer, policy and authenticator."""
        self.deliverer, self.policy, self.authenticator = build_instances(
            self.deliverer_class, self.policy_class, self.authenticator_class)

    def run(self):
        """The body of a worker process (fork path)."""
        # Ctrl-C in a terminal reaches the whole process group: the parent
        # handles it and stops the workers. A SIGTERM handler of the parent
        # must not run here either.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        # the parent's signal wake-up fd is closed below (and its number
        # may be reused for a client connection)
        try:
            signal.set_wakeup_fd(-1)
        except ValueError:
            pass    # (not the main thread)
        for thing in self.inherited:
            try:
                if isinstance(thing, int):
                    os.close(thing)
                else:
                    thing.close()
            except (IOError, OSError):
                pass
        self.inherited = ()
        try:
            self.build()
        except Exception:
            log.exception('worker %d: could not build the deliverer, policy '
                          'or authenticator', os.getpid())
            sys.exit(1)
        try:
            self._mark(WorkerBoard.IDLE)
            self._report(b'R')
            self.accept_loop(self.lifeline_fd)
        except _ParentGone:
            pass

    def _mark(self, state):
        """Mark this worker idle or busy on the board; wake the parent if
        it should start more workers."""
        if self.board is not None and self.board.mark(self.slot, state):
            self._report(b'B')

    def _session_ended(self):
        """(``serve_connection``'s ``on_session_end``, fork path) Mark this
        worker idle before its client can tell that the session ended, so
        that a client reconnecting at once does not find every worker busy
        (and get the parent's "too busy" 421). Whether to wake the parent
        is kept for ``_accept_and_serve``: reporting may raise."""
        self._wake_parent = self.board.mark(self.slot, WorkerBoard.IDLE)

    def _report(self, status):
        if self.status_fd is None:
            return
        try:
            os.write(self.status_fd, status)
        except (IOError, OSError):
            # the parent is gone (EPIPE): stop
            raise _ParentGone()

    def accept_loop(self, stop_fd, is_stopping=None):
        """Accept and serve connections until ``stop_fd`` becomes readable
        (and, if given, ``is_stopping()`` returns True then; see
        ``_stop_confirmed``)."""
        listen_socket = self.listen_socket
        listen_socket.setblocking(False)
        _set_nodelay(listen_socket)
        waiter = _AcceptWaiter(listen_socket.fileno(), stop_fd)
        try:
            self._accept_and_serve(listen_socket, stop_fd, waiter,
                                   is_stopping)
        finally:
            waiter.close()

    def _accept_and_serve(self, listen_socket, stop_fd, waiter, is_stopping):
        spin = self.spin_seconds
        spinner = self.spinner_class(spin) if spin else None
        idle_seconds = self.idle_worker_seconds
        if self.board is None:
            idle_seconds = None
        retire_at = None if idle_seconds is None else _now() + idle_seconds
        on_session_end = None
        if self.board is not None:
            on_session_end = self._session_ended
        while True:
            try:
                accepted = None
                if spinner is not None:
                    # (connections that keep coming never let the loop
                    # reach the wait that would see a stop)
                    if _stop_requested(stop_fd, is_stopping):
                        return
                    accepted = spinner.attempt(listen_socket.accept)
                    started = _now()
                if accepted is None:
                    timeout = None
                    if retire_at is not None:
                        timeout = max(0.0, retire_at - _now())
                    if waiter.wait(timeout):
                        if _stop_confirmed(stop_fd, is_stopping):
                            return
                        continue
                    if spinner is not None:
                        spinner.blocked(_now() - started)
                    if retire_at is not None and _now() >= retire_at:
                        # Only with no connection waiting: the kernel may
                        # have woken this worker alone for it
                        # (EPOLLEXCLUSIVE).
                        accepted = _accept_if_pending(listen_socket)
                        if accepted is None:
                            retired = self.board.retire(self.slot)
                            if retired:
                                # (not a crash: the parent replaces no one)
                                self._report(b'X')
                                return
                            retire_at = _now() + (
                                idle_seconds if retired is False
                                # the lock was taken: again in a moment
                                else 0.001 * (1 + self.slot % 16))
                            continue
                    else:
                        accepted = listen_socket.accept()
                connection, address = accepted
            except (IOError, OSError) as e:
                number = _errno_of(e)
                if number in _RETRY_ERRNOS or number in _ACCEPT_SKIP_ERRNOS:
                    continue
                if number in _ACCEPT_RESOURCE_ERRNOS:
                    log.error('cannot accept a connection: %s', e)
                    # let the resources come back (or a stop arrive)
                    if wait_for([stop_fd], (), 0.1)[0] and \
                            _stop_confirmed(stop_fd, is_stopping):
                        return
                    continue
                raise
            self._mark(WorkerBoard.BUSY)
            if self._nodelay_inherited is None:
                self._nodelay_inherited = _has_nodelay(connection)
            stopped = serve_connection(
                connection, address, self.deliverer, policy=self.policy,
                authenticator=self.authenticator,
                primary_hostname=self.primary_hostname, stop_fd=stop_fd,
                idle_timeout=self.session_timeout, is_stopping=is_stopping,
                spinner=self.spinner_class(spin) if spin else None,
                set_nodelay=not self._nodelay_inherited,
                max_errors=self.max_errors,
                max_auth_failures=self.max_auth_failures,
                default_max_message_size=self.default_max_message_size,
                max_data_seconds=self.max_data_seconds,
                max_session_seconds=self.max_session_seconds,
                on_session_end=on_session_end)
            if stopped:
                return
            # (marked idle by on_session_end)
            if self._wake_parent:
                self._wake_parent = False
                self._report(b'B')
            if retire_at is not None:
                retire_at = _now() + idle_seconds
