# -*- coding: utf-8 -*-
"""Serving many connections at once in one thread: ``Multiplexer`` accepts
on the listening socket and drives up to ``capacity`` ``SMTPConnection``
objects with one poller (epoll where there is one, else poll;
``PythonMTA(connections_per_worker=N)``, N > 1).

Each connection has its socket, its ``TimeLimits`` and an output buffer.
Replies go out with non-blocking sends; while a client leaves replies
unsent in its buffer, its input is not read (back-pressure: that client
waits, the others do not) and the command timeout bounds how long it may
do so. The user's policy, deliverer and authenticator run in this thread:
while one of their calls blocks, every other connection of this loop
waits.

TLS (STARTTLS once its 220 is sent, implicit TLS before the greeting):
the handshake goes on step by step as the client's octets arrive
(``pymta.tls.handshake_step``), so a slow or silent handshake holds up no
other connection; the command timeout bounds it. Octets TLS has decrypted
but the loop has not read yet are invisible to the poller: such a session
is served again without waiting (``_ready``).
"""

from __future__ import absolute_import

import heapq
import itertools
import logging

from .compat import connection_accepter
from .fdwait import _errno_of, _now, new_waiter
from .pool_link import ParentGone
from .sockets import ACCEPT_RESOURCE_ERRNOS, ACCEPT_SKIP_ERRNOS, \
    DISCONNECT_ERRNOS, DONTWAIT, RETRY_ERRNOS, close_connection, \
    has_nodelay, make_non_blocking, replies_before_a_fault, say_goodbye, \
    set_nodelay
from .states import CHUNK_DATA, MESSAGE_DATA, TLS_HANDSHAKE
from .worker_board import WorkerBoard


__all__ = ['Multiplexer']

log = logging.getLogger('pymta')

_READING_MESSAGES = (MESSAGE_DATA, CHUNK_DATA)
# how long a worker that holds connections leaves a new one to a worker
# that holds none (woken for it too) before it takes it itself
EMPTY_WORKER_GRACE = 0.05


class _Session(object):
    """One connection of the loop."""

    __slots__ = ('sock', 'fd', 'smtp', 'limits', 'output', 'ip', 'port',
                 'ending', 'started', 'handshaking', 'tls', 'queued',
                 'watched_for_input', 'starting_tls')

    def __init__(self, sock, address, smtp, limits):
        self.sock = sock
        self.fd = sock.fileno()
        self.smtp = smtp
        self.limits = limits
        self.output = b''   # replies the client has not taken yet
        self.ip, self.port = address[0], address[1]
        # the dialogue ended: only the last replies are still to go out
        # (the session no longer counts against the capacity)
        self.ending = False
        self.started = False        # (the greeting is written)
        # a TLS handshake is under way (sock is its ssl.SSLSocket)
        self.handshaking = False
        self.tls = False            # sock is a pymta.tls.TLSSocket
        # the dialogue answered STARTTLS: the handshake follows its reply
        self.starting_tls = False
        self.queued = None          # its deadline in the heap (or None)
        # the poller watches it for input alone (False while the loop
        # waits for it to take replies, or for a TLS handshake step)
        self.watched_for_input = False


