# -*- coding: utf-8 -*-
"""The parent's side of the fork path: ``WorkerPool`` starts the worker
processes as load needs them, watches, replaces and finally stops them,
and turns new clients away (``421 ... too busy``) while every worker is
busy.

Before it forks, the pool runs the SMTP core once on a canned dialogue
(``pymta.warm_up.prepare_core``), so that workers inherit it built and
warm, and with ``connections_per_worker`` > 1 imports the multiplexing
loop. Each new worker closes what the parent keeps open for its siblings.
On shutdown the pool closes the *lifeline* pipe whose end of file stops
every worker (the kernel closes it too when the parent dies in any way,
so workers never outlive it).
"""

from __future__ import absolute_import

import errno
import logging
import os
import signal

from .compat import fds_kept_for_process
from .fdwait import wait_for, _errno_of, _now
from .message_pipe import MessageReceiver, message_socket_pair
from .pool_link import READY, RETIRING, PoolLink
from .sockets import ACCEPT_SKIP_ERRNOS, RETRY_ERRNOS, set_close_on_exec
from .wakeup import drain
from .warm_up import prepare_core
from .worker import load_multiplexer
from .worker_board import WorkerBoard


__all__ = ['WorkerPool', 'turn_away_connection']

log = logging.getLogger('pymta')


class _Worker(object):
    __slots__ = ('process', 'slot', 'is_ready', 'is_retiring')

    def __init__(self, process, slot):
        self.process = process
        self.slot = slot
        self.is_ready = False
        self.is_retiring = False


