# -*- coding: utf-8 -*-
"""The server: ``PythonMTA`` binds, listens and serves SMTP connections.

Two ways of serving, one session and parser (see ``pymta.worker`` for the
accept loop both run, ``pymta.connection_loop`` for serving one connection):

* **Fork path** (``serve_forever()``, where ``multiprocessing`` imports):
  worker processes, started with the ``fork`` start method, accept on the
  shared listening socket themselves and serve one connection at a time
  each, so a policy may block without holding up other connections. The
  parent process only keeps the pool (``pymta.worker_pool.WorkerPool``):
  it starts workers as load needs them (keeping ``min_spare_workers`` idle
  ones, at most ``max_workers``; idle ones beyond that exit after
  ``idle_worker_seconds``), replaces a worker that died, answers new
  clients with ``421 ... too busy`` itself while all ``max_workers`` are
  busy, and on shutdown closes the *lifeline* pipe whose end of file
  stops every worker (the kernel closes it too when the parent dies in
  any way, so workers never outlive it). Before it forks, the parent runs
  the SMTP core once on a canned dialogue (``pymta.warm_up.prepare_core``),
  so that workers inherit it built and warm. Each new worker closes what
  the parent keeps open for its siblings.
* **Serial path** (``serve_forever(use_multiprocessing=False)``, or where
  ``import multiprocessing`` fails): one connection at a time, in the
  thread that called ``serve_forever``; with ``threaded=True`` that thread
  only accepts, and each connection is served in a thread of its own
  (``pymta.connection_threads``).

``shutdown_server()`` wakes the serving thread through a socket pair (no
polling interval, see ``pymta.wakeup``); it may be called from any thread
and from a signal handler.

What is the same for every connection (the host name, the limits) is
gathered once per ``serve_forever()`` in a ``ConnectionSettings`` that the
workers hand to ``serve_connection`` unchanged.
"""

from __future__ import absolute_import

import errno
import logging
import numbers
import signal
import socket
import threading

from .compat import basestring, cpu_count, fork_context, \
    import_multiprocessing, new_event
from .connection import EXTENSIONS
from .connection_settings import ConnectionSettings
from .connection_threads import ConnectionThreads
from .fdwait import _now
from .mailbox import WAIT_SECONDS, Mailbox
from .sockets import host_and_port, set_close_on_exec
from .wakeup import install_signal_wakeup, wakeup_pair
from .worker import WorkerProcess
from .worker_pool import WorkerPool


__all__ = ['PythonMTA']

log = logging.getLogger('pymta')

#: Default of ``PythonMTA(serial_spin_seconds=...)``: 200 µs, a few times
#: what a client program on the same machine takes to answer a reply.
SERIAL_SPIN_SECONDS = 0.0002
#: Default of ``PythonMTA(shutdown_grace_seconds=...)``: a deliverer that
#: takes some seconds (e.g. relaying the message to another server) still
#: finishes, and the whole stop (grace, then SIGTERM and up to 1 s) stays
#: within the 10 s that ``docker stop``, the shortest of the usual process
#: managers' stop timeouts, waits before it kills.
SHUTDOWN_GRACE_SECONDS = 8.0
#: Default of ``PythonMTA(max_data_seconds=...)``: RFC 5321's longest
#: timeout (§4.5.3.2.6, 10 minutes); a 35 MB message (25 MB of attachments,
#: base64-encoded) arrives within it at 60 kB/s.
MAX_DATA_SECONDS = 600.0
#: Default of ``PythonMTA(max_session_seconds=...)``: three DATA phases at
#: their limit; a worker (or the serial path) is free again after at most
#: half an hour whatever a client does.
MAX_SESSION_SECONDS = 1800.0
#: Default of ``PythonMTA(idle_worker_seconds=...)``: workers started for a
#: burst stay for the next one within half a minute (starting one costs a
#: fork), then their memory goes back.
IDLE_WORKER_SECONDS = 30.0
#: How long leaving ``with PythonMTA(...)`` waits for the server to stop
#: (``shutdown_server(timeout_seconds=...)``).
CONTEXT_STOP_SECONDS = 10.0
#: Default of ``PythonMTA(default_max_message_size=...)``: 32 MiB.
DEFAULT_MAX_MESSAGE_SIZE = 32 * 1024 * 1024


