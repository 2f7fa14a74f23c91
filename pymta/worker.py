# -*- coding: utf-8 -*-
"""Serving connections: the I/O around the sans-I/O parser.

Two loops live here, and both server paths of ``PythonMTA`` use them:

* ``serve_connection()`` serves ONE connection: it reads the socket in large
  chunks, feeds each chunk to an ``SMTPCommandParser`` and sends everything
  the parser wrote in reply to that chunk with one send. It ends when the
  parser closes the connection, the client goes away, the client stays silent
  longer than the idle timeout, or the *stop fd* becomes readable (the server
  shuts down; the client then gets a 421).
* ``WorkerProcess.accept_loop()`` accepts connections on the listening socket
  and serves them one after the other until the stop fd becomes readable.

The serial path runs ``accept_loop`` in the thread that called
``serve_forever``, with the read end of the server's wake-up socket pair as
stop fd; there a ``Spinner`` retries the non-blocking accept and recv calls
for a moment before the loops sleep in poll. On the fork path every worker
process runs ``WorkerProcess.run``: it accepts on the listening socket it
shares with its siblings (the kernel hands each connection to one of them),
marks itself idle or busy on the ``WorkerBoard`` it shares with the parent,
writes to its status pipe only ``R`` once ready and ``B`` when the parent
must start more workers (end of file there means the worker is gone), and
stops when its *lifeline* pipe reaches end of file: the parent closes the
write end on shutdown, and the kernel closes it when the parent dies in any
way.

This module must not import ``pymta.command_parser`` at import time (that
module re-exports ``WorkerProcess``); the parser is imported where it is used.
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
from .replies import reply_for


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
    """The channel an ``SMTPCommandParser`` writes to: it collects the reply
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


def _send_all(connection, data, waiter, timeout, stop_fd=None,
              is_stopping=None):
    """Send ``data`` on the non-blocking ``connection``; give up when the
    client accepts nothing for ``timeout`` seconds (returns _TIMED_OUT) or the
    stop fd becomes readable (returns _STOPPED). ``waiter``: the connection's
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
        connection.send(wire_bytes('%d %s\r\n' % (code, text)), _DONTWAIT)
    except (IOError, OSError):
        pass


def _close(connection, graceful):
    try:
        if graceful:
            connection.shutdown(socket.SHUT_WR)
    except (IOError, OSError):
        pass
    try:
        connection.close()
    except (IOError, OSError):
        pass


def serve_connection(connection, remote_address, deliverer, policy=None,
                     authenticator=None, primary_hostname=None, stop_fd=None,
                     idle_timeout=None, read_size=READ_SIZE, is_stopping=None,
                     spinner=None, set_nodelay=True):
    """Serve one SMTP connection (an accepted socket) until it ends; close it.

    ``remote_address`` is the address ``accept()`` returned. ``stop_fd``: when
    it becomes readable the server is stopping: the client gets a 421 and the
    connection is closed. ``idle_timeout``: seconds the client may stay
    silent (or refuse to read our replies) before it gets a 421 and is cut
    off; None for no limit. ``is_stopping``: see ``_stop_confirmed``.
    ``spinner``: a ``Spinner`` to wait for the client's commands with (None:
    block at once). ``set_nodelay``: False when the socket has TCP_NODELAY
    already (inherited from the listening socket).

    Returns True if the connection ended because ``stop_fd`` became readable
    (the caller should stop serving), False otherwise. Never raises for what
    a client does; a fault in pymta itself is logged and ends only this
    connection.
    """
    from .command_parser import ClientDisconnectedError, SMTPCommandParser
    remote_ip, remote_port = remote_address[0], remote_address[1]
    channel = SocketChannel()
    hostname = primary_hostname or socket.getfqdn()
    stopped = False
    graceful = False
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
        parser = SMTPCommandParser(channel, remote_ip, remote_port, deliverer,
                                   policy=policy, authenticator=authenticator,
                                   primary_hostname=hostname)
        while True:
            outcome = _send_all(connection, channel.take_output(), waiter,
                                idle_timeout, stop_fd, is_stopping)
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
            if spinner is not None:
                data = spinner.attempt(connection.recv, read_size, _DONTWAIT)
                if data is not None:
                    if not data:
                        log.debug('%s:%s disconnected', remote_ip,
                                  remote_port)
                        break
                    # (a client that always answers within the spin never
                    # lets this reach the poll that would see a stop)
                    stopped = _stop_requested(stop_fd, is_stopping)
                    if stopped:
                        _say_goodbye(connection, hostname, 'shutting_down')
                        break
                    parser.process_new_data(data)
                    continue
                started = _now()
            readable, _ = waiter.wait(idle_timeout)
            if spinner is not None:
                spinner.blocked(_now() - started)
            if stop_fd is not None and stop_fd in readable:
                stopped = _stop_confirmed(stop_fd, is_stopping)
                if stopped:
                    _say_goodbye(connection, hostname, 'shutting_down')
                    break
                readable.remove(stop_fd)
                if not readable:
                    continue
            if not readable:
                log.info('%s:%s idle for %s s, closing', remote_ip,
                         remote_port, idle_timeout)
                _say_goodbye(connection, hostname, 'idle_timeout')
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
            parser.process_new_data(data)
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
    from .command_parser import SMTPCommandParser
    from .session import SMTPSession
    SMTPSession.build_tables()
    discard = _Discard()
    for _ in range(rounds):
        parser = SMTPCommandParser(discard, '127.0.0.1', 0, discard,
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


class WorkerBoard(object):
    """What the workers of the fork path are doing, in memory they share
    with their parent, so that no report costs a system call.

    Each worker has a slot (``IDLE`` or ``BUSY``; ``FREE`` when no worker
    has it). A worker marks itself busy when it accepts a connection and
    idle when the connection ends; only when that leaves fewer than
    ``min_spare`` idle workers, and a slot is free (the parent may start
    another worker), does it wake the parent (through its status pipe),
    which then counts the idle workers and starts more.

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
            # with every slot taken the parent may not start another worker:
            # waking it would only cost both sides a system call
            return (states.count(self.IDLE) < self.min_spare and
                    self.FREE in states)
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
    * ``session_timeout``: seconds a client may stay idle (None: no limit).
    * ``lifeline_fd``: (fork path) read end of the parent's lifeline pipe;
      end of file there means stop.
    * ``status_fd``: (fork path) write end of this worker's status pipe:
      ``R`` once ready, ``B`` when the parent should start more workers.
    * ``board``, ``slot``: (fork path) the ``WorkerBoard`` and this
      worker's slot on it.
    * ``inherited``: (fork path) sockets and fds of the parent that the
      worker closes first thing.
    * ``spin_seconds``: (serial path) spin this long for the next command
      or connection before blocking (see ``Spinner``); 0: never spin.
    """

    #: what waits for the next command or connection when ``spin_seconds``
    #: is set
    spinner_class = Spinner

    def __init__(self, listen_socket, deliverer_class, policy_class=None,
                 authenticator_class=None, primary_hostname=None,
                 session_timeout=None, lifeline_fd=None, status_fd=None,
                 board=None, slot=None, inherited=(), spin_seconds=0):
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
                    if waiter.wait():
                        if _stop_confirmed(stop_fd, is_stopping):
                            return
                        continue
                    if spinner is not None:
                        spinner.blocked(_now() - started)
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
                set_nodelay=not self._nodelay_inherited)
            if stopped:
                return
            self._mark(WorkerBoard.IDLE)
