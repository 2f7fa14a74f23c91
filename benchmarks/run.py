#!/usr/bin/env python3
"""pymta against the reference SMTP servers: one command, one table.

    python3 benchmarks/run.py                       # everything (~10 min)
    python3 benchmarks/run.py --quick               # 1 rep., smaller loads
    python3 benchmarks/run.py --servers smtp-sink,pymta-fork-3.11 --loads L1,L2
    python3 benchmarks/run.py --profile --loads L2  # cProfile, serial server
    python3 benchmarks/run.py --list                # the names to choose from

Needs what ``bash benchmarks/setup.sh`` installs (Postfix's smtp-sink and
smtp-source, venvs under benchmarks/.venv-*); it says so and stops when
something is missing. The harness itself is stdlib-only Python >= 3.8.

Every server listens on 127.0.0.1 on a free port, is started afresh for
each measurement and stopped after it; servers are interleaved (rotated) and
each measurement is repeated (--reps, default 3); the table gives the
median, min-max and the ratio to smtp-sink measured in the same run, then,
when pymta-mux servers ran, issue 16's verdicts (``issue16_table``). A load
that does not finish within its time bound, or that smtp-source reports as
failed, is "DNF", never a number. ``compare.py`` measures pymta against
another revision of itself. See benchmarks/README.md.
"""

import argparse
import json
import os
import re
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
SERVERS_DIR = os.path.join(BENCH, 'servers')
VENVS = {'3.11': os.path.join(BENCH, '.venv-py311', 'bin', 'python'),
         '2.7': os.path.join(BENCH, '.venv-py27', 'bin', 'python')}
SMTP_SINK = shutil.which('smtp-sink') or '/usr/sbin/smtp-sink'
SMTP_SOURCE = shutil.which('smtp-source') or '/usr/sbin/smtp-source'
HOST = '127.0.0.1'
MiB = 1024 * 1024

# --- loads -------------------------------------------------------------------
# smtp-source options exactly as issue 5 gives them; the envelope options
# (-f/-t/-M) only replace smtp-source's defaults (foo@<this host name>),
# which a validating server may reject when the host name has no dot.
ENVELOPE = ['-f', 'sender@example.com', '-t', 'recipient@example.com',
            '-M', 'client.example.com']
LOADS = {
    # name: (smtp-source options, time bound in s, unit)
    'L1': (['-s', '4', '-m', '2000', '-l', '1024'], 60, 'msgs/min'),
    'L2': (['-s', '4', '-m', '5000', '-l', '1024', '-d'], 60, 'msgs/min'),
    'L3': (['-s', '32', '-m', '2000', '-l', '1024'], 40, 'msgs/min'),
    'L4': (['-s', '2', '-m', '6', '-l', '10485760'], 60, 'MB/s'),
}
QUICK_COUNTS = {'L1': '500', 'L2': '1000', 'L3': '500', 'L4': '2'}
LOAD_TEXT = {
    'L1': '4 sessions, 1 KiB, one message per connection',
    'L2': '4 connections kept open (-d), 1 KiB messages',
    'L3': '32 sessions, 1 KiB, one message per connection',
    'L4': '10 MiB messages, 2 at a time',
}

# --- servers -----------------------------------------------------------------
MUX_ARGS = ['--connections-per-worker', '64',
            '--max-workers', str(os.cpu_count() or 1)]
# name: (python version or None, script or None, extra args, single process)
SERVERS = {
    'smtp-sink': (None, None, [], True),
    'aiosmtpd': ('3.11', 'aiosmtpd_server.py', [], True),
    'stdlib-smtpd': ('3.11', 'smtpd_server.py', [], True),
    'twisted': ('3.11', 'twisted_server.py', [], True),
    'pymta-fork-3.11': ('3.11', 'pymta_server.py', [], False),
    'pymta-serial-3.11': ('3.11', 'pymta_server.py', ['--serial'], True),
    'pymta-fork-2.7': ('2.7', 'pymta_server.py', [], False),
    'pymta-serial-2.7': ('2.7', 'pymta_server.py', ['--serial'], True),
    # multiplexing (issue 16): one worker per core, 64 connections each
    'pymta-mux-3.11': ('3.11', 'pymta_server.py', MUX_ARGS, False),
    'pymta-mux-2.7': ('2.7', 'pymta_server.py', MUX_ARGS, False),
    # not an SMTP server, not a peer: canned replies from one process per
    # core, what a Python server cannot beat here (see its docstring)
    'python-floor': ('3.11', 'floor_server.py', [], False),
}
PEERS = ['aiosmtpd', 'stdlib-smtpd', 'twisted']
PYMTA = [name for name in SERVERS if name.startswith('pymta')]
SERIAL_SERVERS = [name for name in SERVERS if '--serial' in SERVERS[name][2]]
MUX_SERVERS = [name for name in SERVERS if name.startswith('pymta-mux')]
# the 'held' measure: this many connections at once, each with a message of
# this many octets in DATA (fewer than a fork path's 32 default workers)
HELD_CONNECTIONS = 16
HELD_MESSAGE = MiB

# Issue 5's targets (ratios to smtp-sink), checked for the pymta fork rows.
TARGETS = {'L1': 0.6, 'L2': 0.5, 'L3': 0.7, 'L4': 0.6}
RSS_TARGET = 2.5          # growth of the largest process, x message size
CORE_TARGET = 5000        # transactions/s on 3.11
MEASURES = ['L1', 'L2', 'L3', 'L4', 'rss', 'held', 'cycle', 'core']


class SetupMissing(Exception):
    pass


def log(text):
    sys.stderr.write(text + '\n')
    sys.stderr.flush()


