#!/usr/bin/env python3
"""pymta against the reference SMTP servers: one command, one table.

    python3 benchmarks/run.py                       # everything (~5 min)
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
median, min-max and the ratio to smtp-sink measured in the same run. A load
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
}
PEERS = ['aiosmtpd', 'stdlib-smtpd', 'twisted']
PYMTA = [name for name in SERVERS if name.startswith('pymta')]

# Issue 5's targets (ratios to smtp-sink), checked for the pymta fork rows.
TARGETS = {'L1': 0.6, 'L2': 0.5, 'L3': 0.7, 'L4': 0.6}
RSS_TARGET = 2.5          # growth of the largest process, x message size
CORE_TARGET = 5000        # transactions/s on 3.11
MEASURES = ['L1', 'L2', 'L3', 'L4', 'rss', 'cycle', 'core']


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
    if any(m in measures for m in ('L1', 'L2', 'L3', 'L4', 'rss')):
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


def build_table(results, servers, measures, reps):
    rows = []
    header = ('measure', 'server', 'median', 'min-max', 'ratio', 'target',
              'met')
    loads = [m for m in MEASURES[:4] if m in measures]
    # every median first: a row compares with servers listed after it
    loads_med, cells = {}, {}
    for load in loads:
        for name in servers:
            runs = results['loads'].get((name, load), [])
            values = [v for v, _ in runs]
            reasons = [r for _, r in runs if r]
            med, smed, srange = summary(values, LOADS[load][2])
            if reasons:       # any run that did not finish: no number
                med = None
                smed = 'DNF %d/%d' % (len(reasons), len(runs))
                srange = reasons[0][:40]
            loads_med[(name, load)] = med
            cells[(name, load)] = (smed, srange)
    for load in loads:
        unit = LOADS[load][2]
        sink = loads_med.get(('smtp-sink', load))
        for name in servers:
            med = loads_med[(name, load)]
            smed, srange = cells[(name, load)]
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
        for key, label in (('largest_growth', 'RSS growth, largest proc'),
                           ('tree_growth', 'PSS growth, whole tree'),
                           ('largest_peak', 'RSS peak, largest proc MiB'),
                           ('tree_peak', 'PSS peak, whole tree MiB')):
            for name in servers:
                runs = results['rss'].get(name, [])
                reasons = [r for _, r in runs if r]
                if key.endswith('growth'):
                    unit, scale = 'x msg', 10 * MiB
                else:
                    unit, scale = 'MiB', MiB
                values = [v[key] / scale for v, _ in runs if v]
                med, smed, srange = summary(values, unit)
                if reasons:
                    smed, srange = 'DNF %d/%d' % (len(reasons), len(runs)), \
                        reasons[0][:40]
                target = met = ''
                if key == 'largest_growth' and name.startswith('pymta-fork'):
                    target = '<= %.1f x' % RSS_TARGET
                    met = 'yes' if med is not None and not reasons and \
                        med <= RSS_TARGET else 'NO'
                rows.append((label + ('' if unit == 'MiB' else ' (x 10 MiB)'),
                             name, smed, srange, '', target, met))
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
                        'L1,L2,L3,L4,rss,cycle,core (default: all)')
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
    if args.json:
        with open(args.json, 'w') as f:
            json.dump({'loads': {'%s %s' % k: v for k, v in
                                 results['loads'].items()},
                       'rss': results['rss'],
                       'cycle': results.get('cycle'),
                       'core': {'%s %s' % k: v for k, v in
                                results.get('core', {}).items()}},
                      f, indent=1)
    return 0


def measure_all(servers, measures, reps, quick, tree):
    """Every measurement, the servers interleaved; pymta from ``tree``."""
    started = time.monotonic()
    results = {'loads': {}, 'rss': {}}
    loads = [m for m in MEASURES[:4] if m in measures]
    for rep in range(reps):
        # rotate the order each repetition: no server always goes first
        order = servers[rep % len(servers):] + servers[:rep % len(servers)]
        for load in loads:
            for name in order:
                value, reason = measure_load(name, load, quick, tree)
                results['loads'].setdefault((name, load), []).append(
                    (value, reason))
                log('[%4.0fs] rep %d %s %-18s %s' % (
                    time.monotonic() - started, rep + 1, load, name,
                    reason or fmt_num(value, LOADS[load][2]) + ' '
                    + LOADS[load][2]))
        if 'rss' in measures:
            for name in order:
                value, reason = measure_rss(name, quick, tree)
                results['rss'].setdefault(name, []).append((value, reason))
                log('[%4.0fs] rep %d rss %-18s %s' % (
                    time.monotonic() - started, rep + 1, name,
                    reason or 'largest +%.1f MiB, tree +%.1f MiB' % (
                        value['largest_growth'] / MiB,
                        value['tree_growth'] / MiB)))
    if 'cycle' in measures:
        results['cycle'] = measure_cycle(quick, tree)
        log('[%4.0fs] test cycle done' % (time.monotonic() - started))
    if 'core' in measures:
        results['core'] = measure_core(quick, tree)
        log('[%4.0fs] core done' % (time.monotonic() - started))
    return results


if __name__ == '__main__':
    sys.exit(main())
