# -*- coding: utf-8 -*-
"""The worker and its accept loop: ``WorkerProcess`` builds the user's
deliverer, policy and authenticator, accepts connections on the listening
socket and serves them one after the other (``serve_connection``) until
the stop fd becomes readable.

Both server paths of ``PythonMTA`` use it. The serial path runs
``accept_loop`` in the thread that called ``serve_forever``, with the read
end of the server's wake-up socket pair as stop fd; there a ``Spinner``
retries the non-blocking accept and recv calls for a moment before the
loops sleep in poll. On the fork path every worker process runs
``WorkerProcess.run``: it accepts on the listening socket it shares with
its siblings (the kernel hands each connection to one of them), marks
itself idle or busy on the ``WorkerBoard`` it shares with the parent,
reports to its status pipe what the parent must know (see
``pymta.pool_link``), and stops when its *lifeline* pipe reaches end of
file: the parent closes the write end on shutdown, and the kernel closes
it when the parent dies in any way.

``pymta.command_parser`` re-exports ``WorkerProcess``, so this module (and
every module it imports) uses ``pymta.connection`` and never imports
``pymta.command_parser``.
"""

from __future__ import absolute_import

import inspect
import logging
import os
import signal
import sys

from .accept_waiter import AcceptWaiter
from .compat import connection_accepter
from .connection_loop import serve_connection
from .connection_settings import ConnectionSettings
from .fdwait import wait_for, _errno_of, _now
from .message_pipe import MessageSender
from .pool_link import COUNT_IDLE, READY, RETIRING, ParentGone
from .sockets import ACCEPT_RESOURCE_ERRNOS, ACCEPT_SKIP_ERRNOS, \
    RETRY_ERRNOS, accept_if_pending, has_nodelay, set_nodelay
from .spinner import Spinner
from .stop_signal import StopSignal
from .worker_board import WorkerBoard


__all__ = ['WorkerProcess', 'load_multiplexer']

log = logging.getLogger('pymta')


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


def load_multiplexer():
    """``pymta.multiplexer.Multiplexer``, imported on first use: the default
    of one connection at a time never loads it. The fork path's parent
    calls it before it forks, so that its workers share the module rather
    than each importing it while its first clients wait."""
    from .multiplexer import Multiplexer
    return Multiplexer


class CollectingDeliverer(object):
    """Hands every message to the user's ``deliverer`` (None: none), then
    to ``collect`` (``PythonMTA(collect_messages=True)``). A failing
    ``collect`` is logged: the message is delivered, the client gets its
    250 all the same."""

    def __init__(self, deliverer, collect):
        self.deliverer = deliverer
        self.collect = collect

    def new_message_accepted(self, msg):
        if self.deliverer is not None:
            self.deliverer.new_message_accepted(msg)
        try:
            self.collect(msg)
        except Exception:
            log.exception('could not collect the message %r', msg)