# --- processes ---------------------------------------------------------------
def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def children_of(pid):
    """Direct children of ``pid`` (all its threads), from /proc."""
    kids = []
    try:
        tasks = os.listdir('/proc/%d/task' % pid)
    except OSError:
        return kids
    for tid in tasks:
        try:
            with open('/proc/%d/task/%s/children' % (pid, tid)) as f:
                kids.extend(int(k) for k in f.read().split())
        except OSError:
            pass
    return kids


def process_tree(pid):
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo.extend(children_of(p))
    return tree


def group_members(pgid):
    """Every process whose process group is ``pgid`` (one we created)."""
    members = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % entry) as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(')') + 2:].split()
        if int(fields[2]) == pgid and fields[0] != 'Z':
            members.append(int(entry))
    return members


def status_kib(pid, key, name='status'):
    """A kB field of /proc/PID/status (or of another /proc/PID file in the
    same format, such as smaps_rollup); 0 once the process is gone."""
    try:
        with open('/proc/%d/%s' % (pid, name)) as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def pss_kib(pid):
    """Proportional set size: pages shared by forked workers counted once
    across the tree, not once per process as RSS counts them."""
    return status_kib(pid, 'Pss:', 'smaps_rollup')


class Server(object):
    """One reference or pymta server process (and its children), started in
    its own session so that everything it forks can be found and ended."""

    def __init__(self, name, root=ROOT, extra=()):
        self.name = name
        self.root = root            # the checkout pymta is imported from
        self.extra = list(extra)    # more options for the server's script
        self.proc = None
        self.port = None
        self.stderr_path = None

    def start(self, timeout=30):
        version, script, extra, _ = SERVERS[self.name]
        self.stderr_path = '/tmp/pymta-bench-%s-%d-%x.log' % (
            self.name, os.getpid(), id(self))
        stderr = open(self.stderr_path, 'wb')
        env = dict(os.environ)
        if script is None:                       # smtp-sink
            self.port = free_port()
            argv = [SMTP_SINK]
            if os.geteuid() == 0:
                argv += ['-u', 'nobody']
            argv += ['%s:%d' % (HOST, self.port), '256']
            self.proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr,
                start_new_session=True)
            deadline = time.monotonic() + timeout
            while True:                          # wait until it accepts
                try:
                    socket.create_connection((HOST, self.port), 1).close()
                    break
                except OSError:
                    if self.proc.poll() is not None or \
                            time.monotonic() > deadline:
                        self.stop()
                        raise RuntimeError('smtp-sink did not start: %s'
                                           % self.tail())
                    time.sleep(0.02)
            return
        env['PYTHONPATH'] = self.root
        env['PYTHONDONTWRITEBYTECODE'] = '1'
        argv = [VENVS[version], os.path.join(SERVERS_DIR, script),
                '--host', HOST, '--port', '0'] + extra
        if script == 'pymta_server.py':
            argv += ['--root', self.root]
        argv += self.extra
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=stderr, env=env, start_new_session=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        line = self._read_line(timeout)
        m = re.match(r'PORT (\d+)', line or '')
        if not m:
            self.stop()
            raise RuntimeError('%s did not start: %s' % (self.name,
                                                         self.tail()))
        self.port = int(m.group(1))

    def _read_line(self, timeout):
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        data = b''
        deadline = time.monotonic() + timeout
        while b'\n' not in data:
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                break
            chunk = os.read(self.proc.stdout.fileno(), 1024)
            if not chunk:
                break
            data += chunk
        sel.close()
        return data.decode('ascii', 'replace')

    def tail(self):
        try:
            with open(self.stderr_path, 'rb') as f:
                lines = f.read().decode('utf-8', 'replace').strip()
                return ' | '.join(lines.splitlines()[-3:]) or '(no output)'
        except OSError:
            return '(no output)'

    def tree(self):
        return process_tree(self.proc.pid)

    def stop(self, grace=5.0):
        """SIGTERM to the server process, SIGKILL to whatever of its process
        group is left after ``grace`` seconds. Returns the number of
        processes that had to be killed."""
        if self.proc is None:
            return 0
        pgid = self.proc.pid          # start_new_session: pgid == pid
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                pass
        deadline = time.monotonic() + grace
        left = group_members(pgid)
        while left and time.monotonic() < deadline:
            time.sleep(0.05)
            left = group_members(pgid)
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        if left:
            log('  WARNING: %s left %d process(es) after SIGTERM; killed'
                % (self.name, len(left)))
        try:
            os.unlink(self.stderr_path)
        except OSError:
            pass
        self.proc = None
        return len(left)


def run_source(port, options, bound):
    """Runs smtp-source; returns (seconds, None) or (None, reason)."""
    argv = [SMTP_SOURCE] + ENVELOPE + options + ['%s:%d' % (HOST, port)]
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        _, err = proc.communicate(timeout=bound)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return None, 'did not finish in %d s' % bound
    elapsed = time.perf_counter() - started
    err = err.decode('utf-8', 'replace').strip()
    if proc.returncode != 0:
        return None, 'smtp-source failed (exit %d): %s' % (
            proc.returncode, err.splitlines()[-1] if err else '')
    return elapsed, None


# --- measurements ------------------------------------------------------------
def load_options(load, quick):
    options = list(LOADS[load][0])
    if quick:
        options[options.index('-m') + 1] = QUICK_COUNTS[load]
    return options


def measure_load(name, load, quick, root=ROOT):
    options = load_options(load, quick)
    count = int(options[options.index('-m') + 1])
    size = int(options[options.index('-l') + 1])
    server = Server(name, root)
    server.start()
    try:
        seconds, reason = run_source(server.port, options, LOADS[load][1])
    finally:
        server.stop()
    if seconds is None:
        return None, reason
    if load == 'L4':
        return count * size / seconds / 1e6, None
    return count / seconds * 60, None


