#!/usr/bin/env python3
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
"""Where a pymta server's time goes under each load that misses its target.

    python3 benchmarks/where_time_goes.py [--reps 3] \
        [--loads fork-L1,fork-L2,fork-L3,serial-L1,serial-L2]

For each load (issue 5's L1-L3, on the fork or the serial path, Python 3.11),
interleaved, ``--reps`` times each, median reported:

* smtp-sink, for the ratio and the target in msgs/min;
* pymta as run.py measures it (a fresh server, no warm-up): msgs/min, CPU
  per message of the server's process tree (user, system; from ``/proc``),
  of smtp-source (from ``wait4``), and how much of both CPUs sat idle;
* the same server with ``--stand-in-core`` (the SMTP core replaced by a
  script that answers smtp-source: what the serving loop and the kernel cost
  alone; the difference is the core's cost in situ);
* the same server under cProfile (``--profile``), split by where the time
  was spent (pycerberus, the sans-I/O core, the serving loop, system calls
  on sockets and pipes, built-in methods) as a share of the time not spent waiting in poll,
  and the functions that took most of it. cProfile slows Python code more
  than system calls, so the shares overstate Python; the CPU per message
  above is measured without it.

The fork path's target is issue 5's ratio to smtp-sink; the serial path's
is the faster of stdlib smtpd and Twisted, measured in the same run.
On the fork path the "budget" is the server's CPU per message at the target
if both CPUs did nothing but serve and run smtp-source: 2 CPUs x 60 s /
target msgs/min minus smtp-source's own CPU per message. The serial path
serves one connection at a time, so the server and smtp-source take turns:
there the time per message (60 s / msgs/min) is compared. Either way, the
stand-in core's figure less the real one is what the core costs in situ,
and the report says how much of that the target leaves.
Needs benchmarks/setup.sh (smtp-sink, smtp-source, .venv-py311).
"""

import argparse
import collections
import glob
import os
import pstats
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import run  # noqa: E402   (servers, loads and targets of the main table)
from cpu_per_message import cpu_ticks  # noqa: E402

SERIAL_PEERS = ['stdlib-smtpd', 'twisted']   # aiosmtpd is slower on both
LOADS = ['fork-L1', 'fork-L2', 'fork-L3', 'serial-L1', 'serial-L2']
TICK = float(os.sysconf('SC_CLK_TCK'))
# cProfile's names for time spent waiting, not working
WAITING = ("<method 'poll' of 'select.poll' objects>",
           "<method 'poll' of 'select.epoll' objects>",
           '<built-in method select.select>', '<built-in method time.sleep>')


def register_variants(path, profile_dir):
    """run.SERVERS entries for the real core, the stand-in core and the
    profiled server of ``path`` ('fork' or 'serial')."""
    extra = ['--serial'] if path == 'serial' else []
    names = {}
    for variant, more in (('real', []), ('stand-in', ['--stand-in-core']),
                          ('profiled', ['--profile', profile_dir])):
        name = 'pymta-%s-3.11-%s' % (path, variant)
        run.SERVERS[name] = ('3.11', 'pymta_server.py', extra + more,
                             path == 'serial')
        names[variant] = name
    return names


def idle_ticks():
    """(idle, total) clock ticks of all CPUs so far (/proc/stat)."""
    with open('/proc/stat') as stat:
        fields = [int(x) for x in stat.readline().split()[1:]]
    return fields[3] + fields[4], sum(fields[:8])


def run_load(server_name, load):
    """One fresh server, one load. A dict of what was measured, or None if
    smtp-source did not finish."""
    options, bound, _ = run.LOADS[load]
    count = int(options[options.index('-m') + 1])
    server = run.Server(server_name)
    server.start()
    try:
        pids = server.tree() if server_name != 'smtp-sink' else []
        before = cpu_ticks(pids)
        idle_before = idle_ticks()
        argv = [run.SMTP_SOURCE] + run.ENVELOPE + options + \
            ['%s:%d' % (run.HOST, server.port)]
        started = time.perf_counter()
        source = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL,
                                  start_new_session=True)
        status, usage = wait4(source.pid, bound)
        seconds = time.perf_counter() - started
        source.returncode = 0       # reaped by wait4: Popen must not wait
        if status != 0:     # (None: it did not finish in time)
            return None
        idle_after = idle_ticks()
        # workers started during the load count too
        pids = server.tree() if pids else []
        after = cpu_ticks(pids)
    finally:
        server.stop()
    idle = (idle_after[0] - idle_before[0]) / \
        float(max(1, idle_after[1] - idle_before[1]))
    return {
        'rate': count / seconds * 60,
        'user': (after[0] - before[0]) / TICK / count * 1e6,
        'sys': (after[1] - before[1]) / TICK / count * 1e6,
        'client': (usage.ru_utime + usage.ru_stime) / count * 1e6,
        'idle': idle * 100,
    }


def wait4(pid, bound):
    """Wait for smtp-source; (exit status, rusage), or (None, None) after
    ``bound`` seconds (it is killed then)."""
    deadline = time.monotonic() + bound
    while True:
        waited, status, usage = os.wait4(pid, os.WNOHANG)
        if waited == pid:
            if os.WIFEXITED(status):
                return os.WEXITSTATUS(status), usage
            return -1, usage        # killed by a signal
        if time.monotonic() > deadline:
            os.killpg(pid, signal.SIGKILL)
            os.wait4(pid, 0)
            return None, None
        time.sleep(0.002)


