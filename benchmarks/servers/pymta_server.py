"""pymta's ``PythonMTA`` on 127.0.0.1 with a null deliverer and no policy.

    python pymta_server.py [--port 0] [--serial] [--root DIR]
                           [--profile FILE] [--tls CERT KEY]
                           [--connections-per-worker N] [--max-workers N]

Fork path by default (``serve_forever()``), the serial path with
``--serial`` (``serve_forever(use_multiprocessing=False)``), default
keyword arguments otherwise. Prints ``PORT <n>`` once it listens, then
serves until SIGINT (Ctrl-C) or SIGTERM. pymta is imported from ``--root``
(default: the checkout this file is in), ahead of any installed copy.

``--profile FILE`` (serial path only: there one process runs the serving
loop and the SMTP core) runs ``serve_forever`` under cProfile and writes
the 30 functions with the most own time to FILE when the server stops.
Time in ``poll``/``select`` is waiting for the client, not work.

``--tls CERT KEY``: offer STARTTLS with that certificate and key.

``--connections-per-worker N``, ``--max-workers N``: those keyword
arguments (N > 1: multiplexing).

Works on Python 2.7 and 3.x.
"""

from __future__ import print_function

import argparse
import os
import signal
import sys
import threading

CHECKOUT = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        os.pardir, os.pardir)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, default=0)
    parser.add_argument('--serial', action='store_true',
                        help='serve one connection at a time (serial path)')
    parser.add_argument('--root', default=CHECKOUT,
                        help='import pymta from this checkout')
    parser.add_argument('--profile', metavar='FILE',
                        help='cProfile serve_forever (with --serial) and '
                             'write the top functions to FILE')
    parser.add_argument('--tls', nargs=2, metavar=('CERT', 'KEY'),
                        help='offer STARTTLS with this certificate and key')
    parser.add_argument('--connections-per-worker', type=int)
    parser.add_argument('--max-workers', type=int)
    args = parser.parse_args()
    if args.profile and not args.serial:
        parser.error('--profile needs --serial')
    sys.path.insert(0, os.path.abspath(args.root))
    from pymta.api import IMessageDeliverer
    from pymta.mta import PythonMTA

    class NullDeliverer(IMessageDeliverer):
        def new_message_accepted(self, msg):
            pass

    options = {}
    if args.tls:
        options['tls'] = tuple(args.tls)
    if args.connections_per_worker is not None:
        options['connections_per_worker'] = args.connections_per_worker
    if args.max_workers is not None:
        options['max_workers'] = args.max_workers
    server = PythonMTA(args.host, args.port, NullDeliverer, **options)

    def announce():
        if server.wait_until_listening(30):
            print('PORT %d' % server.port)
            sys.stdout.flush()

    threading.Thread(target=announce).start()
    signal.signal(signal.SIGTERM, lambda *a: server.shutdown_server())
    if not args.profile:
        server.serve_forever(use_multiprocessing=not args.serial)
        return
    import cProfile
    import pstats
    profiler = cProfile.Profile()
    try:
        profiler.runcall(server.serve_forever, use_multiprocessing=False)
    finally:
        with open(args.profile, 'w') as report:
            stats = pstats.Stats(profiler, stream=report)
            stats.sort_stats('tottime').print_stats(30)


if __name__ == '__main__':
    main()