def measure_rss(name, quick, root=ROOT):
    """Peak memory of the server tree while it receives one 10 MiB message.

    A small message first (so that every lazily started worker exists), then
    the baseline; VmHWM of every process is reset (/proc/PID/clear_refs, as
    root); the 10 MiB message is sent while the tree's summed PSS is polled
    (every ~1 ms); afterwards each process's VmHWM gives its exact RSS peak.

    Largest process: its peak RSS (VmHWM), and growth = the largest
    VmHWM - baseline VmRSS over the processes (a process forked during the
    message counts from its parent's baseline, as fork copies its pages).
    Whole tree: summed PSS (shared copy-on-write pages of forked workers
    count once), peak and growth over the baseline. Returns a dict of byte
    counts."""
    server = Server(name, root)
    server.start()
    try:
        seconds, reason = run_source(server.port,
                                     ['-s', '1', '-m', '1', '-l', '1024'], 30)
        if seconds is None:
            return None, 'warm-up: ' + reason
        time.sleep(0.3)
        pids = server.tree()
        base_rss = {pid: status_kib(pid, 'VmRSS:') for pid in pids}
        base_pss = sum(pss_kib(pid) for pid in pids)
        for pid in pids:
            try:
                with open('/proc/%d/clear_refs' % pid, 'w') as f:
                    f.write('5')
            except OSError:
                pass            # not root: VmHWM is the peak since start
        argv = [SMTP_SOURCE] + ENVELOPE + ['-s', '1', '-m', '1', '-l',
                                           str(10 * MiB),
                                           '%s:%d' % (HOST, server.port)]
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL,
                                start_new_session=True)
        deadline = time.monotonic() + 60
        tree_peak, seen = base_pss, set(pids)
        while proc.poll() is None and time.monotonic() < deadline:
            pids = server.tree()
            seen.update(pids)
            tree_peak = max(tree_peak, sum(pss_kib(p) for p in pids))
            time.sleep(0.001)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return None, 'did not finish in 60 s'
        if proc.returncode != 0:
            return None, 'smtp-source failed (exit %d)' % proc.returncode
        hwm = {p: status_kib(p, 'VmHWM:') for p in seen}
        largest = max(hwm, key=lambda p: hwm[p])
        # a worker forked during the message starts with its parent's pages
        for pid in seen - set(base_rss):
            base_rss[pid] = base_rss.get(status_kib(pid, 'PPid:'), 0)
        growth = max(hwm[p] - base_rss[p] for p in hwm if hwm[p])
        return dict(largest_peak=hwm[largest] * 1024,
                    largest_growth=growth * 1024,
                    tree_peak=tree_peak * 1024,
                    tree_growth=(tree_peak - base_pss) * 1024,
                    processes=len(seen)), None
    finally:
        server.stop()


class HeldClient(object):
    """One SMTP client connection of ``measure_held``: blocking socket with
    a time limit, replies read whole (multi-line ones too)."""

    def __init__(self, port, timeout):
        self.sock = socket.create_connection((HOST, port), timeout)
        self.buffer = b''

    def reply(self):
        """The reply code of the next complete reply (int)."""
        while True:
            lines = self.buffer.split(b'\r\n')
            for i, line in enumerate(lines[:-1]):
                if len(line) >= 4 and line[3:4] == b' ':
                    self.buffer = b'\r\n'.join(lines[i + 1:])
                    return int(line[:3])
            chunk = self.sock.recv(4096)
            if not chunk:
                raise OSError('connection closed by the server')
            self.buffer += chunk

    def command(self, line, expected):
        if line is not None:
            self.sock.sendall(line + b'\r\n')
        code = self.reply()
        if code != expected:
            raise OSError('%r: %d, not %d' % (line, code, expected))

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def tree_pss(server):
    return sum(pss_kib(pid) for pid in server.tree())


def settled_pss(server, seconds=3.0):
    """The tree's summed PSS once it stops moving (two samples 50 ms apart
    within 1 %, after at least 0.3 s), at most ``seconds``."""
    time.sleep(0.3)
    deadline = time.monotonic() + seconds
    last = tree_pss(server)
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now = tree_pss(server)
        if abs(now - last) <= 0.01 * max(now, 1):
            return now
        last = now
    return last