class Multiplexer(object):
    """Accepts and serves up to ``capacity`` connections at once.

    ``instances``: ``(deliverer, policy, authenticator)``; ``settings``:
    the ``ConnectionSettings``. ``link``: the worker's
    ``PoolLink`` (fork path): the worker is marked busy on the board only
    while it holds ``capacity`` connections, and then stops accepting (the
    parent turns clients away when every worker is busy); while it holds
    some it is ``SERVING`` and leaves new connections to a worker that
    holds none, if there is one (so that the connections of a few clients
    go to different CPUs). Without a link
    (serial path) a client beyond ``capacity`` gets ``421 ... too busy``.
    """

    def __init__(self, instances, settings, capacity, link=None):
        self.instances = instances
        self.settings = settings
        self.capacity = capacity
        self.link = link
        self.sessions = {}      # fd -> _Session
        self.active = 0         # sessions that are not ending
        self.board_state = WorkerBoard.IDLE     # (as marked on the board)
        self.waiter = new_waiter()
        self._nodelay_inherited = None
        # sessions with input at hand that the poller cannot see (decrypted
        # by TLS already): served without waiting
        self._ready = set()
        # (deadline, number, session): a heap with each session's queued
        # deadline, checked against the session when it comes to the top
        # (see _earliest_deadline): a wake-up costs what expires, not the
        # sessions held
        self._deadlines = []
        self._numbers = itertools.count()
        self._tls = None
        if settings.tls_context is not None:
            from . import tls
            self._tls = tls

    # --- the loop ---------------------------------------------------------
    def run(self, listen_socket, stop):
        """Serve until ``stop`` (a ``StopSignal``) says stop (every open
        session gets the 421 of a shutdown; returns True) or, with a link
        whose ``idle_seconds`` is set, until the worker retires after that
        long without a connection (returns False)."""
        listen_fd = listen_socket.fileno()
        accept = connection_accepter(listen_socket)
        waiter = self.waiter
        waiter.watch(stop.fd)
        link = self.link
        idle_seconds = None if link is None else link.idle_seconds
        retire_at = None if idle_seconds is None else _now() + idle_seconds
        accept_paused_until = None
        # (fork path) a connection left to a worker that holds none: not
        # accepted here until then; then one that still waits is taken
        # whatever the board says (that worker may be slow, or gone)
        leave_until = None
        grace_spent = False
        listen_watched = None       # (what listen_fd is watched for)
        sessions = self.sessions
        try:
            while True:
                now = _now()
                if accept_paused_until is not None and \
                        now >= accept_paused_until:
                    accept_paused_until = None
                if leave_until is not None:
                    if not self.active:
                        # (empty now: the worker the others leave it to)
                        leave_until = None
                    elif now >= leave_until:
                        leave_until = None
                        grace_spent = True
                # (the serial path accepts even when full, to answer 421)
                accepting = accept_paused_until is None and \
                    leave_until is None and (link is None or not self.full())
                # (whichever is set; with both, the wait ends at one and
                # the loop looks again)
                look_again_at = accept_paused_until or leave_until
                if accepting != listen_watched:
                    # (level-triggered in every worker that has room: a
                    # connection left waiting wakes them until one takes
                    # it)
                    waiter.watch(listen_fd, read=accepting)
                    listen_watched = accepting
                # (the heap's first entry: the earliest deadline or one
                # earlier, which moved later since or whose session is
                # gone: waking too early costs one look, keeping the heap
                # exact would cost one per command)
                wake_at = earliest = \
                    self._deadlines[0][0] if self._deadlines else None
                if not accepting and look_again_at is not None and (
                        wake_at is None or look_again_at < wake_at):
                    wake_at = look_again_at
                if retire_at is not None and (
                        wake_at is None or retire_at < wake_at):
                    wake_at = retire_at
                timeout = None if wake_at is None else max(0.0, wake_at - now)
                if self._ready:
                    timeout = 0.0
                readable, writable = waiter.wait(timeout)
                if stop.fd in readable and stop.confirmed():
                    self._shut_down()
                    return True
                for fd in writable:
                    session = sessions.get(fd)
                    if session is None:
                        continue
                    if session.handshaking:
                        self._guarded(session, self._handshake)
                    else:
                        self._guarded(session, self._flush)
                if self._ready:
                    readable = set(readable) | self._ready
                    self._ready = set()
                for fd in readable:
                    session = sessions.get(fd)
                    if session is None:
                        continue
                    if session.handshaking:
                        self._guarded(session, self._handshake)
                    elif not session.output:
                        # (_guarded without a call: one per command)
                        try:
                            self._read(session)
                        except ParentGone:
                            raise
                        except Exception as e:
                            self._failed(session, e)
                # (after the reads: the sessions whose clients left are
                # gone and make room)
                if listen_fd in readable:
                    if link is not None and not grace_spent and \
                            self._leaves_it_to_an_empty_worker():
                        leave_until = _now() + EMPTY_WORKER_GRACE
                    elif not self._accept_all(accept):
                        accept_paused_until = _now() + 0.1
                # (a grace counts for the first wait after it only)
                grace_spent = False
                # (a deadline queued since the wait is later than the
                # first one then, unless a step took longer than a time
                # limit: the next wait then ends at once, and this ends it)
                if earliest is not None and _now() >= earliest:
                    self._end_expired()
                if idle_seconds is not None:
                    if self.sessions:
                        retire_at = None
                    elif retire_at is None:
                        retire_at = _now() + idle_seconds
                    elif _now() >= retire_at:
                        retire_at = link.retire()
                        if retire_at is None:
                            return False
        finally:
            # (the parent may be gone: the board is not marked any more)
            self.link = None
            for session in list(self.sessions.values()):
                self._end(session, 'error: the worker stops', None)
            waiter.close()

    # --- the time limits --------------------------------------------------------
    def _watch_deadline(self, session):
        """``session`` has a new deadline: queue it if it is earlier than
        the one queued (a later one is found when the queued one comes up:
        most replies move a deadline later, and cost nothing here)."""
        deadline = session.limits.deadline
        if deadline is None or (session.queued is not None and
                                session.queued <= deadline):
            return
        heap = self._deadlines
        if len(heap) > 2 * len(self.sessions) + 64:
            # (mostly the entries of sessions gone: build it anew)
            del heap[:]
            for other in self.sessions.values():
                other.queued = None
                if other is not session:
                    self._queue(other, other.limits.deadline)
            heapq.heapify(heap)
        self._queue(session, deadline)

    def _queue(self, session, deadline):
        if deadline is not None:
            session.queued = deadline
            heapq.heappush(self._deadlines,
                           (deadline, next(self._numbers), session))

    def _earliest_deadline(self):
        """The earliest deadline of a session (or None). An entry whose
        session is gone, or has queued an earlier one since, is dropped; one
        whose session's deadline has moved is queued again with it."""
        heap = self._deadlines
        sessions = self.sessions
        while heap:
            deadline, _, session = heap[0]
            if sessions.get(session.fd) is not session or \
                    session.queued != deadline:
                heapq.heappop(heap)
                continue
            current = session.limits.deadline
            if current == deadline:
                return deadline
            heapq.heappop(heap)
            session.queued = None
            self._queue(session, current)
        return None

    # --- accepting ------------------------------------------------------------
    def _leaves_it_to_an_empty_worker(self):
        """(fork path: a link) Does this worker hold connections while
        another holds none? That one takes the next connection (it is woken
        for it too), so that a few clients' connections go to different
        CPUs; for ``EMPTY_WORKER_GRACE`` seconds, then this one takes what
        still waits."""
        return bool(self.active) and self.link.board.has_empty_worker()

    def _accept_all(self, accept):
        """Accept while connections wait and there is room (on the fork
        path one per wake-up); False after an error that says this process
        has no room (accept again later)."""
        while not self.full() or self.link is None:
            try:
                connection, address = accept()
            except (IOError, OSError) as e:
                number = _errno_of(e)
                if number in RETRY_ERRNOS:
                    return True
                if number in ACCEPT_SKIP_ERRNOS:
                    continue
                if number in ACCEPT_RESOURCE_ERRNOS:
                    log.error('cannot accept a connection: %s', e)
                    return False
                raise
            if self.link is None and self.active >= self.capacity:
                self._turn_away(connection, address)
                continue
            self._start(connection, address)
            if self.link is not None:
                # (every worker with room was woken too: a worker that took
                # all that wait would leave the others' CPUs idle while it
                # serves them all)
                return True
        return True

    def _turn_away(self, connection, address):
        log.info('%s:%s: %d connections served, answering 421',
                 address[0], address[1], self.capacity)
        self.settings.turn_away(connection)

    def _start(self, connection, address):
        if self._nodelay_inherited is None:
            self._nodelay_inherited = has_nodelay(connection)
        if not self._nodelay_inherited:
            set_nodelay(connection)
        make_non_blocking(connection)
        settings = self.settings
        session = _Session(connection, address,
                           settings.new_connection(self.instances,
                                                   settings.server_name()),
                           settings.time_limits())
        self.sessions[session.fd] = session
        self._watch_deadline(session)
        self.active += 1
        self._update_board()
        self.waiter.watch(session.fd)
        session.watched_for_input = True
        if self._tls is not None and settings.implicit_tls:
            # (RFC 8314: the handshake comes before the greeting)
            self._guarded(session, self._start_tls)
        else:
            self._guarded(session, self._greet)

    def _greet(self, session, tls=None):
        session.started = True
        session.smtp.start(session.ip, session.port, tls=tls)
        self._send(session, session.smtp.data_to_send())

    # --- TLS ------------------------------------------------------------------
    def _start_tls(self, session):
        """Begin the handshake (implicit TLS, or the 220 of STARTTLS is
        sent)."""
        try:
            session.sock = self._tls.wrap_for_handshake(
                session.sock, self.settings.tls_context)
        except (IOError, OSError) as e:
            log.info('%s:%s: TLS: %s', session.ip, session.port, e)
            self._end(session, 'the TLS handshake failed', None)
            return
        session.handshaking = True
        self._handshake(session)

    def _handshake(self, session):
        tls = self._tls
        try:
            want = tls.handshake_step(session.sock)
        except (IOError, OSError) as e:     # (ssl.SSLError is an OSError)
            log.info('%s:%s: TLS handshake failed: %s', session.ip,
                     session.port, e)
            self._end(session, 'the TLS handshake failed', None)
            return
        if want is not None:
            self.waiter.watch(session.fd, read=want is tls.WANT_READ,
                              write=want is tls.WANT_WRITE)
            session.watched_for_input = False
            return
        session.handshaking = False
        session.tls = True
        session.sock = tls.TLSSocket(session.sock)
        info = (session.sock.version(), session.sock.cipher())
        if session.started:
            session.smtp.tls_started(*info)
            self._send(session, session.smtp.data_to_send())
        else:
            self._greet(session, tls=info)

    # --- one session ----------------------------------------------------------
    def _guarded(self, session, step):
        """Run ``step(session)``; what a client does ends only its session,
        and a fault in pymta is logged and ends only this session."""
        try:
            step(session)
        except ParentGone:
            raise
        except Exception as e:
            self._failed(session, e)

    def _failed(self, session, e):
        """A step of ``session`` raised ``e`` (in an ``except`` block)."""
        if isinstance(e, (IOError, OSError)):
            if _errno_of(e) in DISCONNECT_ERRNOS:
                log.debug('%s:%s went away: %s', session.ip, session.port, e)
                self._end(session, 'the client went away: %s' % (e,), None)
            else:
                log.exception('error while serving %s:%s', session.ip,
                              session.port)
                self._end(session, 'error: %s' % (e,), None)
        else:
            log.exception('error while serving %s:%s', session.ip,
                          session.port)
            # (what the core answered before the fault, then a 421)
            self._end(session, 'error: %r' % (e,), 'shutting_down',
                      first=replies_before_a_fault(session.smtp))

    def _read(self, session):
        try:
            data = session.sock.recv(self.settings.read_size, DONTWAIT)
        except (IOError, OSError) as e:
            if _errno_of(e) in RETRY_ERRNOS:
                return
            raise
        if not data:
            log.debug('%s:%s disconnected', session.ip, session.port)
            self._end(session, 'the client closed the connection', None)
            return
        smtp = session.smtp
        smtp.receive_data(data)
        output = smtp.data_to_send()
        reader = smtp.reader
        session.limits.after_input(output, reader in _READING_MESSAGES)
        # (the 220 of STARTTLS: the handshake begins once it is out)
        session.starting_tls = reader is TLS_HANDSHAKE
        self._watch_deadline(session)
        self._send(session, output)

    def _send(self, session, data):
        if session.smtp.closing and not session.ending:
            # (before the client can tell that the session ended, so that
            # it may connect again at once and find room)
            session.ending = True
            self.active -= 1
            self._update_board()
        if data:
            session.output += data
        self._flush(session)

    def _flush(self, session):
        output = session.output
        while output:
            try:
                sent = session.sock.send(output, DONTWAIT)
            except (IOError, OSError) as e:
                if _errno_of(e) not in RETRY_ERRNOS:
                    raise
                break
            output = output[sent:]
        session.output = output
        if output:
            # (back-pressure: no reading until the client took its replies)
            self.waiter.watch(session.fd, read=False, write=True)
            session.watched_for_input = False
        elif session.ending:
            self._end(session, None, None, graceful=True)
        elif session.starting_tls:
            # (the 220 of STARTTLS is out; plaintext the client sent after
            # STARTTLS is in the way of the handshake, never read as SMTP;
            # the next read sets it again)
            session.starting_tls = False
            self._start_tls(session)
        else:
            if not session.watched_for_input:
                self.waiter.watch(session.fd)
                session.watched_for_input = True
            if session.tls and session.sock.pending():
                self._ready.add(session.fd)

    def _end_expired(self):
        now = _now()
        while True:
            deadline = self._earliest_deadline()
            if deadline is None or now < deadline:
                return
            session = heapq.heappop(self._deadlines)[2]
            if session.handshaking:
                log.info('%s:%s: TLS handshake timed out', session.ip,
                         session.port)
                self._end(session, 'the TLS handshake timed out', None)
                continue
            if session.output:
                log.info('%s:%s does not read its replies, closing',
                         session.ip, session.port)
                self._end(session, 'the client does not read its replies',
                          None)
                continue
            what = session.limits.what_expired()
            log.info('%s:%s reached the %s, closing', session.ip,
                     session.port, what)
            self._end(session, 'the %s is up' % what, 'idle_timeout')

    def _end(self, session, reason, goodbye, graceful=False, first=b''):
        """Close ``session``; ``goodbye``: the name of the 421 to send
        first (None: none), after the replies not sent yet and ``first``."""
        if self.sessions.pop(session.fd, None) is None:
            return
        self.waiter.watch(session.fd, read=False)
        self._ready.discard(session.fd)
        if session.handshaking:
            goodbye = None      # (no plaintext reply in a TLS handshake)
        if not session.ending:
            session.ending = True
            self.active -= 1
            self._update_board()
        if goodbye is not None:
            reason = '%s, 421 sent' % (reason or 'closed')
        try:
            session.smtp.connection_closed(reason)
        except Exception:
            log.exception('error while closing %s:%s', session.ip,
                          session.port)
        if goodbye is not None:
            settings = self.settings
            say_goodbye(session.sock, settings.server_name(), goodbye,
                        settings.enhanced_codes, session.output + first)
            close_connection(session.sock, True, drain=True)
        else:
            close_connection(session.sock, graceful)

    def _shut_down(self):
        for session in list(self.sessions.values()):
            # (no 421 in the middle of a reply the client has not taken)
            self._end(session, 'the server stops',
                      None if session.output or session.handshaking
                      else 'shutting_down')

    def full(self):
        """Does this loop hold ``capacity`` connections (and count as busy
        on the board)?"""
        return self.active >= self.capacity

    def _update_board(self):
        state = WorkerBoard.BUSY if self.full() else \
            WorkerBoard.SERVING if self.active else WorkerBoard.IDLE
        if state != self.board_state:
            self.board_state = state
            if self.link is not None:
                self.link.mark(state)