class WorkerPool(object):
    """The parent's side of the fork path: starts, watches, replaces and
    finally stops the worker processes; while all ``max_workers`` are busy
    it accepts new clients itself, to answer them ``421 ... too busy``.

    ``mta``: the ``PythonMTA`` (its pool settings, its stop flag, and
    ``_new_worker`` to make each ``WorkerProcess``); ``settings``: the
    ``ConnectionSettings`` every worker gets."""

    def __init__(self, mta, context, listen_socket, wakeup_receiver,
                 settings):
        self.mta = mta
        self.context = context
        self.listen_socket = listen_socket
        self.wakeup_receiver = wakeup_receiver
        self.settings = settings
        self.workers = {}           # status pipe read fd -> _Worker
        # (collect_messages) message socket fd -> MessageReceiver
        self.message_receivers = {}
        self.board = WorkerBoard(context.RawArray('b', mta.max_workers),
                                 _shared_lock(context), mta.min_spare_workers)
        self.lifeline_fd = None     # read end, inherited by the workers
        self.lifeline_sender = None
        self.failed_starts = 0
        self.retry_at = None
        self.stopping = False
        self.turned_away = 0        # clients turned away since the warning
        self.warned_at = None
        self.turn_away_paused_until = None  # after an error of accept()

    def serve(self):
        # (what each worker would otherwise build for its first clients;
        # no user code runs)
        prepare_core()
        if self.mta.connections_per_worker > 1:
            load_multiplexer()
        # (the workers make it non-blocking as well: the flag is shared)
        self.listen_socket.setblocking(False)
        self.lifeline_fd, self.lifeline_sender = _pipe()
        try:
            self.mta._set_listening()
            self._watch()
        finally:
            self._stop_workers()

    def _watch(self):
        wakeup_fd = self.wakeup_receiver.fileno()
        listen_fd = self.listen_socket.fileno()
        while not self.mta._stop_requested:
            self._start_workers_as_needed()
            wake_at = self.retry_at
            fds = [wakeup_fd] + list(self.workers) + \
                list(self.message_receivers)
            # The listening socket only while no worker can take a client
            # (a worker that leaves none idle wakes this loop); once one is
            # idle again the next round leaves it to the workers.
            if self._all_busy():
                paused_until = self.turn_away_paused_until
                if paused_until is not None and _now() < paused_until:
                    if wake_at is None or paused_until < wake_at:
                        wake_at = paused_until
                else:
                    fds.append(listen_fd)
            timeout = None
            if wake_at is not None:
                timeout = max(0.0, wake_at - _now())
            readable, _ = wait_for(fds, (), timeout)
            for fd in readable:
                if fd == wakeup_fd:
                    drain(self.wakeup_receiver)
                elif fd == listen_fd:
                    # (looked at again right before accepting)
                    if self._all_busy():
                        self._turn_away()
                elif fd in self.message_receivers:
                    self._read_messages(fd)
                else:
                    self._read_status(fd)

    def _all_busy(self):
        """Every worker the pool may have is running and none is idle."""
        if len(self.workers) < self.mta.max_workers:
            return False
        for worker in self.workers.values():
            if not worker.is_ready or worker.is_retiring:
                return False
        return self.board.idle_workers() == 0

    def _turn_away(self):
        try:
            address = turn_away_connection(self.listen_socket, self.settings)
        except (IOError, OSError) as e:
            # (e.g. EMFILE: the connection stays pending; looking again at
            # once would spin)
            log.error('cannot accept a connection to turn it away: %s', e)
            self.turn_away_paused_until = _now() + 0.1
            return
        if address is None:
            return
        self.turned_away += 1
        now = _now()
        # (a warning a minute at most, however many clients come)
        if self.warned_at is None or now - self.warned_at >= 60.0:
            log.warning('all %d worker processes are busy: %d client(s) '
                        'got "421 too busy" (max_workers)',
                        self.mta.max_workers, self.turned_away)
            self.turned_away = 0
            self.warned_at = now

    def _spare_workers(self):
        starting = len([worker for worker in self.workers.values()
                        if not worker.is_ready])
        return starting + self.board.idle_workers()

    def _start_workers_as_needed(self):
        if self.retry_at is not None:
            if _now() < self.retry_at:
                return
            self.retry_at = None
        mta = self.mta
        while len(self.workers) < mta.max_workers and \
                self._spare_workers() < mta.min_spare_workers:
            self._start_worker()

    def _start_worker(self):
        taken = set(worker.slot for worker in self.workers.values())
        slot = min(set(range(self.mta.max_workers)) - taken)
        status_fd, status_sender = _pipe()
        # what the new worker closes first: the parent's own fds and those
        # it keeps for the other workers (their status pipes and what
        # multiprocessing keeps for each); nothing the application opened
        inherited = [self.wakeup_receiver, self.mta._wakeup_sender,
                     self.lifeline_sender] + list(self.workers)
        for sibling in self.workers.values():
            inherited.extend(fds_kept_for_process(sibling.process))
        inherited.extend(receiver.sock
                         for receiver in self.message_receivers.values())
        parent_end = worker_end = None
        messages = getattr(self.mta, 'messages', None)
        if messages is not None:
            parent_end, worker_end = message_socket_pair()
            inherited.append(parent_end)
        link = PoolLink(self.lifeline_fd, status_sender, self.board, slot,
                        inherited=inherited,
                        idle_seconds=self.mta.idle_worker_seconds,
                        message_socket=worker_end)
        worker = self.mta._new_worker(self.listen_socket, self.settings,
                                      pool_link=link)
        process = self.context.Process(target=worker.run,
                                       name='pymta worker')
        try:
            process.start()
        except BaseException:
            if parent_end is not None:
                parent_end.close()
            raise
        finally:
            os.close(status_sender)
            if worker_end is not None:
                worker_end.close()
        self.workers[status_fd] = _Worker(process, slot)
        if parent_end is not None:
            self.message_receivers[parent_end.fileno()] = MessageReceiver(
                parent_end, messages.append)

    def _read_messages(self, fd):
        receiver = self.message_receivers[fd]
        if not receiver.read():
            # (the worker ended)
            del self.message_receivers[fd]
            receiver.close()

    def _read_status(self, fd):
        try:
            data = os.read(fd, 4096)
        except (IOError, OSError) as e:
            if _errno_of(e) in (errno.EINTR, errno.EAGAIN):
                return
            data = b''
        worker = self.workers[fd]
        if not data:
            self._worker_ended(fd)
            return
        if READY in data:
            self.failed_starts = 0
            worker.is_ready = True
        if RETIRING in data:
            worker.is_retiring = True
        # COUNT_IDLE: fewer idle workers than wanted (the caller's loop
        # starts more), or none idle at all (it turns clients away)

    def _worker_ended(self, fd):
        worker = self.workers.pop(fd)
        os.close(fd)
        process = worker.process
        process.join()
        self.board.mark(worker.slot, WorkerBoard.FREE)
        if self.stopping or self.mta._stop_requested:
            # (a signal to the whole process group, e.g. from a service
            # manager, ends the workers as it stops this loop)
            return
        if worker.is_retiring:
            log.debug('worker process %s was idle for %s s and exited',
                      process.pid, self.mta.idle_worker_seconds)
            return
        if not worker.is_ready:
            self.failed_starts += 1
            delay = min(0.05 * 2 ** self.failed_starts, 5.0)
            self.retry_at = _now() + delay
            log.error('worker process %s could not start (exit code %s); '
                      'trying again in %.2f s', process.pid,
                      process.exitcode, delay)
        else:
            log.warning('worker process %s ended (exit code %s); replacing '
                        'it', process.pid, process.exitcode)

    def _stop_workers(self):
        self.stopping = True
        if self.lifeline_sender is not None:
            os.close(self.lifeline_sender)
            self.lifeline_sender = None
        grace = self.mta.shutdown_grace_seconds
        if self.mta._grace_seconds is not None:
            grace = min(grace, self.mta._grace_seconds)
        try:
            self._wait_for_workers(grace)
            if self.workers:
                log.warning('terminating %d busy worker process(es)',
                            len(self.workers))
                self._signal_workers(signal.SIGTERM)
                self._wait_for_workers(1.0)
            if self.workers:
                self._signal_workers(signal.SIGKILL)
                self._wait_for_workers(None)
        finally:
            for fd in list(self.workers):
                os.close(fd)
                self.workers.pop(fd).process.join()
            for fd in list(self.message_receivers):
                self.message_receivers.pop(fd).close()
            if self.lifeline_fd is not None:
                os.close(self.lifeline_fd)
                self.lifeline_fd = None

    def _wait_for_workers(self, timeout):
        deadline = None if timeout is None else _now() + timeout
        while self.workers:
            remaining = None
            if deadline is not None:
                remaining = deadline - _now()
                if remaining <= 0:
                    return
            readable, _ = wait_for(
                list(self.workers) + list(self.message_receivers), (),
                remaining)
            for fd in readable:
                if fd in self.message_receivers:
                    self._read_messages(fd)
                else:
                    self._read_status(fd)

    def _signal_workers(self, signum):
        for worker in self.workers.values():
            try:
                os.kill(worker.process.pid, signum)
            except OSError:
                pass


