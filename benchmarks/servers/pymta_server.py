"""pymta's ``PythonMTA`` on 127.0.0.1 with a null deliverer and no policy.

    python pymta_server.py [--port 0] [--serial]

Fork path by default (``serve_forever()``), the serial path with
``--serial`` (``serve_forever(use_multiprocessing=False)``);
``--serial-spin SECONDS`` sets ``serial_spin_seconds`` (0: no spinning),
``--min-spare-workers N`` and ``--max-workers N`` the fork path's pool;
``--stand-in-core`` replaces the SMTP core with ``StandInCore``, which
answers smtp-source from a script (only to measure what the core costs). With
``--profile DIR`` each process that serves connections (every worker, or
the serial server) runs its accept loop under cProfile and writes
``DIR/pymta-<pid>.prof`` when it stops (read them with ``pstats``; time
spent blocked in ``poll`` is waiting, not work). Prints
``PORT <n>`` once it listens (read from ``PythonMTA.port`` after
``wait_until_listening()``), then serves until SIGINT (Ctrl-C) or SIGTERM.
Works on Python 2.7 and 3.x; it imports pymta from the checkout this file
lives in, ahead of any installed copy.
"""

from __future__ import print_function

import argparse
import os
import signal
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                os.pardir, os.pardir))

from pymta.api import IMessageDeliverer  # noqa: E402
from pymta.mta import PythonMTA  # noqa: E402


class NullDeliverer(IMessageDeliverer):
    def new_message_accepted(self, msg):
        pass


class StandInCore(object):
    """Takes the place of ``SMTPParser`` for ``--stand-in-core``:
    answers smtp-source's fixed dialogue (EHLO, MAIL, RCPT, DATA, message,
    QUIT, with or without -d) from a script, without parsing, validating or
    delivering anything. The worker loop around it is pymta's own, so the
    difference to the real core is what the core costs in situ. Not a
    server for anything else."""

    def __init__(self, channel, remote_ip, remote_port, deliverer,
                 policy=None, authenticator=None, primary_hostname=None,
                 **limits):
        self.channel = channel
        self.in_data = False
        channel.write('220 localhost ESMTP stand-in\r\n')

    def is_in_data_mode(self):
        return self.in_data

    def process_new_data(self, data):
        write = self.channel.write
        if self.in_data:
            if data.endswith(b'\r\n.\r\n'):
                self.in_data = False
                write('250 OK\r\n')
            return
        if data.startswith(b'EHLO'):
            write('250-localhost\r\n250 HELP\r\n')
        elif data.startswith(b'DATA'):
            self.in_data = True
            write('354 go ahead\r\n')
        elif data.startswith(b'QUIT'):
            write('221 bye\r\n')
            self.channel.close()
        else:
            write('250 OK\r\n')


def use_stand_in_core():
    # serve_connection builds the parser that pymta.worker imported
    import pymta.worker
    pymta.worker.SMTPParser = StandInCore


def profile_accept_loops(directory):
    """Run every WorkerProcess.accept_loop under cProfile."""
    import cProfile
    from pymta import worker
    original = worker.WorkerProcess.accept_loop

    def profiled_accept_loop(self, *args, **kwargs):
        profiler = cProfile.Profile()
        try:
            return profiler.runcall(original, self, *args, **kwargs)
        finally:
            profiler.dump_stats(os.path.join(
                directory, 'pymta-%d.prof' % os.getpid()))

    worker.WorkerProcess.accept_loop = profiled_accept_loop


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, default=0)
    parser.add_argument('--serial', action='store_true',
                        help='serve one connection at a time (serial path)')
    parser.add_argument('--serial-spin', type=float, metavar='SECONDS',
                        help="PythonMTA's serial_spin_seconds (default: "
                             "pymta's default)")
    parser.add_argument('--stand-in-core', action='store_true',
                        help="answer from a script instead of pymta's SMTP "
                             "core (to measure what the core costs)")
    parser.add_argument('--min-spare-workers', type=int, metavar='N',
                        help="PythonMTA's min_spare_workers (fork path)")
    parser.add_argument('--max-workers', type=int, metavar='N',
                        help="PythonMTA's max_workers (fork path)")
    parser.add_argument('--profile', metavar='DIR',
                        help='profile the accept loops into DIR (cProfile)')
    args = parser.parse_args()
    if args.profile:
        profile_accept_loops(args.profile)
    if args.stand_in_core:
        use_stand_in_core()
    options = {}
    for option, keyword in (('serial_spin', 'serial_spin_seconds'),
                            ('min_spare_workers', 'min_spare_workers'),
                            ('max_workers', 'max_workers')):
        if getattr(args, option) is not None:
            options[keyword] = getattr(args, option)
    server = PythonMTA(args.host, args.port, NullDeliverer, **options)

    def announce():
        if server.wait_until_listening(30):
            print('PORT %d' % server.port)
            sys.stdout.flush()

    threading.Thread(target=announce).start()
    signal.signal(signal.SIGTERM, lambda *a: server.shutdown_server())
    server.serve_forever(use_multiprocessing=not args.serial)


if __name__ == '__main__':
    main()