def category(function):
    filename, _, name = function
    if filename == '~':
        if name in WAITING:
            return 'waiting'
        if "of '_socket.socket' objects" in name or \
                name.startswith('<built-in method posix.'):
            return 'system calls'
        return 'built-in methods'
    path = filename.replace(os.sep, '/')
    if '/pycerberus/' in path:
        return 'pycerberus'
    if '/pymta/' in path:
        if path.endswith(('/worker.py', '/mta.py')):
            return 'serving loop'
        return 'sans-I/O core'
    return 'other Python'


def profile_split(directory):
    """{category: share of the non-waiting time}, the top functions, and
    the non-waiting seconds, from every ``.prof`` in ``directory``."""
    files = glob.glob(os.path.join(directory, '*.prof'))
    if not files:
        return {}, [], 0.0
    stats = pstats.Stats(*files)
    by_category = collections.Counter()
    by_function = collections.Counter()
    for function, (_, _, tottime, _, _) in stats.stats.items():
        kind = category(function)
        if kind == 'waiting':
            continue
        by_category[kind] += tottime
        label = '%s:%d(%s)' % (os.path.basename(function[0]), function[1],
                               function[2]) if function[0] != '~' \
            else function[2]
        by_function[label] += tottime
    total = sum(by_category.values()) or 1.0
    shares = dict((kind, 100.0 * t / total) for kind, t in by_category.items())
    top = [(label, 100.0 * t / total)
           for label, t in by_function.most_common(8)]
    return shares, top, total


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--reps', type=int, default=3)
    parser.add_argument('--loads', default=','.join(LOADS))
    args = parser.parse_args(argv)
    loads = run.parse_list(args.loads, LOADS, 'load')
    try:
        run.check_setup(['smtp-sink', 'pymta-fork-3.11'] + SERIAL_PEERS, ['L1'])
    except run.SetupMissing as e:
        raise SystemExit(str(e))
    work = tempfile.mkdtemp(prefix='pymta-where-')
    try:
        for name in loads:
            report(name, args.reps, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def report(name, reps, work):
    path, load = name.split('-')
    profile_dir = os.path.join(work, name)
    os.mkdir(profile_dir)
    variants = register_variants(path, profile_dir)
    # the serial path's target: beat the single-process Python peers
    peers = SERIAL_PEERS if path == 'serial' else []
    results = collections.defaultdict(list)
    for rep in range(reps):
        for label, server in ([('sink', 'smtp-sink')] +
                              [(peer, peer) for peer in peers] +
                              [('real', variants['real']),
                               ('stand-in', variants['stand-in'])]):
            measured = run_load(server, load)
            if measured is not None:
                results[label].append(measured)
            else:
                run.log('  %s %s: smtp-source did not finish' % (name, label))
    run_load(variants['profiled'], load)
    shares, top, _ = profile_split(profile_dir)

    def median(label, key):
        values = [r[key] for r in results[label]]
        return statistics.median(values) if values else float('nan')

    sink, real = median('sink', 'rate'), median('real', 'rate')
    real_cpu = median('real', 'user') + median('real', 'sys')
    stand_in_cpu = median('stand-in', 'user') + median('stand-in', 'sys')
    client = median('real', 'client')
    stand_in = median('stand-in', 'rate')
    if peers:
        best = max(peers, key=lambda peer: median(peer, 'rate'))
        target = median(best, 'rate')
        wanted = 'to beat %s: %.0f msgs/min' % (best, target)
    else:
        target = run.TARGETS[load] * sink
        wanted = 'target %.2f x smtp-sink = %.0f msgs/min' % (
            run.TARGETS[load], target)
    print('%s (%s): %.0f msgs/min = %.2f x smtp-sink (%.0f); %s'
          % (name, run.LOAD_TEXT[load], real, real / sink, sink, wanted))
    print('  CPU per message: server %.0f us (user %.0f, system %.0f), '
          'with the stand-in core %.0f us; smtp-source %.0f us; both CPUs '
          'idle %.0f %% of the run'
          % (real_cpu, median('real', 'user'), median('real', 'sys'),
             stand_in_cpu, client, median('real', 'idle')))
    if peers:
        # one connection at a time: server and smtp-source take turns, so
        # the time per message is what counts (spinning makes the server's
        # CPU time close to it)
        now, loop, goal = 60e6 / real, 60e6 / stand_in, 60e6 / target
        print('  time per message (one connection at a time): %.0f us; '
              'with the stand-in core %.0f us (%.0f msgs/min); the target '
              '%.0f us' % (now, loop, stand_in, goal))
    else:
        # both CPUs shared by the workers and smtp-source
        now, loop = real_cpu, stand_in_cpu
        goal = 2 * 60e6 / target - client
        print('  budget: %.0f us of CPU per message for the server (2 CPUs '
              'x 60 s / target - smtp-source); with the stand-in core it '
              'reaches %.0f msgs/min' % (goal, stand_in))
    if goal <= loop:
        print('  so the core takes %.0f us per message in situ; the target '
              'leaves it nothing: without the core it takes %.0f us already'
              % (now - loop, loop))
    else:
        print('  so the core takes %.0f us per message in situ; the target '
              'leaves it %.0f us (%+.0f %%)'
              % (now - loop, goal - loop, 100.0 * (goal - now) / (now - loop)))
    print('  cProfile, share of the time not spent waiting: %s'
          % ', '.join('%s %.0f %%' % (kind, share) for kind, share in
                      sorted(shares.items(), key=lambda item: -item[1])))
    for label, share in top:
        print('    %5.1f %%  %s' % (share, label))
    print('')
    sys.stdout.flush()


if __name__ == '__main__':
    main()
