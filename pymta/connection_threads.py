# -*- coding: utf-8 -*-
"""The threaded serial path: ``ConnectionThreads`` serves every accepted
connection in a thread of its own (``PythonMTA(threaded=True)``, which the
test helpers use), so one slow or idle client does not hold up the next,
while the deliverer, policy and authenticator stay single instances in the
server's process, as on the serial path.

Stopping: each connection thread watches the read end of a pipe of this
object's own (its *lifeline*); ``stop()`` closes the write end, the end of
file wakes every thread at once and for good (the server's wake-up socket
cannot do that: one reader drains it for all), each client gets the 421 of
a shutdown, and ``stop()`` waits for the threads.
"""

from __future__ import absolute_import

import logging
import os
import threading

from .connection_loop import serve_connection
from .compat import new_event
from .sockets import close_connection, set_close_on_exec
from .stop_signal import StopSignal


__all__ = ['ConnectionThreads']

log = logging.getLogger('pymta')


class ConnectionThreads(object):
    """Serves connections in threads, at most ``max_connections`` at once
    (a client beyond that gets ``421 ... too busy`` and is disconnected, as
    on the fork path). ``settings``: the ``ConnectionSettings`` of every
    connection."""

    def __init__(self, max_connections, settings):
        self.max_connections = max_connections
        self.settings = settings
        self._lock = threading.Lock()
        self._threads = set()
        # threads whose session is over but which may not have returned
        # yet: stop() joins them, so that none is left when it returns
        self._ending = []
        # sessions in progress: a session ends (and frees its place)
        # before its client can tell, so that a client reconnecting at
        # once is not turned away by a thread that is only closing up
        self._sessions = 0
        # set once stopping and the last thread ended (compat.new_event():
        # Python 2's timed Condition.wait polls)
        self._all_ended = new_event()
        read_fd, write_fd = os.pipe()
        set_close_on_exec(read_fd)
        set_close_on_exec(write_fd)
        self._lifeline_fd, self._lifeline_sender = read_fd, write_fd
        self._stopping = False

    def serve(self, connection, address, instances):
        """Serve the accepted ``connection`` in a new thread (or turn it
        away while ``max_connections`` are served)."""
        with self._lock:
            accept = not self._stopping and \
                self._sessions < self.max_connections
            if accept:
                self._sessions += 1
                self._ending = [ending for ending in self._ending
                                if ending.is_alive()]
                thread = threading.Thread(
                    target=self._run, name='pymta %s:%s' % address[:2],
                    args=(connection, address, instances))
                thread.daemon = True
                self._threads.add(thread)
        if not accept:
            self._turn_away(connection, address)
            return
        try:
            thread.start()
        except Exception:
            # (e.g. no thread left in the process)
            with self._lock:
                self._threads.discard(thread)
                self._sessions -= 1
            log.exception('cannot start a thread for %s:%s', address[0],
                          address[1])
            close_connection(connection, False)

    def _run(self, connection, address, instances):
        try:
            serve_connection(connection, address, instances, self.settings,
                             stop=StopSignal(self._lifeline_fd),
                             on_session_end=self._session_ended)
        finally:
            with self._lock:
                thread = threading.current_thread()
                self._threads.discard(thread)
                self._ending.append(thread)
                self._close_lifeline_if_done()

    def _session_ended(self):
        # (serve_connection calls it once per connection)
        with self._lock:
            self._sessions -= 1

    def _turn_away(self, connection, address):
        log.info('%s:%s: %d connections are served, answering 421',
                 address[0], address[1], self.max_connections)
        self.settings.turn_away(connection)

    def stop(self, timeout_seconds):
        """End every connection (its client gets a 421) and wait up to
        ``timeout_seconds`` for the threads. A thread still busy in a
        policy or deliverer call then finishes it on its own (it is a
        daemon thread); returns True if none is left."""
        with self._lock:
            self._stopping = True
            if self._lifeline_sender is not None:
                os.close(self._lifeline_sender)
                self._lifeline_sender = None
            self._close_lifeline_if_done()
        if self._all_ended.wait(timeout_seconds):
            with self._lock:
                ending, self._ending = self._ending, []
            for thread in ending:
                # (past its last statement: no timeout needed, and a
                # timed join polls on Python 2)
                thread.join()
            return True
        with self._lock:
            busy = len(self._threads)
        log.warning('%d connection thread(s) still busy %s s after the '
                    'shutdown', busy, timeout_seconds)
        return False

    def _close_lifeline_if_done(self):
        # (under the lock) the read end stays open while any thread may
        # still watch it, so that its number is not reused meanwhile
        if self._stopping and not self._threads:
            if self._lifeline_fd is not None:
                os.close(self._lifeline_fd)
                self._lifeline_fd = None
            self._all_ended.set()
