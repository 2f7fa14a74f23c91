#!/usr/bin/env python3
"""The default serve path's cost per connection in CPU instructions
(valgrind's callgrind): this tree against another checkout, repeatable on
a busy machine.

    python3 benchmarks/serve_instructions.py OTHER_ROOT [--python PY]
                                             [--count 200]
                                             [--connections-per-worker N]
                                             [--lockstep]

What ``instructions.py`` does for the sans-I/O core, this does for the
worker's default loop around it (``connections_per_worker=1``):
``WorkerProcess.accept_loop`` on a real listening socket on 127.0.0.1,
``AcceptWaiter``, accept, ``serve_connection`` with its non-blocking
reads and writes, and the core, for one whole session with one message
(EHLO, MAIL, RCPT, DATA, a short message, QUIT). No spinning (as on the
fork path); no pool link (a worker's ``WorkerBoard`` marks and status pipe
are left out); the host name is given (no DNS lookup).

``--connections-per-worker N`` (N > 1; both trees must have it: issue 16
on): the multiplexing loop (``pymta.multiplexer``) instead, serving the
queued connections at once (N at least ``--count``: on the serial path a
loop holding N turns the next client away); it is stopped (a 421 to the
sessions still open) once the last message is delivered.

A child process, under callgrind, first serves 20 warm-up connections;
then it opens ``--count`` client connections, each of which sends its
whole session at once (the kernel queues the connections on the
listening socket and their octets in the socket buffers: the server never
waits for a client), and in the measured run serves them with a second
``accept_loop`` (the deliverer makes the stop fd readable after the last
message). The difference between the runs with and without that second
loop, divided by the count, is one connection's cost.

``--lockstep``: instead, a client process (not under callgrind) opens the
connections one after another and sends each command only once the reply
to the one before is in (as smtp-source does): the loop then waits and
wakes once per command, which is what a connection costs a server whose
clients do not pipeline; with ``PythonMTA``'s default time limits (command
timeout, DATA and session time limits), which the loop keeps per command.

Needs ``valgrind``
and a Python with six and pycerberus (default: the 3.11 venv of
``setup.sh``). Counts move by about 1 % between runs (memory layout).
"""

from __future__ import print_function

import argparse
import os
import re
import subprocess
import sys

CHECKOUT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_PYTHON = os.path.join(CHECKOUT, 'benchmarks', '.venv-py311', 'bin',
                              'python')
SESSION = (b'EHLO client.example.com\r\n'
           b'MAIL FROM:<sender@example.com>\r\n'
           b'RCPT TO:<recipient@example.com>\r\n'
           b'DATA\r\n'
           b'Subject: x\r\n\r\nhello\r\n.\r\n'
           b'QUIT\r\n')
WARM_UP = 20


class _StopAfter(object):
    """A deliverer that writes to ``stop_w`` once it has ``count``
    messages."""

    def __init__(self, stop_w):
        self.stop_w = stop_w
        self.left = 0

    def new_message_accepted(self, message):
        self.left -= 1
        if self.left == 0 and self.stop_w is not None:
            os.write(self.stop_w, b'x')


def _lockstep_client(port, count, stop_w):
    """``count`` connections one after another, one command at a time;
    then writes to ``stop_w`` (the server loop stops)."""
    import socket
    commands = [line + b'\r\n' for line in SESSION.split(b'\r\n')[:4]]
    commands += [SESSION[SESSION.index(b'Subject'):SESSION.index(b'QUIT')],
                 b'QUIT\r\n']
    for _ in range(count):
        client = socket.create_connection(('127.0.0.1', port))
        for command in [None] + commands:
            if command is not None:
                client.sendall(command)
            reply = b''
            while not re.search(b'(^|\n)\\d{3} [^\n]*\r\n$', reply):
                data = client.recv(4096)
                if not data:
                    raise SystemExit('the server closed the connection')
                reply += data
        client.close()
    os.write(stop_w, b'x')


def _connect(port, count):
    import socket
    clients = []
    for _ in range(count):
        client = socket.create_connection(('127.0.0.1', port))
        client.sendall(SESSION)
        clients.append(client)
    return clients