def measure_held(name, quick, root=ROOT):
    """Memory per concurrent connection and per message held at once.

    After one warm-up message (smtp-source) and the tree's settled summed
    PSS (the baseline), HELD_CONNECTIONS clients connect and each gets as
    far as DATA's 354 (settled PSS: "connected"); then each sends a
    HELD_MESSAGE-octet message body without its final dot (settled PSS:
    "held"); then each sends the dot while the tree's PSS is sampled about
    every millisecond until every 250 has come ("peak"). Returns a dict:
    per_connection = (connected - baseline) / connections, in bytes;
    held_per_message and peak_per_message = (held or peak - connected) /
    connections, as multiples of the message size. Summed PSS counts the
    copy-on-write pages forked workers share once, so a server that holds
    each connection in a process of its own and one that holds them all
    in one process are measured alike. Not for the serial paths (one
    connection at a time)."""
    if name in SERIAL_SERVERS:
        return None, 'n/a: one connection at a time'
    server = Server(name, root)
    server.start()
    clients = []
    try:
        seconds, reason = run_source(server.port,
                                     ['-s', '1', '-m', '1', '-l', '1024'], 30)
        if seconds is None:
            return None, 'warm-up: ' + reason
        deadline = time.monotonic() + 60
        base = settled_pss(server)
        for _ in range(HELD_CONNECTIONS):
            client = HeldClient(server.port, 30)
            clients.append(client)
            client.command(None, 220)
            client.command(b'EHLO client.example.com', 250)
            client.command(b'MAIL FROM:<sender@example.com>', 250)
            client.command(b'RCPT TO:<recipient@example.com>', 250)
            client.command(b'DATA', 354)
        connected = settled_pss(server)
        line = b'X' * 78 + b'\r\n'
        body = b'Subject: held\r\n\r\n' + line * (
            (HELD_MESSAGE - 17) // len(line))
        body += b'Y' * (HELD_MESSAGE - len(body) - 2) + b'\r\n'
        for client in clients:
            client.sock.sendall(body)
        held = settled_pss(server)
        for client in clients:
            client.sock.sendall(b'.\r\n')
        peak, waiting = held, list(clients)
        sel = selectors.DefaultSelector()
        for client in clients:
            sel.register(client.sock, selectors.EVENT_READ, client)
        while waiting:
            if time.monotonic() > deadline:
                return None, 'did not finish in 60 s'
            peak = max(peak, tree_pss(server))
            for key, _ in sel.select(0.001):
                client = key.data
                chunk = client.sock.recv(4096)
                if not chunk:
                    return None, 'connection closed before the 250'
                client.buffer += chunk
                if re.search(br'(^|\r\n)\d{3} [^\r\n]*\r\n$',
                             client.buffer):
                    code = client.reply()
                    if code != 250:
                        return None, 'message: %d, not 250' % code
                    sel.unregister(client.sock)
                    waiting.remove(client)
        sel.close()
        n = float(len(clients))
        return dict(per_connection=(connected - base) * 1024 / n,
                    held_per_message=(held - connected) * 1024 / n
                    / HELD_MESSAGE,
                    peak_per_message=(peak - connected) * 1024 / n
                    / HELD_MESSAGE,
                    processes=len(server.tree())), None
    except (OSError, ValueError) as e:
        return None, 'client: %s' % e
    finally:
        for client in clients:
            client.close()
        server.stop()


# the memory measures: name, function, what a sample says in the progress log
MEMORY_MEASURES = (
    ('rss', measure_rss,
     lambda value: 'largest +%.1f MiB, tree +%.1f MiB' % (
         value['largest_growth'] / MiB, value['tree_growth'] / MiB)),
    ('held', measure_held,
     lambda value: '%.0f KiB/connection, %.2f x/message held, %.2f x peak'
     % (value['per_connection'] / 1024, value['held_per_message'],
        value['peak_per_message'])),
)


def run_python(version, argv, timeout, root=ROOT):
    env = dict(os.environ, PYTHONPATH=root, PYTHONDONTWRITEBYTECODE='1')
    proc = subprocess.Popen([VENVS[version]] + argv, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env, cwd=ROOT, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return None, 'did not finish in %d s' % timeout
    if proc.returncode != 0:
        err = err.decode('utf-8', 'replace').strip().splitlines()
        return None, 'exit %d: %s' % (proc.returncode, err[-1] if err else '')
    return out.decode('utf-8', 'replace'), None


def run_json(version, argv, timeout, root=ROOT):
    """Runs a benchmark script that prints one JSON line; (data, None) or
    (None, reason)."""
    out, reason = run_python(version, argv, timeout, root)
    if out is None:
        return None, reason
    try:
        return json.loads(out.strip().splitlines()[-1]), None
    except (IndexError, ValueError):
        return None, '%s: unreadable output' % os.path.basename(argv[0])


def measure_cycle(quick, root=ROOT):
    """Test-suite cycle: SMTPTestHelper (3.11, 2.7) against aiosmtpd's
    Controller (3.11), interleaved cycle by cycle (helper_cycle.py)."""
    cycles = '20' if quick else '100'
    results = {}
    for version, which in (('3.11', 'pymta,aiosmtpd'), ('2.7', 'pymta')):
        data, reason = run_json(version, [
            os.path.join(BENCH, 'helper_cycle.py'), '--cycles', cycles,
            '--which', which, '--root', root, '--json'], 300, root)
        for kind in which.split(','):
            samples = data.get(kind) if data else None
            results['%s-%s' % (kind, version)] = (
                samples, None if samples else reason or 'no samples')
    return results


def core_rates(version, runs, seconds=1.0, root=ROOT):
    """core.py's transactions/s runs for bytes and text input:
    ({'bytes': [...], 'text': [...]}, None) or (None, reason)."""
    data, reason = run_json(version, [
        os.path.join(BENCH, 'core.py'), '--runs', str(runs), '--seconds',
        str(seconds), '--root', root, '--json'], 60 + 4 * runs * seconds,
        root)
    if data and not (data.get('bytes') and data.get('text')):
        return None, 'core.py: no rates'
    return data, reason


def measure_core(quick, root=ROOT):
    results = {}
    for version in ('3.11', '2.7'):
        data, reason = core_rates(version, 3 if quick else 5, root=root)
        for kind in ('bytes', 'text'):
            results[(version, kind)] = (data[kind] if data else None, reason)
    return results


def snapshot(root=ROOT):
    """A copy of ``root``'s pymta/ in a new directory under /tmp, so that a
    run measures one state of a working tree that may be edited meanwhile.
    The caller removes it (shutil.rmtree)."""
    path = tempfile.mkdtemp(prefix='pymta-bench-tree-')
    shutil.copytree(os.path.join(root, 'pymta'), os.path.join(path, 'pymta'),
                    ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
    return path


def check_imports(versions, root):
    """None, or why pymta under ``root`` does not import."""
    for version in versions:
        out, reason = run_python(version, ['-c', 'import pymta.mta, '
                                           'pymta.command_parser, '
                                           'pymta.test_util'], 60, root)
        if reason:
            return 'pymta of %s does not import on %s: %s' % (root, version,
                                                              reason)
    return None


def describe_tree(root=ROOT):
    """The commit of the checkout, and whether its pymta/ has changes."""
    def git(*args):
        return subprocess.run(['git', '-C', root] + list(args),
                              stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL,
                              universal_newlines=True).stdout.strip()
    head = git('rev-parse', '--short', 'HEAD') or 'unknown commit'
    dirty = git('status', '--porcelain', '--', 'pymta')
    return '%s%s' % (head, ' + uncommitted changes in pymta/' if dirty
                     else '')


# --- checks ------------------------------------------------------------------
def postfix_daemons():
    found = []
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                exe = os.readlink('/proc/%s/exe' % entry)
            except OSError:
                continue
            if exe.startswith('/usr/lib/postfix/sbin/'):
                found.append((int(entry), exe))
    return found


def check_setup(servers, measures):
    missing = []
    if any(m in measures for m in ('L1', 'L2', 'L3', 'L4', 'rss', 'held')):
        for tool in (SMTP_SINK, SMTP_SOURCE):
            if not os.access(tool, os.X_OK):
                missing.append(tool)
    needed = set()
    for name in servers:
        if SERVERS[name][0]:
            needed.add(SERVERS[name][0])
    if 'cycle' in measures or 'core' in measures:
        needed.update(VENVS)
    for version in sorted(needed):
        if not os.access(VENVS[version], os.X_OK):
            missing.append(VENVS[version])
            continue
        modules = ['six', 'pycerberus']
        if version == '3.11':
            modules += ['aiosmtpd', 'twisted.mail.smtp']
        probe = subprocess.run(
            [VENVS[version], '-c', 'import ' + ', '.join(modules)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if probe.returncode != 0:
            missing.append('%s with %s' % (VENVS[version], ', '.join(modules)))
    if missing:
        raise SetupMissing(
            'missing: %s\nrun first (as root, once): bash %s'
            % ('; '.join(missing), os.path.relpath(
                os.path.join(BENCH, 'setup.sh'))))
    daemons = postfix_daemons()
    if daemons:
        raise SetupMissing(
            'a Postfix daemon is running (%s); these benchmarks need only '
            'smtp-sink/smtp-source. Stop it first: postfix stop'
            % ', '.join('%d %s' % d for d in daemons))


# --- the table ---------------------------------------------------------------
def fmt_num(value, unit):
    if unit == 'MB/s':
        return '%.1f' % value
    if unit == 'ms':
        return '%.2f' % value
    if unit in ('x msg', 'MiB'):
        return '%.2f' % value
    return '{:,.0f}'.format(value)


def summary(values, unit):
    ok = [v for v in values if v is not None]
    if not ok:
        return None, '', ''
    med = statistics.median(ok)
    return med, fmt_num(med, unit), '%s-%s' % (fmt_num(min(ok), unit),
                                               fmt_num(max(ok), unit))


class Cell(object):
    """One server's summary of one measure: ``med`` (None when a run did
    not finish or nothing was measured), the ``values`` of the runs that
    finished, and the texts of the table's median and min-max columns."""

    def __init__(self, values, reasons, runs, unit):
        self.values = [v for v in values if v is not None]
        self.med, self.text, self.range = summary(self.values, unit)
        if reasons:           # any run that did not finish: no number
            self.med = None
            self.text = 'DNF %d/%d' % (len(reasons), len(runs))
            if reasons[0].startswith('n/a'):
                self.text = 'n/a'
            self.range = reasons[0][:40]


def load_cells(results, servers, loads):
    """{(server, load): Cell} of the L1-L4 loads."""
    cells = {}
    for load in loads:
        for name in servers:
            runs = results['loads'].get((name, load), [])
            cells[(name, load)] = Cell(
                [v for v, _ in runs], [r for _, r in runs if r], runs,
                LOADS[load][2])
    return cells


def memory_cell(results, kind, key, name, scale, unit):
    """The Cell of ``results[kind]`` (rss or held) field ``key`` / scale."""
    runs = results.get(kind, {}).get(name, [])
    return Cell([v[key] / scale for v, _ in runs if v],
                [r for _, r in runs if r], runs, unit)


RSS_ROWS = (('largest_growth', 'RSS growth, largest proc (x 10 MiB)',
             10 * MiB, 'x msg'),
            ('tree_growth', 'PSS growth, whole tree (x 10 MiB)',
             10 * MiB, 'x msg'),
            ('largest_peak', 'RSS peak, largest proc MiB', MiB, 'MiB'),
            ('tree_peak', 'PSS peak, whole tree MiB', MiB, 'MiB'))
HELD_ROWS = (('per_connection',
              'held: PSS per connection KiB (%d at once)' % HELD_CONNECTIONS,
              1024, 'KiB'),
             ('held_per_message',
              'held: PSS per message held (x 1 MiB, %d at once)'
              % HELD_CONNECTIONS, 1, 'x msg'),
             ('peak_per_message',
              'held: PSS peak per message (x 1 MiB, %d at once)'
              % HELD_CONNECTIONS, 1, 'x msg'))


def format_rows(header, rows):
    """Aligned columns, a blank line between groups (the first column)."""
    widths = [max(len(str(r[i])) for r in rows + [header])
              for i in range(len(header))]
    lines = []
    fmt = '  '.join('%%-%ds' % w if i < 2 else '%%%ds' % w
                    for i, w in enumerate(widths))
    lines.append(fmt % header)
    lines.append('  '.join('-' * w for w in widths))
    previous = None
    for row in rows:
        if previous is not None and row[0] != previous:
            lines.append('')
        previous = row[0]
        lines.append((fmt % row).rstrip())
    return '\n'.join(lines)


def build_table(results, servers, measures, reps):
    rows = []
    header = ('measure', 'server', 'median', 'min-max', 'ratio', 'target',
              'met')
    loads = [m for m in MEASURES[:4] if m in measures]
    # every median first: a row compares with servers listed after it
    cells = load_cells(results, servers, loads)
    loads_med = dict((k, c.med) for k, c in cells.items())
    for load in loads:
        unit = LOADS[load][2]
        sink = loads_med.get(('smtp-sink', load))
        for name in servers:
            med = loads_med[(name, load)]
            smed, srange = cells[(name, load)].text, cells[(name, load)].range
            ratio = '%.2f' % (med / sink) if med and sink else '-'
            target, met = '', ''
            if name.startswith('pymta-fork'):
                target = '>= %.1f' % TARGETS[load]
                if load == 'L3':
                    target += ', finishes'
                met = ('yes' if med and sink and med / sink >= TARGETS[load]
                       else 'NO')
            if name.startswith('pymta-serial') and load in ('L1', 'L2'):
                peers = [loads_med.get((p, load)) for p in PEERS
                         if p in servers]
                target = '> single-proc peers'
                finished = [p for p in peers if p is not None]
                if not peers:
                    met = '?'           # no peer measured in this run
                elif med:               # (a peer that did not finish loses)
                    met = 'yes' if not finished or med > max(finished) \
                        else 'NO'
                else:
                    met = 'NO'
            rows.append(('%s %s' % (load, unit), name, smed, srange, ratio,
                         target, met))
    if 'rss' in measures:
        for key, label, scale, unit in RSS_ROWS:
            for name in servers:
                cell = memory_cell(results, 'rss', key, name, scale, unit)
                target = met = ''
                if key == 'largest_growth' and name.startswith('pymta-fork'):
                    target = '<= %.1f x' % RSS_TARGET
                    met = 'yes' if cell.med is not None and \
                        cell.med <= RSS_TARGET else 'NO'
                rows.append((label, name, cell.text, cell.range, '', target,
                             met))
    if 'held' in measures:
        for key, label, scale, unit in HELD_ROWS:
            for name in servers:
                cell = memory_cell(results, 'held', key, name, scale, unit)
                rows.append((label, name, cell.text, cell.range, '', '', ''))
    if 'cycle' in measures:
        cyc = results.get('cycle', {})
        ref = cyc.get('aiosmtpd-3.11', (None, None))[0]
        ref_med = statistics.median(ref) * 1000 if ref else None
        for key, label in (('aiosmtpd-3.11', 'aiosmtpd Controller 3.11'),
                           ('pymta-3.11', 'SMTPTestHelper 3.11'),
                           ('pymta-2.7', 'SMTPTestHelper 2.7')):
            samples, reason = cyc.get(key, (None, 'not run'))
            if samples is None:
                rows.append(('test cycle ms', label, 'failed', reason[:40],
                             '', '', ''))
                continue
            ms = [s * 1000 for s in samples]
            med, smed, srange = summary(ms, 'ms')
            ratio = '%.2f' % (med / ref_med) if ref_med else '-'
            target = met = ''
            if key.startswith('pymta'):
                target = '<= aiosmtpd'
                met = 'yes' if ref_med and med <= ref_med else 'NO'
            rows.append(('test cycle ms (n=%d)' % len(ms), label, smed,
                         srange, ratio, target, met))
    if 'core' in measures:
        core = results.get('core', {})
        for key in sorted(core, key=lambda k: (k[0] != '3.11', k[1])):
            rates, reason = core[key]
            label = 'sans-I/O core %s, %s input' % key
            if rates is None:
                rows.append(('core transactions/s', label, 'failed',
                             reason[:40], '', '', ''))
                continue
            med, smed, srange = summary(rates, 'tps')
            target = met = ''
            if key[0] == '3.11':
                target = '>= {:,}'.format(CORE_TARGET)
                met = 'yes' if med >= CORE_TARGET else 'NO'
            rows.append(('core transactions/s (runs=%d)' % len(rates),
                         label, smed, srange, '', target, met))
    return format_rows(header, rows)


# Issue 16's targets for the multiplexing rows (pymta-mux-*), ratios within
# the run: to the best Python peer on L1-L3, to smtp-sink on L1; L4 and
# memory per message against the fork path of the same Python.
MUX_PEER_TARGET = 1.3
MUX_SINK_TARGET = 0.6


def no_worse(new, old, higher_is_better):
    """(ratio text, met) for "new no worse than old": met is 'yes' when the
    median ratio is on the good side of 1.00, else 'overlap' when the two
    min-max ranges overlap (not told apart by this run), else 'NO'."""
    if new.med is None or old.med is None:
        return '-', 'NO' if old.med is not None else '?'
    if not old.med:
        return '-', '?'
    ratio = new.med / old.med
    good = ratio >= 1.0 if higher_is_better else ratio <= 1.0
    if good:
        met = 'yes'
    elif min(new.values) <= max(old.values) and \
            min(old.values) <= max(new.values):
        met = 'overlap'
    else:
        met = 'NO'
    if met != 'yes':
        met += ' (%+.1f %%)' % (100 * (ratio - 1))
    return '%.2f' % ratio, met


def issue16_table(results, servers, measures):
    """Issue 16's verdicts for every pymta-mux server of the run, or None
    when the run has none. Every ratio is of medians of this run."""
    muxes = [n for n in servers if n in MUX_SERVERS]
    if not muxes:
        return None
    loads = [m for m in MEASURES[:4] if m in measures]
    cells = load_cells(results, servers, loads)
    rows = []
    header = ('issue 16', 'server', 'value', 'against', 'ratio', 'target',
              'met')
    for load in [l for l in ('L1', 'L2', 'L3') if l in loads]:
        peers = [p for p in PEERS if p in servers]
        finished = [p for p in peers if cells[(p, load)].med is not None]
        for name in muxes:
            cell = cells[(name, load)]
            if not peers:
                against, ratio, met = 'no peer in this run', '-', '?'
            elif not finished:
                against, ratio = 'no peer finished', '-'
                met = 'yes' if cell.med is not None else 'NO'
            else:
                best = max(finished, key=lambda p: cells[(p, load)].med)
                against = '%s %s' % (best, cells[(best, load)].text)
                if cell.med is None:
                    ratio, met = '-', 'NO'
                else:
                    value = cell.med / cells[(best, load)].med
                    ratio = '%.2f' % value
                    met = 'yes' if value >= MUX_PEER_TARGET else 'NO'
            rows.append(('%s / best Python peer' % load, name, cell.text,
                         against, ratio, '>= %.1f' % MUX_PEER_TARGET, met))
    if 'L1' in loads:
        sink = cells[('smtp-sink', 'L1')]
        for name in muxes:
            cell = cells[(name, 'L1')]
            if cell.med is None or not sink.med:
                ratio, met = '-', 'NO' if sink.med else '?'
            else:
                ratio = '%.2f' % (cell.med / sink.med)
                met = 'yes' if cell.med / sink.med >= MUX_SINK_TARGET \
                    else 'NO'
            rows.append(('L1 / smtp-sink', name, cell.text,
                         'smtp-sink %s' % sink.text, ratio,
                         '>= %.1f' % MUX_SINK_TARGET, met))

    def against_fork(label, new, old, fork, higher_is_better):
        ratio, met = no_worse(new, old, higher_is_better)
        rows.append((label, name, new.text, '%s %s' % (fork, old.text),
                     ratio, '>= 1.00 (no worse)' if higher_is_better else
                     '<= 1.00 (no worse)', met))

    for name in muxes:
        fork = name.replace('pymta-mux', 'pymta-fork')
        if fork not in servers:
            rows.append(('mux / fork path', name, '-', fork + ' not in run',
                         '-', '', '?'))
            continue
        if 'L4' in loads:
            against_fork('L4 MB/s, mux / fork path', cells[(name, 'L4')],
                         cells[(fork, 'L4')], fork, True)
        if 'rss' in measures:
            for key, label, scale, unit in RSS_ROWS[:2]:
                against_fork(label.split(' (')[0] + ', mux / fork path',
                             memory_cell(results, 'rss', key, name, scale,
                                         unit),
                             memory_cell(results, 'rss', key, fork, scale,
                                         unit), fork, False)
        if 'held' in measures:
            for key, label, scale, unit in HELD_ROWS:
                against_fork(label.split(' (')[0] + ', mux / fork path',
                             memory_cell(results, 'held', key, name, scale,
                                         unit),
                             memory_cell(results, 'held', key, fork, scale,
                                         unit), fork, False)
    # one group per label, in the order the labels first came
    first = {}
    for row in rows:
        first.setdefault(row[0], len(first))
    rows.sort(key=lambda r: first[r[0]])
    return format_rows(header, rows)


# --- main --------------------------------------------------------------------
def parse_list(text, allowed, what):
    if text is None:
        return list(allowed)
    chosen = []
    for item in text.split(','):
        item = item.strip()
        matches = [a for a in allowed if a == item] or \
            [a for a in allowed if a.startswith(item)]
        if not matches:
            raise SystemExit('unknown %s %r; choose from: %s'
                             % (what, item, ', '.join(allowed)))
        chosen.extend(m for m in matches if m not in chosen)
    return chosen


def profile(args):
    """cProfile of the serial server (one process runs the serving loop and
    the SMTP core) while smtp-source runs each chosen load once."""
    names = parse_list(args.servers or 'pymta-serial-3.11',
                       [n for n in SERVERS if n.startswith('pymta-serial')],
                       'server (--profile: pymta-serial-*)')
    loads = parse_list(args.loads or 'L2', MEASURES[:4], 'load')
    try:
        check_setup(names, loads)
    except SetupMissing as e:
        log(str(e))
        return 2
    label, tree = describe_tree(), snapshot()
    report = os.path.join(tree, 'profile.txt')
    try:
        for name in names:
            server = Server(name, tree, extra=['--profile', report])
            try:
                server.start()
                for load in loads:
                    seconds, reason = run_source(
                        server.port, load_options(load, args.quick),
                        LOADS[load][1])
                    log('%s %s: %s' % (name, load,
                                       reason or '%.2f s' % seconds))
            finally:
                server.stop()
            print('cProfile of %s (pymta %s) under %s (time in poll/select '
                  'is waiting for the client):'
                  % (name, label, ', '.join(loads)))
            try:
                with open(report) as f:
                    print(f.read())
                os.unlink(report)
            except OSError:
                print('(no profile written)')
    finally:
        shutil.rmtree(tree, ignore_errors=True)
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='Benchmark pymta against reference SMTP servers.',
        epilog='Measures: %s. Servers: %s.' % (', '.join(MEASURES),
                                               ', '.join(SERVERS)))
    parser.add_argument('--servers', help='comma-separated names or '
                        'prefixes (e.g. pymta-fork); smtp-sink is always '
                        'added for the ratios')
    parser.add_argument('--loads', help='comma-separated measures: '
                        'L1,L2,L3,L4,rss,held,cycle,core (default: all)')
    parser.add_argument('--reps', type=int, default=None,
                        help='repetitions of each load and RSS measurement '
                        '(default 3, --quick 1)')
    parser.add_argument('--quick', action='store_true',
                        help='1 repetition, loads with fewer messages '
                        '(L1 500, L2 1000, L3 500, L4 2), 20 test cycles')
    parser.add_argument('--json', metavar='FILE',
                        help='also write every sample to FILE')
    parser.add_argument('--profile', action='store_true',
                        help='instead of measuring: run the loads (default '
                        'L2) once against the pymta serial server under '
                        'cProfile and print where its time went')
    parser.add_argument('--list', action='store_true',
                        help='print the server and measure names and exit')
    args = parser.parse_args(argv)
    if args.list:
        print('servers: ' + ' '.join(SERVERS))
        print('measures: ' + ' '.join(MEASURES))
        return 0
    if args.profile:
        return profile(args)
    servers = parse_list(args.servers, list(SERVERS), 'server')
    if 'smtp-sink' not in servers:
        servers.insert(0, 'smtp-sink')
    measures = parse_list(args.loads, MEASURES, 'measure')
    reps = args.reps or (1 if args.quick else 3)
    try:
        check_setup(servers, measures)
    except SetupMissing as e:
        log(str(e))
        return 2
    label, tree = describe_tree(), snapshot()
    try:
        versions = set(SERVERS[n][0] for n in servers if n in PYMTA)
        if 'cycle' in measures or 'core' in measures:
            versions.update(VENVS)
        reason = check_imports(sorted(versions), tree)
        if reason:
            log(reason)
            return 1
        started = time.monotonic()
        results = measure_all(servers, measures, reps, args.quick, tree)
    finally:
        shutil.rmtree(tree, ignore_errors=True)
    leftovers = postfix_daemons()
    if leftovers:
        log('WARNING: a Postfix daemon is running: postfix stop')

    loads = [m for m in MEASURES[:4] if m in measures]
    print()
    print('pymta benchmarks: pymta %s; %d repetition(s)%s, %.0f s, %s, '
          '%d cores' % (label, reps,
                        ' (quick: fewer messages)' if args.quick else '',
                        time.monotonic() - started,
                        time.strftime('%Y-%m-%d %H:%M'), os.cpu_count()))
    for load in loads:
        print('  %s: smtp-source %s (bound %d s): %s' % (
            load, ' '.join(load_options(load, args.quick)), LOADS[load][1],
            LOAD_TEXT[load]))
    print('ratio: median / smtp-sink median of the same run; '
          'DNF: did not finish (count of runs), never a number')
    print()
    print(build_table(results, servers, measures, reps))
    verdicts = issue16_table(results, servers, measures)
    if verdicts:
        print()
        print('Issue 16 (multiplexing), ratios of medians of this run. '
              'Best Python peer: the fastest of\n%s that finished every '
              'repetition. "No worse": mux against the fork\npath of the '
              'same Python; "overlap": the two min-max ranges overlap '
              '(not told apart).\n"The default mode no slower than before '
              'this issue": compare.py cd0fa9c (benchmarks/README.md).'
              % ', '.join(PEERS))
        print()
        print(verdicts)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump({'loads': {'%s %s' % k: v for k, v in
                                 results['loads'].items()},
                       'rss': results['rss'],
                       'held': results['held'],
                       'cycle': results.get('cycle'),
                       'core': {'%s %s' % k: v for k, v in
                                results.get('core', {}).items()}},
                      f, indent=1)
    return 0


def rotated(servers, rep, reps):
    """The order of repetition ``rep`` (0-based) of ``reps``: ``servers``
    rotated by rep * (len(servers) // reps) places (at least 1), so that no
    server always goes first and, with 3 repetitions of 10 servers, each
    round starts a third of the way further along (0, 3, 6)."""
    step = max(1, len(servers) // max(1, reps))
    shift = rep * step % len(servers)
    return servers[shift:] + servers[:shift]


def measure_all(servers, measures, reps, quick, tree):
    """Every measurement, the servers interleaved; pymta from ``tree``."""
    started = time.monotonic()
    results = {'loads': {}, 'rss': {}, 'held': {}}
    loads = [m for m in MEASURES[:4] if m in measures]
    for rep in range(reps):
        order = rotated(servers, rep, reps)
        for load in loads:
            for name in order:
                value, reason = measure_load(name, load, quick, tree)
                results['loads'].setdefault((name, load), []).append(
                    (value, reason))
                log('[%4.0fs] rep %d %s %-18s %s' % (
                    time.monotonic() - started, rep + 1, load, name,
                    reason or fmt_num(value, LOADS[load][2]) + ' '
                    + LOADS[load][2]))
        for memory, measure, describe in MEMORY_MEASURES:
            if memory not in measures:
                continue
            for name in order:
                value, reason = measure(name, quick, tree)
                results[memory].setdefault(name, []).append((value, reason))
                log('[%4.0fs] rep %d %s %-18s %s' % (
                    time.monotonic() - started, rep + 1, memory, name,
                    reason or describe(value)))
    if 'cycle' in measures:
        results['cycle'] = measure_cycle(quick, tree)
        log('[%4.0fs] test cycle done' % (time.monotonic() - started))
    if 'core' in measures:
        results['core'] = measure_core(quick, tree)
        log('[%4.0fs] core done' % (time.monotonic() - started))
    return results


if __name__ == '__main__':
    sys.exit(main())