class PythonMTA(object):
    """An SMTP server.

    ``PythonMTA(local_address, bind_port, deliverer_class, policy_class=None,
    authenticator_class=None, ...)``

    * ``local_address``: the host name or address to listen on (``''``: all
      IPv4 addresses); where a name has IPv4 and IPv6 addresses, the IPv4
      one is used.
    * ``bind_port``: the TCP port; ``0`` picks a free one (read it from
      ``port`` once the server listens).
    * ``deliverer_class``, ``policy_class``, ``authenticator_class``: each is
      called without arguments to build one instance per worker process
      (fork path) or per ``serve_forever()`` run (serial path); an instance
      (an object that already has ``new_message_accepted``,
      ``accept_new_connection`` or ``authenticate``) is used as it is.

    Keyword arguments (all optional):

    * ``max_workers`` (32): the most worker processes, i.e. connections served
      at the same time on the fork path. While all of them are busy, the
      server process answers each new client ``421 <host> Service too
      busy, try again later; ...`` and disconnects it (a client never waits
      in silence).
    * ``min_spare_workers`` (2; with ``connections_per_worker`` > 1 one
      per CPU): idle workers kept ready on the fork path; the pool starts
      with this many and grows as connections come in.
    * ``idle_worker_seconds`` (30.0): on the fork path, a worker idle this
      long exits if more than ``min_spare_workers`` are idle, so the pool
      shrinks back after a burst; None: workers stay.
    * ``session_timeout`` (300.0): seconds the server waits for the client's
      next complete command (RFC 5321 §4.5.3.2.7: 5 minutes), or during
      DATA for the next chunk of message data, or for the client to read
      our replies; bytes that do not complete a command do not restart it.
      When it is up the client gets ``421 <host> Timeout, closing
      transmission channel`` and is disconnected; None for no limit.
    * ``max_data_seconds`` (600.0): the most one DATA phase (the 354 to the
      end of the data) may take, however steadily the data trickles in;
      then the same 421. None for no limit.
    * ``max_session_seconds`` (1800.0): the most one connection may take in
      all; then the same 421. None for no limit. Together these bound how
      long one client can hold a worker, or the serial path (where the next
      client waits meanwhile).
    * ``shutdown_grace_seconds`` (8.0): on shutdown, how long a worker busy
      in a policy, deliverer or authenticator call may take to finish it
      (its client then gets the reply, e.g. the 250 for a delivered
      message, and then the 421) before it is terminated; capped by
      ``shutdown_server(timeout_seconds)``. Idle sessions stop at once.
      (The serial path cannot interrupt such a call: it finishes.)
    * ``primary_hostname`` (None): the name the server uses in its replies;
      by default ``socket.getfqdn()``, looked up once per server.
    * ``serial_spin_seconds`` (0.0002): on the serial path, how long to
      busy-wait for the client's next command (or the next connection)
      before blocking, while clients answer that fast and no other thread
      runs in the process (see ``pymta.spinner.Spinner``); 0: never spin.
    * ``max_errors`` (20): after this many error replies on one connection
      (500, 501, 503, 504: unknown commands, bad syntax, commands out of
      order, unknown AUTH mechanisms, lines too long) the client gets
      ``421 4.7.0 <host> Error: too many errors`` and is disconnected;
      None for no limit.
    * ``max_auth_failures`` (5): the same for AUTH with bad credentials
      (``421 4.7.0 <host> Error: too many authentication failures``).
    * ``default_max_message_size`` (32 MiB): the most octets of message
      data accepted where the policy's ``max_message_size(peer)`` is None
      (a policy's own limit always wins); more gets the 552. EHLO does not
      announce it. None for no limit.
    * ``tls`` (None): TLS for the clients: an ``ssl.SSLContext``, the path
      of a PEM file with the certificate and its key, or ``(certificate
      file, key file)``. The server then offers STARTTLS (RFC 3207) in its
      EHLO reply; anything a client pipelines behind STARTTLS is thrown
      away, never executed. A handshake that fails or stalls (the
      ``session_timeout`` applies) ends that connection only.
    * ``implicit_tls`` (False): with ``tls``, every connection starts with
      the TLS handshake, before the greeting (RFC 8314, "SMTPS", usually
      port 465); STARTTLS is not offered then.
    * ``require_tls`` (None): with ``tls``, ``'auth'``: AUTH only over TLS
      (before STARTTLS it is not offered in EHLO and gets ``538 5.7.11
      Encryption required for requested authentication mechanism``);
      ``'all'``: MAIL too (``530 5.7.0 Must issue a STARTTLS command
      first``).
    * ``extensions`` (()): the SMTP extensions to offer in EHLO (names, or
      one name), each off
      by default (with all off every reply is the historical one):
      ``'PIPELINING'`` (RFC 2920), ``'8BITMIME'`` (RFC 6152: ``BODY=7BIT``
      or ``BODY=8BITMIME`` on MAIL FROM, recorded in the message's
      ``mail_options``), ``'SMTPUTF8'`` (RFC 6531: UTF-8 addresses after
      ``MAIL FROM:<...> SMTPUTF8``; brings 8BITMIME),
      ``'ENHANCEDSTATUSCODES'`` (RFC 2034: replies
      with their RFC 3463 codes), ``'DSN'`` (RFC 3461: ``RET``/``ENVID``
      on MAIL FROM, ``NOTIFY``/``ORCPT`` on RCPT TO, validated and recorded
      in ``mail_options``/``rcpt_options``), ``'CHUNKING'`` (RFC 3030:
      ``BDAT <size> [LAST]``). (STARTTLS comes with ``tls``.)
    * ``collect_messages`` (False): keep every accepted message (after the
      deliverer took it) in ``messages``, a ``pymta.mailbox.Mailbox`` of
      this object, on either path: on the fork path each worker hands the
      message to this process (through a socket pair) before its client
      gets the 250. For tests: nothing is ever dropped from it (see
      ``clear_messages``).
    * ``threaded`` (False): on the serial path, serve each connection in a
      thread of its own (at most ``max_workers`` at once; then the
      ``421 ... too busy``), so that one slow or idle client does not hold
      up the next; the deliverer, policy and authenticator are still one
      instance each, shared by the threads (so they must be thread-safe).
      Without it the serial path serves one connection at a time.
    * ``connections_per_worker`` (1): more than 1 turns multiplexing on
      (``pymta.multiplexer``): each worker process (fork path), or the
      serving thread (serial path), serves up to this many connections at
      once with one event loop; the pool then keeps one worker per CPU
      ready (``min_spare_workers``). A worker counts as busy only while it holds this many
      (when all are busy the parent answers ``421 ... too busy``; on the
      serial path the serving thread answers it). The cost: the policy,
      deliverer and authenticator run in the loop, so while one of their
      calls blocks (a DNS lookup, a slow disk, a sleep), every other
      session of that worker waits. TLS handshakes (STARTTLS, implicit
      TLS) go on without holding up the others. Not with ``threaded``
      (ValueError).

    What a policy (deliverer, authenticator) instance sees: on the serial
    path, threaded or not, one instance serves every connection of one
    ``serve_forever()`` run, in this process; on the fork path each worker
    process builds its own and sees only the connections it serves (so
    counters in a policy count per worker), and attributes it sets are
    not visible here; use ``collect_messages`` to get the messages back.

    ``with PythonMTA(...) as server:`` serves in a background thread for the
    block (see ``__enter__``).

    Once ``serve_forever()`` listens:

    * ``port`` is the TCP port actually bound, ``server_address`` the
      ``(host, port)`` of the listening socket;
    * ``listening`` (a ``threading.Event``) is set; it is cleared again when
      ``serve_forever()`` returns;
    * ``wait_until_listening(timeout=None)`` returns True (False after
      ``timeout`` seconds), or raises the error that stopped the server from
      listening (also kept in ``bind_error``);
    * the method ``listening_started()`` is called (a hook for subclasses).
    """

    def __init__(self, local_address, bind_port, deliverer_class,
                 policy_class=None, authenticator_class=None, max_workers=32,
                 min_spare_workers=None, session_timeout=300.0,
                 shutdown_grace_seconds=SHUTDOWN_GRACE_SECONDS,
                 primary_hostname=None,
                 serial_spin_seconds=SERIAL_SPIN_SECONDS, max_errors=20,
                 max_auth_failures=5,
                 default_max_message_size=DEFAULT_MAX_MESSAGE_SIZE,
                 max_data_seconds=MAX_DATA_SECONDS,
                 max_session_seconds=MAX_SESSION_SECONDS,
                 idle_worker_seconds=IDLE_WORKER_SECONDS, tls=None,
                 implicit_tls=False, require_tls=None, extensions=(),
                 collect_messages=False, threaded=False,
                 connections_per_worker=1):
        if isinstance(extensions, basestring):
            extensions = (extensions,)      # (one name)
        unknown = set(extensions) - set(EXTENSIONS) | \
            (set(['STARTTLS']) & set(extensions))
        if unknown:
            raise ValueError('extensions: %s unknown (STARTTLS comes with '
                             'tls=); known: %s' % (
                                 ', '.join(sorted(unknown)),
                                 ', '.join(e for e in EXTENSIONS
                                           if e != 'STARTTLS')))
        if require_tls not in (None, 'auth', 'all'):
            raise ValueError("require_tls: None, 'auth' or 'all', not %r"
                             % (require_tls,))
        if require_tls is not None and tls is None:
            raise ValueError('require_tls needs tls (a certificate)')
        connections_per_worker = int(connections_per_worker)
        if connections_per_worker < 1:
            raise ValueError('connections_per_worker: 1 or more, not %r'
                             % (connections_per_worker,))
        if connections_per_worker > 1 and threaded:
            raise ValueError('connections_per_worker > 1 and threaded=True '
                             'are two ways of serving many clients at once: '
                             'choose one')
        self.local_address = local_address
        self.bind_port = bind_port
        self.deliverer_class = deliverer_class
        self.policy_class = policy_class
        self.authenticator_class = authenticator_class
        self.max_workers = max(1, int(max_workers))
        if min_spare_workers is None:
            # (a multiplexing worker is "spare" until it is full: one per
            # CPU keeps every CPU serving)
            min_spare_workers = 2 if connections_per_worker == 1 else \
                cpu_count()
        self.min_spare_workers = min(self.max_workers,
                                     max(1, int(min_spare_workers)))
        self.session_timeout = session_timeout
        self.shutdown_grace_seconds = shutdown_grace_seconds
        self.primary_hostname = primary_hostname
        self.serial_spin_seconds = serial_spin_seconds
        self.max_errors = max_errors
        self.max_auth_failures = max_auth_failures
        self.default_max_message_size = default_max_message_size
        self.max_data_seconds = max_data_seconds
        self.max_session_seconds = max_session_seconds
        self.idle_worker_seconds = idle_worker_seconds
        self.tls = tls
        self.implicit_tls = implicit_tls
        self.require_tls = require_tls
        self.extensions = tuple(extensions)
        self.threaded = threaded
        self.connections_per_worker = connections_per_worker
        #: the accepted messages (a ``Mailbox``) with ``collect_messages``,
        #: else None
        self.messages = Mailbox() if collect_messages else None

        self.port = None
        self.server_address = None
        self.bind_error = None
        self.listening = threading.Event()
        # listening / bind_error change under this lock, and every change
        # sets _state_changed (compat.new_event(): no polling on Python 2)
        self._state_lock = threading.Lock()
        self._state_changed = new_event()
        self._finished = new_event()
        self._finished.set()
        self._serving_thread = None
        self._stop_requested = False
        self._wakeup_sender = None
        self._context_thread = None
        self._grace_seconds = None

    # --- public API ----------------------------------------------------------
    def serve_forever(self, use_multiprocessing=True):
        """Bind, listen and serve until ``shutdown_server()`` is called (or
        Ctrl-C / SIGINT arrives while this runs in the main thread).

        ``use_multiprocessing``: serve with worker processes (the fork path)
        where ``multiprocessing`` can be imported; False serves one
        connection at a time in this thread. An address that cannot be bound
        raises ``socket.error`` naming it. Returns once everything it started
        (processes, sockets) is gone."""
        context = None
        if use_multiprocessing:
            multiprocessing = import_multiprocessing()
            if multiprocessing is not None:
                try:
                    context = fork_context(multiprocessing)
                except ValueError:
                    log.warning('the fork start method is not available: '
                                'serving one connection at a time')
        self._finished.clear()
        self._serving_thread = threading.current_thread()
        with self._state_lock:
            self.bind_error = None
        listen_socket = wakeup_receiver = None
        signal_wakeup_installed = False
        previous_sigint_handler = self._install_sigint_handler()
        try:
            try:
                if self.primary_hostname is None:
                    self.primary_hostname = socket.getfqdn()
                settings = self._connection_settings()
                wakeup_receiver, self._wakeup_sender = wakeup_pair()
                signal_wakeup_installed = install_signal_wakeup(
                    self._wakeup_sender.fileno())
                listen_socket = self._listen()
                if context is None:
                    self._serve_serially(listen_socket, wakeup_receiver,
                                         settings)
                else:
                    WorkerPool(self, context, listen_socket, wakeup_receiver,
                               settings).serve()
            except KeyboardInterrupt:
                log.info('interrupted, stopping')
            except Exception as e:
                if not self.listening.is_set():
                    self._set_failed(e)
                raise
        finally:
            if signal_wakeup_installed:
                signal.set_wakeup_fd(-1)
            self._restore_sigint_handler(previous_sigint_handler)
            sender, self._wakeup_sender = self._wakeup_sender, None
            for sock in (listen_socket, wakeup_receiver, sender):
                if sock is not None:
                    sock.close()
            with self._state_lock:
                if not self.listening.is_set() and self.bind_error is None:
                    self.bind_error = RuntimeError(
                        'serve_forever() ended before it listened')
                self.listening.clear()
                self._state_changed.set()
            self._stop_requested = False
            self._grace_seconds = None
            self._serving_thread = None
            self._finished.set()

    def shutdown_server(self, timeout_seconds=None):
        """Stop serving: ``serve_forever()`` stops accepting, ends the
        sessions in progress (their clients get a 421), stops the workers and
        returns. Safe to call from any thread and from a signal handler; a
        call made before ``serve_forever()`` started makes it return at once.

        ``timeout_seconds``: called from another thread, wait at most that
        long for ``serve_forever()`` to return; it also caps the time workers
        busy in a policy or deliverer call get before they are terminated.
        Without it, this returns at once. Returns True if the server is not
        serving (any more) when this returns."""
        if timeout_seconds is not None:
            self._grace_seconds = timeout_seconds
        self._stop_requested = True
        sender = self._wakeup_sender
        if sender is not None:
            try:
                sender.send(b'x')
            except (IOError, OSError):
                pass    # closed meanwhile, or already full of wake-ups
        if timeout_seconds is not None and \
                threading.current_thread() is not self._serving_thread:
            self._finished.wait(timeout_seconds)
        return self._finished.is_set()

    def __enter__(self):
        """``with PythonMTA(...) as server:`` serves in a background
        thread (``serve_forever()``, the fork path where there is one) and
        returns once the server listens (``server.port``); raises the error
        that kept it from listening."""
        thread = threading.Thread(target=self._serve_in_background,
                                  name='PythonMTA %s' % (self.bind_port,))
        thread.daemon = True
        thread.start()
        try:
            self.wait_until_listening()
        except BaseException:
            self.shutdown_server(timeout_seconds=CONTEXT_STOP_SECONDS)
            thread.join(CONTEXT_STOP_SECONDS)
            raise
        self._context_thread = thread
        return self

    def _serve_in_background(self):
        try:
            self.serve_forever()
        except Exception:
            # (a bind error is the caller's: __enter__ raises it there)
            if self.bind_error is None:
                log.exception('serve_forever failed')

    def __exit__(self, *exc_info):
        """Stop serving (``shutdown_server``) and wait for the serving
        thread; no worker process, thread or socket is left."""
        thread, self._context_thread = self._context_thread, None
        self.shutdown_server(timeout_seconds=CONTEXT_STOP_SECONDS)
        if thread is not None:
            thread.join(CONTEXT_STOP_SECONDS)
        return False

    def wait_for_messages(self, count=1, timeout=WAIT_SECONDS):
        """(``collect_messages=True``) Wait until ``count`` messages
        arrived (since the last ``clear_messages()``) and return them all;
        raises ``pymta.mailbox.MessageWaitTimeout`` (an
        ``AssertionError``) after ``timeout`` seconds."""
        return self._mailbox().wait_for_messages(count, timeout)

    def clear_messages(self):
        """(``collect_messages=True``) Forget the messages so far."""
        self._mailbox().clear()

    def _mailbox(self):
        if self.messages is None:
            raise RuntimeError('this server keeps no messages: build it '
                               'with collect_messages=True')
        return self.messages

    def wait_until_listening(self, timeout=None):
        """Wait until ``serve_forever()`` listens: True once it does, False
        if ``timeout`` seconds passed first; raises the error that kept it
        from listening (e.g. the address is in use)."""
        deadline = None if timeout is None else _now() + timeout
        while True:
            with self._state_lock:
                if self.bind_error is not None:
                    raise self.bind_error
                if self.listening.is_set():
                    return True
                # (cleared under the lock: a change after this sets it)
                self._state_changed.clear()
            if deadline is None:
                self._state_changed.wait()
                continue
            remaining = deadline - _now()
            if remaining <= 0:
                return False
            self._state_changed.wait(remaining)

    def listening_started(self):
        """Called in the serving thread once the server listens (``port``
        is set), before ``listening`` is set and before it serves a
        connection. Does nothing; override it,
        e.g. to print where the server listens."""

    # --- internals -------------------------------------------------------------
    def _listen(self):
        host, port = self.local_address, self.bind_port
        where = host_and_port(host, port)
        if isinstance(port, numbers.Integral) and not 0 <= port <= 65535:
            # (getaddrinfo would take the port modulo 65536)
            raise socket.error(errno.EINVAL, 'cannot listen on %s: the port '
                               'must be 0-65535' % (where,))
        try:
            infos = socket.getaddrinfo(host or None, port, socket.AF_UNSPEC,
                                       socket.SOCK_STREAM, 0,
                                       socket.AI_PASSIVE)
        except socket.gaierror as e:
            raise socket.error(e.args[0], 'cannot listen on %s: %s' % (
                where, e.args[-1]))
        ipv4 = [info for info in infos if info[0] == socket.AF_INET]
        family, type_, proto, _, address = (ipv4 or infos)[0]
        listen_socket = socket.socket(family, type_, proto)
        try:
            set_close_on_exec(listen_socket.fileno())
            listen_socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listen_socket.bind(address)
            listen_socket.listen(max(socket.SOMAXCONN, 128))
        except (IOError, OSError) as e:
            listen_socket.close()
            raise socket.error(e.errno, 'cannot listen on %s: %s' % (
                where, e.strerror or e))
        self.server_address = listen_socket.getsockname()[:2]
        self.port = self.server_address[1]
        return listen_socket

    def _set_listening(self):
        # the hook first: whoever waits for ``listening`` finds it has run
        self.listening_started()
        with self._state_lock:
            self.listening.set()
            self._state_changed.set()

    def _set_failed(self, error):
        with self._state_lock:
            self.bind_error = error
            self._state_changed.set()

    def _connection_settings(self):
        """The ``ConnectionSettings`` of this ``serve_forever()`` run, from
        the keyword arguments as they are now (once
        ``primary_hostname`` is known)."""
        tls_context = None
        if self.tls is not None:
            from .tls import server_context
            tls_context = server_context(self.tls)
        return ConnectionSettings(
            hostname=self.primary_hostname,
            tls_context=tls_context, implicit_tls=self.implicit_tls,
            require_tls=self.require_tls, extensions=self.extensions,
            command_timeout=self.session_timeout,
            max_data_seconds=self.max_data_seconds,
            max_session_seconds=self.max_session_seconds,
            max_errors=self.max_errors,
            max_auth_failures=self.max_auth_failures,
            default_max_message_size=self.default_max_message_size)

    def _new_worker(self, listen_socket, settings, spin_seconds=0,
                    pool_link=None, connection_threads=None):
        """The ``WorkerProcess`` of the serial path, or of one worker
        process of the fork path (``pool_link``: it collects messages
        through the link)."""
        collect = None
        if self.messages is not None and pool_link is None:
            collect = self.messages.append
        return WorkerProcess(listen_socket, self.deliverer_class,
                             policy_class=self.policy_class,
                             authenticator_class=self.authenticator_class,
                             settings=settings, spin_seconds=spin_seconds,
                             pool_link=pool_link,
                             connection_threads=connection_threads,
                             collect=collect,
                             connections_per_worker=(
                                 self.connections_per_worker))

    def _serve_serially(self, listen_socket, wakeup_receiver, settings):
        threads = None
        spin_seconds = self.serial_spin_seconds
        if self.threaded:
            threads = ConnectionThreads(self.max_workers, settings)
            spin_seconds = 0    # (the threads need the CPU)
        worker = self._new_worker(listen_socket, settings,
                                  spin_seconds=spin_seconds,
                                  connection_threads=threads)
        worker.build()
        self._set_listening()
        try:
            if not self._stop_requested:
                # the wake-up socket also wakes this thread for every
                # signal (see install_signal_wakeup): only the flag means
                # stop
                worker.accept_loop(wakeup_receiver.fileno(),
                                   is_stopping=lambda: self._stop_requested)
        finally:
            if threads is not None:
                grace = self.shutdown_grace_seconds
                if self._grace_seconds is not None:
                    grace = self._grace_seconds if grace is None else \
                        min(grace, self._grace_seconds)
                threads.stop(grace)

    def _install_sigint_handler(self):
        """In the main thread, the first SIGINT (Ctrl-C) shuts the server down
        cleanly; a second one raises KeyboardInterrupt as usual. A handler
        the application installed is left alone."""
        try:
            if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
                return None
            return signal.signal(signal.SIGINT, self._handle_sigint)
        except ValueError:
            return None     # not the main thread

    def _restore_sigint_handler(self, previous):
        if previous is None:
            return
        try:
            signal.signal(signal.SIGINT, previous)
        except ValueError:
            pass

    def _handle_sigint(self, signum, frame):
        if self._stop_requested:
            raise KeyboardInterrupt()
        self.shutdown_server()