def child(root, count, measure, connections_per_worker=1, lockstep=False):
    """Runs under callgrind: the warm-up, then (if ``measure``) ``count``
    connections served."""
    sys.path.insert(0, root)
    import gc
    import socket
    from pymta.connection_settings import ConnectionSettings
    from pymta.worker import WorkerProcess
    listen_socket = socket.socket()
    listen_socket.bind(('127.0.0.1', 0))
    listen_socket.listen(max(count, WARM_UP) + 10)
    port = listen_socket.getsockname()[1]
    stop_r, stop_w = os.pipe()
    deliverer = _StopAfter(stop_w)
    options = {}
    if connections_per_worker > 1:
        options['connections_per_worker'] = connections_per_worker
    limits = {}
    if lockstep:
        limits = dict(command_timeout=300.0, max_data_seconds=600.0,
                      max_session_seconds=1800.0)
    worker = WorkerProcess(listen_socket, deliverer,
                           settings=ConnectionSettings(hostname='localhost',
                                                       **limits),
                           spin_seconds=0, **options)
    worker.build()

    def serve(connections):
        deliverer.left = connections
        worker.accept_loop(stop_r)
        os.read(stop_r, 1)

    serve(len(_connect(port, WARM_UP)))
    # (the queued sessions connect in both runs, before the count matters;
    # lockstep clients connect while the loop serves)
    clients = None if lockstep else _connect(port, count)
    gc.collect()
    gc.disable()
    if measure and lockstep:
        # (the client stops the loop once its last connection is closed:
        # every command of every connection is measured)
        deliverer.stop_w = None
        if hasattr(os, 'set_inheritable'):
            os.set_inheritable(stop_w, True)
        client = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), '--client',
             str(port), str(count), str(stop_w)], close_fds=False)
        serve(count)
        if client.wait() != 0:
            raise SystemExit('the lockstep client failed')
    elif measure:
        serve(len(clients))
    if deliverer.left != 0:
        raise SystemExit('%d messages not delivered' % deliverer.left)


def instructions(python, root, count, measure, connections_per_worker=1,
                 lockstep=False):
    env = dict(os.environ, PYTHONHASHSEED='0', PYTHONDONTWRITEBYTECODE='1')
    output = subprocess.run(
        ['valgrind', '--tool=callgrind', '--callgrind-out-file=/dev/null',
         python, os.path.abspath(__file__), '--child', root, str(count),
         '1' if measure else '0', str(connections_per_worker)] +
        (['--lockstep'] if lockstep else []),
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        timeout=1800).stdout.decode('utf-8', 'replace')
    match = re.search(r'Collected : (\d+)', output)
    if match is None or 'not delivered' in output or 'Traceback' in output:
        raise SystemExit('no count from callgrind:\n' + output[-3000:])
    return int(match.group(1))


def per_connection(python, root, count, connections_per_worker=1,
                   lockstep=False):
    return (instructions(python, root, count, True, connections_per_worker,
                         lockstep) -
            instructions(python, root, count, False, connections_per_worker,
                         lockstep)) / float(count)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ['--child']:
        root, count, measure, per_worker = argv[1:5]
        child(root, int(count), measure == '1', int(per_worker),
              '--lockstep' in argv[5:])
        return 0
    if argv[:1] == ['--client']:
        _lockstep_client(int(argv[1]), int(argv[2]), int(argv[3]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('other', help='the other checkout (its root folder)')
    parser.add_argument('--python', default=DEFAULT_PYTHON)
    parser.add_argument('--count', type=int, default=200)
    parser.add_argument('--connections-per-worker', type=int, default=1,
                        help='more than 1: the multiplexing loop')
    parser.add_argument('--lockstep', action='store_true',
                        help='one command at a time, one connection at a '
                             'time (a client in another process)')
    args = parser.parse_args(argv)
    per_worker = args.connections_per_worker
    if 1 < per_worker < args.count and not args.lockstep:
        parser.error('--connections-per-worker: at least --count (%d), or 1'
                     % args.count)
    print('instructions per connection (%s, one message%s), %s; this tree '
          '%s, other %s' % ('default serve path' if per_worker == 1 else
                            'multiplexing, %d per worker' % per_worker,
                            ', lockstep' if args.lockstep else '',
                            args.python, CHECKOUT, args.other))
    other = per_connection(args.python, args.other, args.count, per_worker,
                           args.lockstep)
    this = per_connection(args.python, CHECKOUT, args.count, per_worker,
                          args.lockstep)
    print('%-12s %10s %10s %7s' % ('', 'other', 'this', 'ratio'))
    print('%-12s %10.0f %10.0f %7.3f' % ('connection', other, this,
                                         this / other))
    return 0


if __name__ == '__main__':
    sys.exit(main())
