#!/usr/bin/env python3
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
"""Throughput of one pymta server over repeated loads, with the CPU that the
server and smtp-source run on (Linux).

    python3 benchmarks/placement.py [--serial [--serial-spin S]] [--runs 6] \
        -- -s 4 -m 4000 -l 1024

Takes the server options of ``cpu_per_message.py``. Starts
``servers/pymta_server.py`` once (``benchmarks/.venv-py311``), then
runs the smtp-source load ``--runs`` times against it. Each line gives the
messages per minute of one run and, read from ``/proc`` halfway through it,
the CPU the server's main process and smtp-source were last on. It shows why
the serial path's numbers come in two groups on a two-core virtual machine:
fast runs where the scheduler keeps client and server on one CPU (they hand
over to each other without waking an idle CPU), slow runs where each has a
CPU (every reply wakes the other CPU).
"""

import subprocess
import sys
import threading
import time

from cpu_per_message import (SOURCE, parse_arguments, server_parser,
                             start_server, stop_server)


def last_cpu(pid):
    """The CPU ``pid`` last ran on (field 39 of /proc/PID/stat)."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            stat = f.read()
    except IOError:
        return '?'
    return stat.rsplit(')', 1)[1].split()[36]


def main():
    parser = server_parser(__doc__)
    parser.add_argument('--runs', type=int, default=6)
    args, load = parse_arguments(parser)
    count = int(load[load.index('-m') + 1])
    server, port = start_server(args)
    try:
        target = ['127.0.0.1:%d' % port]
        for run in range(1, args.runs + 1):
            started = time.time()
            client = subprocess.Popen(SOURCE + load + target)
            seen = {}

            def sample():
                seen['server'] = last_cpu(server.pid)
                seen['client'] = last_cpu(client.pid)
            timer = threading.Timer(0.3, sample)
            timer.start()
            if client.wait(timeout=120) != 0:
                raise SystemExit('smtp-source failed')
            seconds = time.time() - started
            timer.cancel()
            timer.join()
            print('run %d: %9.0f msgs/min   server on CPU %s, smtp-source on '
                  'CPU %s' % (run, count / seconds * 60,
                              seen.get('server', '-'),
                              seen.get('client', '- (ended before 0.3 s)')))
            sys.stdout.flush()
    finally:
        stop_server(server)


if __name__ == '__main__':
    main()
