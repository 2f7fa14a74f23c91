#!/usr/bin/env python3
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
"""CPU time a pymta server spends per message under one smtp-source load.

    python3 benchmarks/cpu_per_message.py [--serial [--serial-spin S]] \
        [--reps 3] [--root DIR] \
        -- -s 4 -m 4000 -l 1024

Starts ``servers/pymta_server.py`` (of the checkout ``--root``, default this
one) with ``benchmarks/.venv-py311``'s Python (``--python`` for another),
warms it up with 200 messages, runs the load, and reads the user and
system time of the server and all its workers from ``/proc`` (Linux). Prints
the medians over ``--reps`` runs: messages per minute, and microseconds of
user and system CPU per message.

Throughput on this noisy two-core machine varies from run to run; CPU time
per message is steadier, so it is the better guide when comparing two
versions of the code. Compare them in the same minute, interleaved: how
busy the other core is changes the system time per message (a client and a
server sharing a core wake each other more cheaply).
"""

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time

from run import ENVELOPE, SMTP_SOURCE, process_tree

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = [SMTP_SOURCE] + ENVELOPE


def cpu_ticks(pids):
    """Summed (user, system) clock ticks of ``pids``."""
    user = system = 0
    for pid in pids:
        try:
            with open('/proc/%d/stat' % pid) as stat:
                fields = stat.read().rsplit(')', 1)[1].split()
        except IOError:
            continue        # a worker that ended
        user += int(fields[11])
        system += int(fields[12])
    return user, system


def server_parser(doc):
    """An argument parser with the options that choose the pymta server
    (also used by placement.py); ``doc``: the script's docstring."""
    parser = argparse.ArgumentParser(
        description=doc.split('\n\n')[0],
        usage='%(prog)s [options] -- SMTP-SOURCE-OPTIONS')
    parser.add_argument('--serial', action='store_true')
    parser.add_argument('--stand-in-core', action='store_true',
                        help='the server answers from a script instead of '
                             'running the SMTP core (servers/pymta_server.py '
                             '--stand-in-core)')
    parser.add_argument('--serial-spin', type=float, metavar='SECONDS',
                        help='serial_spin_seconds of the server (with '
                             '--serial; 0: no spinning)')
    parser.add_argument('--root', default=os.path.dirname(HERE),
                        help='the checkout whose pymta to run')
    parser.add_argument('--python', default=os.path.join(
        HERE, '.venv-py311', 'bin', 'python'))
    return parser


def parse_arguments(parser):
    """``(options, smtp-source options)`` from ``OPTIONS -- LOAD``."""
    argv = sys.argv[1:]
    split = argv.index('--') if '--' in argv else len(argv)
    args = parser.parse_args(argv[:split])
    load = argv[split + 1:]
    if '-m' not in load:
        parser.error('give the smtp-source options after --, with -m COUNT')
    return args, load


def start_server(args):
    """Start servers/pymta_server.py as ``args`` say; ``(process, port)``."""
    command = [args.python, os.path.join(args.root, 'benchmarks', 'servers',
                                         'pymta_server.py')]
    if args.serial:
        command.append('--serial')
    if args.serial_spin is not None:
        command += ['--serial-spin', str(args.serial_spin)]
    if args.stand_in_core:
        command.append('--stand-in-core')
    env = dict(os.environ, PYTHONPATH=args.root)
    server = subprocess.Popen(command, stdout=subprocess.PIPE, env=env)
    try:
        return server, int(server.stdout.readline().split()[1])
    except Exception:
        stop_server(server)
        raise


def stop_server(server):
    server.send_signal(signal.SIGTERM)
    server.wait()


def measure(args, load):
    count = int(load[load.index('-m') + 1])
    server, port = start_server(args)
    try:
        target = ['127.0.0.1:%d' % port]
        subprocess.check_call(SOURCE + ['-s', '4', '-m', '200', '-l', '1024']
                              + target, timeout=60)
        before = cpu_ticks(process_tree(server.pid))
        started = time.time()
        subprocess.check_call(SOURCE + load + target, timeout=120)
        seconds = time.time() - started
        after = cpu_ticks(process_tree(server.pid))
    finally:
        stop_server(server)
    tick = float(os.sysconf('SC_CLK_TCK'))
    return (count / seconds * 60,
            (after[0] - before[0]) / tick / count * 1e6,
            (after[1] - before[1]) / tick / count * 1e6)


def main():
    parser = server_parser(__doc__)
    parser.add_argument('--reps', type=int, default=3)
    args, load = parse_arguments(parser)
    runs = [measure(args, load) for _ in range(args.reps)]
    median = [statistics.median(run[i] for run in runs) for i in range(3)]
    print('msgs/min %8.0f  user %5.0f us/msg  sys %5.0f us/msg   (runs: %s)'
          % (median[0], median[1], median[2],
             ' '.join('%.0f' % run[0] for run in runs)))


if __name__ == '__main__':
    main()