def turn_away_connection(listen_socket, settings):
    """Accept one connection from the (non-blocking) ``listen_socket``,
    answer it ``421 <host> Service too busy ...`` and close it (the fork
    path's parent, while every worker is busy; ``settings``: the
    ``ConnectionSettings``, see ``ConnectionSettings.turn_away``). Returns
    the client's address, or None if there was no connection to take (a
    worker took it). Other errors of ``accept()`` are raised."""
    try:
        connection, address = listen_socket.accept()
    except (IOError, OSError) as e:
        number = _errno_of(e)
        if number in RETRY_ERRNOS or number in ACCEPT_SKIP_ERRNOS:
            return None
        raise   # (e.g. no file descriptor left: the caller waits a moment)
    log.info('%s:%s: every worker is busy, answering 421', address[0],
             address[1])
    settings.turn_away(connection)
    return address


# --- the pipes and the lock the pool shares with its workers -----------------
def _shared_lock(context):
    """A lock the workers share, or None where the platform has no
    semaphores for one (see ``WorkerBoard``)."""
    try:
        return context.Lock()
    except (ImportError, OSError):
        return None


def _pipe():
    """``(read_fd, write_fd)``, neither inherited by programs started with
    exec (forked workers do get them)."""
    read_fd, write_fd = os.pipe()
    set_close_on_exec(read_fd)
    set_close_on_exec(write_fd)
    return read_fd, write_fd