# --- the worker and its accept loop -------------------------------------------
class WorkerProcess(object):
    """Accepts connections on a listening socket and serves them, one at a
    time, with one deliverer, policy and authenticator instance.

    ``PythonMTA`` makes one per worker process on the fork path (``run`` is
    the process's target) and one for the serial path (``build`` and
    ``accept_loop`` in the serving thread).

    * ``listen_socket``: the listening socket (made non-blocking here).
    * ``deliverer_class``, ``policy_class``, ``authenticator_class``: the
      "class" arguments of ``PythonMTA`` (see ``build_instance``).
    * ``settings``: the ``ConnectionSettings`` of every connection (the
      server's name, the limits; None: no limits, the host name looked up
      per connection).
    * ``spin_seconds``: (serial path) spin this long for the next command
      or connection before blocking (see ``Spinner``); 0: never spin.
    * ``pool_link``: (fork path) the ``PoolLink`` to the parent's pool: the
      lifeline that says stop, the status pipe, the slot on the
      ``WorkerBoard``, the parent's fds to close first thing and
      ``idle_worker_seconds``.
    * ``connection_threads``: (threaded serial path) a
      ``ConnectionThreads`` that serves each accepted connection in a
      thread of its own; None: serve them here, one after the other.
    * ``collect``: called with every accepted message after the
      deliverer took it (``PythonMTA(collect_messages=True)``); None: not
      collected.
    * ``connections_per_worker``: more than 1: serve up to that many
      connections at once with a ``pymta.multiplexer.Multiplexer`` (no
      spinning, no connection threads); 1: one after the other.
    """

    #: what waits for the next command or connection when ``spin_seconds``
    #: is set
    spinner_class = Spinner

    def __init__(self, listen_socket, deliverer_class, policy_class=None,
                 authenticator_class=None, settings=None, spin_seconds=0,
                 pool_link=None, connection_threads=None, collect=None,
                 connections_per_worker=1):
        self.listen_socket = listen_socket
        self.deliverer_class = deliverer_class
        self.policy_class = policy_class
        self.authenticator_class = authenticator_class
        if settings is None:
            settings = ConnectionSettings()
        self.settings = settings
        self.spin_seconds = spin_seconds
        self.pool_link = pool_link
        self.connection_threads = connection_threads
        self.collect = collect
        self.connections_per_worker = connections_per_worker
        self.deliverer = self.policy = self.authenticator = None
        # None until the first connection tells whether accepted sockets
        # inherit TCP_NODELAY from the listening socket (Linux: they do)
        self._nodelay_inherited = None

    def build(self):
        """Build this worker's deliverer, policy and authenticator."""
        self.deliverer, self.policy, self.authenticator = build_instances(
            self.deliverer_class, self.policy_class, self.authenticator_class)
        if self.collect is not None:
            self.deliverer = CollectingDeliverer(self.deliverer, self.collect)

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
        link = self.pool_link
        link.close_inherited()
        if link.message_socket is not None:
            self.collect = MessageSender(link.message_socket)
        try:
            self.build()
        except Exception:
            log.exception('worker %d: could not build the deliverer, policy '
                          'or authenticator', os.getpid())
            sys.exit(1)
        try:
            link.mark(WorkerBoard.IDLE)
            link.report(READY)
            self.accept_loop(link.lifeline_fd)
        except ParentGone:
            pass

    def accept_loop(self, stop_fd, is_stopping=None):
        """Accept and serve connections until ``stop_fd`` becomes readable
        (and, if given, ``is_stopping()`` returns True then; see
        ``StopSignal``)."""
        listen_socket = self.listen_socket
        listen_socket.setblocking(False)
        set_nodelay(listen_socket)
        if self.connections_per_worker > 1:
            self._multiplex(listen_socket, StopSignal(stop_fd, is_stopping))
            return
        waiter = AcceptWaiter(listen_socket.fileno(), stop_fd)
        try:
            self._accept_and_serve(listen_socket,
                                   StopSignal(stop_fd, is_stopping), waiter)
        finally:
            waiter.close()

    def _multiplex(self, listen_socket, stop):
        link = self.pool_link
        multiplexer = load_multiplexer()(
            (self.deliverer, self.policy, self.authenticator), self.settings,
            self.connections_per_worker, link=link)
        if not multiplexer.run(listen_socket, stop) and link is not None:
            link.report(RETIRING)

    def _accept_and_serve(self, listen_socket, stop, waiter):
        spin = self.spin_seconds
        spinner = self.spinner_class(spin) if spin else None
        link = self.pool_link
        idle_seconds = None if link is None else link.idle_seconds
        retire_at = None if idle_seconds is None else _now() + idle_seconds
        on_session_end = None if link is None else link.session_ended
        instances = (self.deliverer, self.policy, self.authenticator)
        settings = self.settings
        accept = connection_accepter(listen_socket)
        while True:
            try:
                accepted = None
                if spinner is not None:
                    # (connections that keep coming never let the loop
                    # reach the wait that would see a stop)
                    if stop.requested():
                        return
                    accepted = spinner.attempt(accept)
                    started = _now()
                if accepted is None:
                    timeout = None
                    if retire_at is not None:
                        timeout = max(0.0, retire_at - _now())
                    if waiter.wait(timeout):
                        if stop.confirmed():
                            return
                        continue
                    if spinner is not None:
                        spinner.blocked(_now() - started)
                    if retire_at is not None and _now() >= retire_at:
                        # Only with no connection waiting: the kernel may
                        # have woken this worker alone for it
                        # (EPOLLEXCLUSIVE).
                        accepted = accept_if_pending(listen_socket)
                        if accepted is None:
                            retire_at = link.retire()
                            if retire_at is None:
                                link.report(RETIRING)
                                return
                            continue
                    else:
                        accepted = accept()
                connection, address = accepted
            except (IOError, OSError) as e:
                number = _errno_of(e)
                if number in RETRY_ERRNOS or number in ACCEPT_SKIP_ERRNOS:
                    continue
                if number in ACCEPT_RESOURCE_ERRNOS:
                    log.error('cannot accept a connection: %s', e)
                    # let the resources come back (or a stop arrive)
                    if wait_for([stop.fd], (), 0.1)[0] and stop.confirmed():
                        return
                    continue
                raise
            if link is not None:
                link.mark(WorkerBoard.BUSY)
            if self._nodelay_inherited is None:
                self._nodelay_inherited = has_nodelay(connection)
            if not self._nodelay_inherited:
                # (replies go out at once, without the Nagle delay)
                set_nodelay(connection)
            if self.connection_threads is not None:
                self.connection_threads.serve(connection, address, instances)
                continue
            stopped = serve_connection(
                connection, address, instances, settings, stop=stop,
                spinner=self.spinner_class(spin) if spin else None,
                on_session_end=on_session_end)
            if stopped:
                return
            # (marked idle by on_session_end)
            if link is not None and link.wake_parent:
                link.wake_parent = False
                link.report(COUNT_IDLE)
            if retire_at is not None:
                retire_at = _now() + idle_seconds
