#!/usr/bin/env python3
"""pymta of this working tree against another revision, side by side.

    python3 benchmarks/compare.py REV [--rounds 5] [--pythons 3.11,2.7]
                                      [--measures core,fork-L1,...] [--quick]

REV is a git revision (checked out with ``git worktree add`` into a
temporary directory under /tmp and removed again) or the path of another
pymta checkout. Both pymta/ directories are copied under /tmp at the start
(so edits to the working tree during the run change nothing) and the
copies removed at the end. Both run the same benchmark code, this tree's;
only the pymta they import differs. Measures, per Python version:

* ``core``: ``core.py --runs 3``, bytes and text input (transactions/s,
  each round's value the median of its 3 runs);
* ``fork-L1``, ``fork-L2``, ``serial-L1``, ``serial-L2``: run.py's L1 and
  L2 (smtp-source) against a fresh ``servers/pymta_server.py`` of each tree
  (msgs/min).

Each round measures every measure on both trees, one right after the
other, the tree that goes first alternating from round to round. Prints
the medians, min-max, the ratio new/baseline of the medians, the median
and range of the per-round ratios (a round's two measurements are seconds
apart, so the machine's slower drifts cancel out there), and "lower" or
"higher" where the two trees' ranges do not overlap (for two trees
that are equally fast, that happens by chance with a probability of 2 in
C(2n, n) over n rounds: 1 in 10 for 3 rounds, 1 in 126 for 5). Needs what
``bash benchmarks/setup.sh`` installs.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from run import (LOADS, Server, SetupMissing, check_imports, check_setup,
                 core_rates, describe_tree, load_options, log, run_source,
                 snapshot)

BENCH = os.path.dirname(os.path.abspath(__file__))
MEASURES = ['core', 'fork-L1', 'fork-L2', 'serial-L1', 'serial-L2']


def git(*args):
    return subprocess.run(['git', '-C', BENCH] + list(args), check=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True).stdout.strip()


def baseline_snapshot(rev):
    """(label, snapshot of REV's pymta/): REV is the path of a checkout, or
    a git revision, checked out into a temporary worktree just long enough
    to copy its pymta/."""
    if os.path.isdir(os.path.join(rev, 'pymta')):
        path = os.path.abspath(rev)
        return '%s (%s)' % (path, describe_tree(path)), snapshot(path)
    commit = git('rev-parse', '--verify', rev + '^{commit}')
    worktree = tempfile.mkdtemp(prefix='pymta-baseline-')
    try:
        git('worktree', 'add', '--detach', worktree, commit)
        return '%s (%s)' % (rev, commit[:7]), snapshot(worktree)
    finally:
        try:
            git('worktree', 'remove', '--force', worktree)
        except subprocess.CalledProcessError as e:
            log('could not remove the worktree %s: %s'
                % (worktree, e.stderr.strip()))
        shutil.rmtree(worktree, ignore_errors=True)


def measure(measure, version, root, quick):
    """{label: value} for one measure on one tree, or {label: None} and the
    reason."""
    if measure == 'core':
        data, reason = core_rates(version, 3, 0.5 if quick else 1.0, root)
        if data is None:
            return {'core bytes': None, 'core text': None}, reason
        return {'core bytes': statistics.median(data['bytes']),
                'core text': statistics.median(data['text'])}, None
    path, load = measure.split('-')
    server = Server('pymta-%s-%s' % (path, version), root=root)
    try:
        server.start()
    except RuntimeError as e:
        return {measure: None}, str(e)
    options = load_options(load, quick)
    try:
        seconds, reason = run_source(server.port, options, LOADS[load][1])
    finally:
        server.stop()
    count = int(options[options.index('-m') + 1])
    return {measure: count / seconds * 60 if seconds else None}, reason


def fmt(value):
    return '{:,.0f}'.format(value)


def table(results, trees):
    header = ('measure', 'python', 'new: median (min-max)',
              'baseline: median (min-max)', 'new/base',
              'paired: median (min-max)', 'ranges')
    rows = []
    for (label, version), by_tree in results.items():
        cells = [label + (' tps' if label.startswith('core') else
                          ' msgs/min'), version]
        meds = {}
        for tree in trees:
            values = by_tree.get(tree, [])
            ok = [v for v in values if v is not None]
            if len(ok) < len(values) or not ok:
                cells.append('failed %d/%d' % (len(values) - len(ok),
                                               len(values)))
                continue
            meds[tree] = statistics.median(ok)
            cells.append('%s (%s-%s)' % (fmt(meds[tree]), fmt(min(ok)),
                                         fmt(max(ok))))
        if len(meds) < 2:
            rows.append(cells + ['-', '-', ''])
            continue
        new, base = (by_tree[t] for t in trees)
        paired = [n / b for n, b in zip(new, base)]
        cells.append('%.2f' % (meds[trees[0]] / meds[trees[1]]))
        cells.append('%.2f (%.2f-%.2f)' % (statistics.median(paired),
                                           min(paired), max(paired)))
        cells.append('lower' if max(new) < min(base) else
                     'higher' if min(new) > max(base) else 'overlap')
        rows.append(cells)
    widths = [max(len(r[i]) for r in rows + [header])
              for i in range(len(header))]
    line = '  '.join('%%-%ds' % w if i < 2 else '%%%ds' % w
                     for i, w in enumerate(widths))
    out = [line % header, '  '.join('-' * w for w in widths)]
    out += [(line % tuple(r)).rstrip() for r in rows]
    return '\n'.join(out)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='pymta of this working tree against another revision.')
    parser.add_argument('rev', help='git revision or path of a checkout')
    parser.add_argument('--rounds', type=int, default=5,
                        help='rounds (default 5)')
    parser.add_argument('--pythons', default='3.11',
                        help='comma-separated: 3.11, 2.7 (default 3.11)')
    parser.add_argument('--measures', default=','.join(MEASURES),
                        help='comma-separated from: %s' % ', '.join(MEASURES))
    parser.add_argument('--quick', action='store_true',
                        help="run.py's --quick loads, half-second core runs")
    args = parser.parse_args(argv)
    versions = [v for v in args.pythons.split(',') if v]
    measures = [m for m in args.measures.split(',') if m]
    if set(measures) - set(MEASURES) or set(versions) - {'3.11', '2.7'}:
        parser.error('choose measures from %s, pythons from 3.11, 2.7'
                     % ', '.join(MEASURES))
    servers = ['pymta-%s-%s' % (m.split('-')[0], v)
               for m in measures if m != 'core' for v in versions]
    try:
        check_setup(servers, ['L1', 'L2', 'core'] if servers else ['core'])
    except SetupMissing as e:
        log(str(e))
        return 2

    new_label = 'working tree (%s)' % describe_tree()
    new = snapshot()
    try:
        base_label, base = baseline_snapshot(args.rev)
    except Exception:
        shutil.rmtree(new, ignore_errors=True)
        raise
    trees = [new, base]
    names = {new: 'new', base: 'base'}
    results = {}
    started = time.monotonic()
    try:
        reason = check_imports(versions, new) or check_imports(versions, base)
        if reason:
            log(reason)
            return 1
        for rnd in range(args.rounds):
            order = trees if rnd % 2 == 0 else trees[::-1]
            for version in versions:
                for m in measures:
                    for tree in order:
                        values, reason = measure(m, version, tree, args.quick)
                        for label, value in values.items():
                            results.setdefault((label, version), {}) \
                                .setdefault(tree, []).append(value)
                        log('[%4.0fs] round %d %s %-9s %-4s %s' % (
                            time.monotonic() - started, rnd + 1, version, m,
                            names[tree], reason or ', '.join(
                                fmt(v) for v in values.values())))
    finally:
        for tree in trees:
            shutil.rmtree(tree, ignore_errors=True)
    print()
    print('pymta compare: new = %s, baseline = %s' % (new_label,
                                                      base_label))
    print('%d round(s)%s, %.0f s, %s, %d cores; same benchmark code for both'
          % (args.rounds, ' (quick)' if args.quick else '',
             time.monotonic() - started, time.strftime('%Y-%m-%d %H:%M'),
             os.cpu_count()))
    print('new/base: ratio of the medians; paired: new/base within each '
          'round; ranges: "lower"/"higher"\nwhen the min-max of new and '
          'baseline do not overlap, else "overlap" (within the noise)')
    print()
    print(table(results, trees))
    return 0


if __name__ == '__main__':
    sys.exit(main())
