# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
"""Robustness with multiplexing on (issue 16): clients that close or reset
their connection at every point of a dialogue while a healthy client
shares the worker (or the serial path's serving thread), a soak of
sessions that randomly complete or abort (against every mode: "a 250
means delivered exactly once" is a promise of each), and swaks and
pipelining against a multiplexing server. Real sockets, loopback only,
every load bounded in count and time.

The dialogues are lists of ``Unit``s (what the client sends, the reply it
then waits for); ``cut_points`` cuts one at every command boundary, in
the middle of every line and between every CR and LF, so no case is
written by hand.
"""

from __future__ import absolute_import

import collections
import errno
import os
import random
import smtplib
import socket
import struct
import subprocess
import threading
import time
import traceback
import unittest

from .mta_support import TIMEOUT, OnForkPath, RawClient, ServerTestCase, \
    child_pids, swaks_or_skip


_now = getattr(time, 'monotonic', time.time)

#: the healthy clients' HELO name: ScriptedPolicy answers it with the pid
#: of the process that serves them
PID_HELO = b'pid'


# --- dialogues and where to cut them -----------------------------------------
class Unit(object):
    """What the client sends in one go (a command line, a line of message
    data, a BDAT command with its chunk) and the reply code it then waits
    for (None: no reply, e.g. a line of message data). ``final``: the end
    of the message (the data's dot, the last BDAT chunk): once it is sent
    the message is delivered."""

    def __init__(self, data, reply, final=False):
        self.data = data
        self.reply = reply
        self.final = final


def message_dialogue(sender):
    """A whole session with HELO and DATA; ``sender`` (bytes) names the
    message."""
    return [
        Unit(b'HELO cut.example\r\n', 250),
        Unit(b'MAIL FROM:<' + sender + b'>\r\n', 250),
        Unit(b'RCPT TO:<to@example.com>\r\n', 250),
        Unit(b'DATA\r\n', 354),
        Unit(b'Subject: cut\r\n', None),
        Unit(b'\r\n', None),
        Unit(b'first line\r\n', None),
        Unit(b'..a line with a leading dot\r\n', None),
        Unit(b'.\r\n', 250, final=True),
        Unit(b'QUIT\r\n', 221),
    ]


#: what message_dialogue's message arrives as
MESSAGE_TEXT = 'Subject: cut\n\nfirst line\n.a line with a leading dot'

BDAT_FIRST = b'Subject: bdat\r\n\r\nfirst chunk\r\n'
BDAT_LAST = b'last chunk\r\n'


def bdat_dialogue(sender):
    """A whole session with two BDAT chunks (CHUNKING)."""
    return [
        Unit(b'EHLO cut.example\r\n', 250),
        Unit(b'MAIL FROM:<' + sender + b'>\r\n', 250),
        Unit(b'RCPT TO:<to@example.com>\r\n', 250),
        Unit(b'BDAT %d\r\n' % len(BDAT_FIRST) + BDAT_FIRST, 250),
        Unit(b'BDAT %d LAST\r\n' % len(BDAT_LAST) + BDAT_LAST, 250,
             final=True),
        Unit(b'QUIT\r\n', 221),
    ]


# (the last line end is not part of the text, as with DATA)
BDAT_TEXT = 'Subject: bdat\n\nfirst chunk\nlast chunk'

DIALOGUES = {'data': (message_dialogue, MESSAGE_TEXT),
             'bdat': (bdat_dialogue, BDAT_TEXT)}


def inner_offsets(data):
    """Where to cut inside ``data``: after every line end but the last, in
    the middle of every line and between every CR and LF."""
    offsets = set()
    start = 0
    while start < len(data):
        end = data.find(b'\r\n', start)
        end = len(data) if end < 0 else end + 2
        offsets.update([end, start + (end - start) // 2, end - 1])
        start = end
    return sorted(o for o in offsets if 0 < o < len(data))


class Cut(object):
    """A point of a dialogue: the first ``whole`` units sent whole (the
    reply to each read, but for the last of them only if ``read_last``),
    then ``partial`` octets of the next. ``greeting``: the client reads the
    greeting first."""

    def __init__(self, whole, partial=0, read_last=True, greeting=True):
        self.whole = whole
        self.partial = partial
        self.read_last = read_last
        self.greeting = greeting

    def describe(self, units):
        if not self.greeting:
            return 'before reading the greeting'
        if not self.whole and not self.partial:
            return 'after the greeting'
        text = 'after %r' % (b''.join(u.data for u in units[:self.whole]),)
        if self.whole and units[self.whole - 1].reply is not None:
            text += ' (its last reply %s)' % (
                'read' if self.read_last else 'not read')
        if self.partial:
            text += ' and %r' % (units[self.whole].data[:self.partial],)
        return text

    def dot_sent(self, units):
        """True if the end of the message was sent."""
        return any(unit.final for unit in units[:self.whole])

    def acknowledged(self, units):
        """True if the client read the reply to the end of the message."""
        for index, unit in enumerate(units[:self.whole]):
            if unit.final:
                return index < self.whole - 1 or self.read_last
        return False


def cut_points(units):
    """Every point to cut ``units`` at (the whole dialogue, too)."""
    cuts = [Cut(0, greeting=False), Cut(0)]
    for index, unit in enumerate(units):
        for offset in inner_offsets(unit.data):
            cuts.append(Cut(index, offset))
        if unit.reply is not None:
            cuts.append(Cut(index + 1, read_last=False))
        cuts.append(Cut(index + 1))
    return cuts


def play(client, units, cut):
    """Send ``units`` up to ``cut`` (in step with the replies); False if the
    server turned the client away (421 too busy instead of the 220)."""
    if not cut.greeting:
        return True
    code, lines = client.read_reply()
    if code == 421 and 'too busy' in lines[0]:
        return False
    assert code == 220, (code, lines)
    for index, unit in enumerate(units[:cut.whole]):
        client.send(unit.data)
        if unit.reply is not None and (index < cut.whole - 1 or
                                       cut.read_last):
            code, lines = client.read_reply()
            assert code == unit.reply, (unit.data, code, lines)
    if cut.partial:
        client.send(units[cut.whole].data[:cut.partial])
    return True


# --- clients -----------------------------------------------------------------
class Client(RawClient):
    """A RawClient whose socket may get small buffers (set before
    connecting, so the window is small from the start). Without Nagle's
    delay: what it sends leaves at once (else a reset may throw away a
    last line still waiting for the acknowledgement of the one before,
    and the test would blame the server for a dot it never got)."""

    def __init__(self, port, small_buffers=False):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if small_buffers:
                for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
                    sock.setsockopt(socket.SOL_SOCKET, option, 4096)
            sock.settimeout(TIMEOUT)
            sock.connect(('127.0.0.1', port))
        except Exception:
            sock.close()
            raise
        self.sock = sock
        self.buffer = b''


ABORTS = ('close', 'reset', 'half-close')


def abort(sock, how):
    """End the connection: ``close`` (a FIN; a reset where replies are
    unread), ``reset`` (SO_LINGER 0: always a reset) or ``half-close`` (a
    FIN, then read until the server closes too: it must, within
    TIMEOUT)."""
    if how == 'reset':
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                        struct.pack('ii', 1, 0))
    elif how == 'half-close':
        try:
            sock.settimeout(TIMEOUT)
            sock.shutdown(socket.SHUT_WR)
            while sock.recv(65536):
                pass
        finally:
            sock.close()
        return
    sock.close()


def fds(pid):
    """The open fds of process ``pid``: {fd: what it is}."""
    directory = '/proc/%d/fd' % pid
    found = {}
    for name in os.listdir(directory):
        try:
            found[int(name)] = os.readlink(os.path.join(directory, name))
        except OSError:
            pass    # (closed meanwhile)
    return found


def have_proc():
    return os.path.isdir('/proc/self/fd')


class RobustnessTests(object):
    """Helpers, mixed into a ServerTestCase; a subclass sets
    ``use_multiprocessing``."""

    use_multiprocessing = None

    def serving_pids(self, server):
        """The processes that serve clients: the workers (fork path) or
        the server process (serial path)."""
        if self.use_multiprocessing:
            return sorted(child_pids(server.pid))
        return [server.pid]

    def assert_served(self, server, sender='after@example.com'):
        """The server still serves a normal client."""
        connection = smtplib.SMTP('127.0.0.1', server.port, timeout=TIMEOUT)
        try:
            self.assertEqual({}, connection.sendmail(
                sender, ['to@example.com'], 'Subject: after\n\nstill served'))
            self.assertEqual(221, connection.quit()[0])
        finally:
            connection.close()

    def assert_stops_cleanly(self, server):
        """Stop the server: exit 0, no traceback, no worker that ended
        unexpectedly or could not start."""
        status, output = server.stop()
        log = server.stderr_text()
        self.assertEqual((0, b'STOPPED\n'), (status, output), log)
        for sign in ('Traceback', 'ended (exit code', 'could not start',
                     'error while'):
            self.assertFalse(sign in log, log)

    def assert_fds_back(self, baseline, about='', timeout=5.0):
        """Wait until every process of ``baseline`` (pid -> its fds) has
        no fd more than then (a socket the client saw closed may not be
        closed in the server yet: there is no event for a process closing
        a file)."""
        deadline = _now() + timeout
        while True:
            now = dict((pid, fds(pid)) for pid in baseline)
            if all(len(now[pid]) <= len(baseline[pid]) for pid in baseline):
                return
            if _now() > deadline:
                break
            time.sleep(0.02)
        grown = dict((pid, sorted(set(now[pid].items()) -
                                  set(baseline[pid].items())))
                     for pid in baseline
                     if len(now[pid]) > len(baseline[pid]))
        self.fail('fds left open (pid: new fds): %r; before: %r %s' % (
            grown, baseline, about))


# --- 1. disconnects at every point -------------------------------------------
class DisconnectTests(RobustnessTests):
    """One worker (fork path) or the serving thread (serial path) with
    room for four connections: each aborted session shares it with a
    healthy one that is in the middle of its message data."""

    options = {'connections_per_worker': 4, 'max_workers': 1,
               'min_spare_workers': 1,
               'extensions': ['CHUNKING', 'PIPELINING']}

    def start(self):
        server = self.start_server(self.use_multiprocessing, **self.options)
        self.serving_pid = None
        return server

    def start_healthy(self, server, sender):
        """A client that is in the middle of its message data."""
        client = Client(server.port)
        try:
            self.assertEqual(220, client.read_reply()[0])
            client.send(b'HELO ' + PID_HELO + b'\r\n')
            code, lines = client.read_reply()
            self.assertEqual(250, code)
            pid = int(lines[0].split()[1])
            if self.serving_pid is None:
                self.serving_pid = pid
            # always the same worker: it did not die and was not replaced
            self.assertEqual(self.serving_pid, pid)
            client.send(b'MAIL FROM:<' + sender + b'>\r\n'
                        b'RCPT TO:<to@example.com>\r\nDATA\r\n')
            self.assertEqual([250, 250, 354],
                             [client.read_reply()[0] for _ in range(3)])
            client.send(b'Subject: healthy\r\n\r\nfirst half')
        except Exception:
            client.close()
            raise
        return client

    def finish_healthy(self, client):
        try:
            client.send(b', second half\r\n.\r\nQUIT\r\n')
            self.assertEqual((250, ['OK']), client.read_reply())
            self.assertEqual(221, client.read_reply()[0])
            self.assertEqual(b'', client.read_to_eof())
        finally:
            client.close()

    def run_cuts(self, server, dialogue_name):
        """Every cut of the dialogue, closed and reset, each next to a
        healthy client; returns {sender: (label, dot sent)} and the
        healthy senders."""
        make_dialogue = DIALOGUES[dialogue_name][0]
        cuts = cut_points(make_dialogue(b'cut-000-x@example.com'))
        expected = {}
        healthy_senders = []
        number = 0
        for how in ABORTS:
            for cut in cuts:
                number += 1
                sender = '%s-%03d-%s@example.com' % (dialogue_name, number,
                                                     how[0])
                units = make_dialogue(sender.encode('ascii'))
                label = '%s %s' % (how, cut.describe(units))
                healthy_sender = 'healthy-%s-%03d@example.com' % (
                    dialogue_name, number)
                healthy = self.start_healthy(server,
                                             healthy_sender.encode('ascii'))
                client = Client(server.port)
                try:
                    self.assertTrue(play(client, units, cut), label)
                finally:
                    abort(client.sock, how)
                try:
                    self.finish_healthy(healthy)
                except Exception:
                    raise AssertionError('the healthy client after %s: %s' % (
                        label, traceback.format_exc()))
                expected[sender] = (label, cut.dot_sent(units))
                healthy_senders.append(healthy_sender)
        return expected, healthy_senders

    def assert_delivered(self, server, expected, healthy_senders, text):
        """After the server stopped: each healthy message and each message
        whose end was sent delivered exactly once, no other."""
        messages = server.messages()
        counts = collections.Counter(m.smtp_from for m in messages)
        wrong = []
        for sender, (label, dot_sent) in sorted(expected.items()):
            if counts[sender] != (1 if dot_sent else 0):
                wrong.append('%s: delivered %d times' % (label,
                                                         counts[sender]))
        for sender in healthy_senders:
            if counts[sender] != 1:
                wrong.append('%s delivered %d times' % (sender,
                                                        counts[sender]))
        self.assertEqual([], wrong)
        self.assertEqual(1, counts['after@example.com'])
        self.assertEqual(len(healthy_senders) + 1 + len(
            [s for s, (_, dot_sent) in expected.items() if dot_sent]),
            len(messages))
        for msg in messages:
            if msg.smtp_from in expected:
                self.assertEqual(text, msg.msg_data, msg.smtp_from)
                self.assertEqual(['to@example.com'], msg.smtp_to)

    def check_dialogue(self, dialogue_name):
        server = self.start()
        expected, healthy = self.run_cuts(server, dialogue_name)
        self.assertTrue([1 for _, dot_sent in expected.values() if dot_sent])
        self.assert_served(server)
        self.assert_stops_cleanly(server)
        self.assert_delivered(server, expected, healthy,
                              DIALOGUES[dialogue_name][1])

    def test_disconnects_at_every_point_of_a_data_dialogue(self):
        self.check_dialogue('data')

    def test_disconnects_at_every_point_of_a_bdat_dialogue(self):
        self.check_dialogue('bdat')

    def test_disconnects_while_the_server_writes_many_replies(self):
        server = self.start()
        for number, how in enumerate(ABORTS):
            healthy = self.start_healthy(server, b'healthy-%d@example.com'
                                         % number)
            flood = Client(server.port, small_buffers=True)
            try:
                self.assertEqual(220, flood.read_reply()[0])
                flood.send(b'EHLO flood\r\n')
                # far more replies than the socket buffers hold, never
                # read: the server stops reading (back-pressure) with
                # replies in its buffer, and then the sending stalls
                block = b'HELP\r\n' * 1000
                flood.sock.setblocking(False)
                sent = 0
                try:
                    while sent < 16 * 1024 * 1024:
                        sent += flood.sock.send(block)
                except socket.error as e:
                    self.assertTrue(e.errno in (errno.EAGAIN,
                                                errno.EWOULDBLOCK), e)
                else:
                    self.fail('the server read %d octets of commands whose '
                              'replies nobody read' % sent)
            finally:
                abort(flood.sock, how)
            self.finish_healthy(healthy)
        self.assert_served(server)
        self.assert_stops_cleanly(server)
        self.assertEqual(['after@example.com'] + [
            'healthy-%d@example.com' % n for n in range(len(ABORTS))],
            sorted(m.smtp_from for m in server.messages()))

    def test_disconnects_leave_no_fd_behind(self):
        if not have_proc():
            raise unittest.SkipTest('counts the fds of the serving process '
                                    'in /proc/<pid>/fd; there is no /proc')
        server = self.start()
        self.assert_served(server, 'before@example.com')
        [pid] = self.serving_pids(server)
        baseline = {pid: fds(pid)}
        self.run_cuts(server, 'data')
        self.run_cuts(server, 'bdat')
        self.assert_fds_back(baseline)
        self.assert_served(server)
        self.assert_stops_cleanly(server)

    # --- 3. pipelining and swaks ---------------------------------------------
    def test_swaks_pipelining_while_another_session_is_in_its_data(self):
        swaks = swaks_or_skip(self)
        server = self.start()
        healthy = self.start_healthy(server, b'healthy@example.com')
        process = subprocess.Popen(
            [swaks, '--server', '127.0.0.1:%d' % server.port, '--timeout',
             '10', '--pipeline', '--helo', 'swaks.example', '--from',
             'swaks@example.com', '--to', 'to@example.com', '--header',
             'Subject: from swaks', '--body', 'sent by swaks'],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        output = process.communicate()[0].decode('utf-8', 'replace')
        self.assertEqual(0, process.returncode, output)
        # swaks pipelined: MAIL, RCPT and DATA went out before a reply
        self.assertTrue(' -> MAIL FROM:<swaks@example.com>\n'
                        ' -> RCPT TO:<to@example.com>\n -> DATA\n'
                        '<-  250 OK\n<-  250 OK\n<-  354 ' in output, output)
        self.finish_healthy(healthy)
        self.assert_stops_cleanly(server)
        messages = dict((m.smtp_from, m) for m in server.messages())
        self.assertEqual(['healthy@example.com', 'swaks@example.com'],
                         sorted(messages))
        swaks_message = messages['swaks@example.com']
        self.assertEqual('swaks.example', swaks_message.smtp_helo)
        self.assertEqual('sent by swaks', swaks_message.msg_data.split(
            '\n\n', 1)[1].rstrip('\n'))

    def test_several_messages_on_one_connection_while_another_is_in_data(self):
        server = self.start()
        healthy = self.start_healthy(server, b'healthy@example.com')
        connection = smtplib.SMTP('127.0.0.1', server.port, timeout=TIMEOUT)
        try:
            connection.ehlo('smtplib.example')
            self.assertTrue(connection.has_extn('pipelining'))
            for number in range(5):
                self.assertEqual({}, connection.sendmail(
                    'smtplib-%d@example.com' % number, ['to@example.com'],
                    'Subject: %d\n\nmessage %d' % (number, number)))
                # the other session's data goes on in between
                healthy.send(b', part %d' % number)
            self.assertEqual(221, connection.quit()[0])
        finally:
            connection.close()
        self.finish_healthy(healthy)
        self.assert_stops_cleanly(server)
        messages = dict((m.smtp_from, m) for m in server.messages())
        self.assertEqual(
            ['healthy@example.com'] +
            ['smtplib-%d@example.com' % n for n in range(5)],
            sorted(messages))
        self.assertEqual('Subject: healthy\n\nfirst half, part 0, part 1, '
                         'part 2, part 3, part 4, second half',
                         messages['healthy@example.com'].msg_data)
        for number in range(5):
            self.assertEqual('Subject: %d\n\nmessage %d' % (number, number),
                             messages['smtplib-%d@example.com' % number]
                             .msg_data)


class MultiplexingForkDisconnectTest(OnForkPath, DisconnectTests,
                                     ServerTestCase):
    pass


class MultiplexingSerialDisconnectTest(DisconnectTests, ServerTestCase):
    use_multiprocessing = False


# --- 2. the soak -------------------------------------------------------------
#: session kinds and their weights
SESSION_KINDS = [('smtplib', 2), ('smtplib-abort', 2), ('raw', 1),
                 ('raw-pipelined', 1), ('raw-abort', 4)]


class Soak(object):
    """Client threads that each run sessions, randomly completing or
    aborting; ``states``: sender -> 'cut' (the end of the message never
    sent), 'sent' (sent, but the 250 not read) or 'acked' (the 250 read)."""

    def __init__(self, port, seed, threads, sessions, time_limit):
        self.port = port
        self.seed = seed
        self.threads = threads
        self.sessions = sessions
        self.deadline = _now() + time_limit
        self.lock = threading.Lock()
        self.states = {}
        self.errors = []
        self.turned_away = 0
        self.done = 0
        self.kinds = []
        for kind, weight in SESSION_KINDS:
            self.kinds.extend([kind] * weight)
        self.cuts = dict((name, cut_points(make(b'x')))
                         for name, (make, _) in DIALOGUES.items())

    def run(self):
        threads = [threading.Thread(target=self.client_thread, args=(n,))
                   for n in range(self.threads)]
        for thread in threads:
            thread.daemon = True
            thread.start()
        for thread in threads:
            thread.join(max(0.0, self.deadline - _now()) + TIMEOUT)
        return not [thread for thread in threads if thread.is_alive()]

    def note(self, sender, state):
        with self.lock:
            self.states[sender] = state

    def client_thread(self, number):
        rng = random.Random('%s-%d' % (self.seed, number))
        for session in range(self.sessions):
            if _now() > self.deadline:
                with self.lock:
                    self.errors.append('thread %d: out of time after %d '
                                       'sessions' % (number, session))
                return
            kind = rng.choice(self.kinds)
            tag = '%s-%d-%d' % (kind, number, session)
            try:
                getattr(self, kind.replace('-', '_'))(rng, tag)
            except Exception:
                with self.lock:
                    self.errors.append('thread %d session %d (%s): %s' % (
                        number, session, kind, traceback.format_exc()))
            with self.lock:
                self.done += 1

    def away(self):
        with self.lock:
            self.turned_away += 1

    def connect_smtplib(self):
        try:
            return smtplib.SMTP('127.0.0.1', self.port, timeout=TIMEOUT)
        except smtplib.SMTPConnectError as e:
            if e.smtp_code == 421 and b'too busy' in e.smtp_error:
                self.away()
                return None
            raise

    def smtplib(self, rng, tag):
        connection = self.connect_smtplib()
        if connection is None:
            return
        try:
            for number in range(rng.randint(1, 3)):
                sender = '%s-%d@example.com' % (tag, number)
                # (if sendmail raises, the message may or may not be in)
                self.note(sender, 'sent')
                refused = connection.sendmail(
                    sender, ['to@example.com'],
                    'Subject: %s\n\nsoak message' % sender)
                assert refused == {}, refused
                self.note(sender, 'acked')
            connection.quit()
        finally:
            connection.close()

    def smtplib_abort(self, rng, tag):
        connection = self.connect_smtplib()
        if connection is None:
            return
        sender = '%s@example.com' % tag
        self.note(sender, 'cut')
        try:
            # (as Client: what is sent leaves before the reset)
            connection.sock.setsockopt(socket.IPPROTO_TCP,
                                       socket.TCP_NODELAY, 1)
            connection.ehlo('soak.example')
            assert connection.mail(sender)[0] == 250
            assert connection.rcpt('to@example.com')[0] == 250
            assert connection.docmd('DATA')[0] == 354
            data = b'Subject: aborted\r\n\r\nsoak message\r\n.\r\n'
            length = rng.randint(0, len(data))
            if length == len(data):
                self.note(sender, 'sent')
            connection.sock.sendall(data[:length])
            abort(connection.sock, rng.choice(ABORTS))
        finally:
            connection.close()

    def raw_session(self, rng, tag, name, cut):
        sender = '%s@example.com' % tag
        units = DIALOGUES[name][0](sender.encode('ascii'))
        self.note(sender, 'cut')
        client = Client(self.port)
        try:
            if not play(client, units, cut):
                self.away()
                return
            if cut.dot_sent(units):
                self.note(sender, 'acked' if cut.acknowledged(units)
                          else 'sent')
            if cut.whole == len(units) and cut.read_last:
                assert client.read_to_eof() == b''
        finally:
            abort(client.sock, rng.choice(ABORTS))

    def raw(self, rng, tag):
        name = rng.choice(sorted(DIALOGUES))
        units = DIALOGUES[name][0](b'x')
        self.raw_session(rng, tag, name, Cut(len(units)))

    def raw_abort(self, rng, tag):
        name = rng.choice(sorted(DIALOGUES))
        self.raw_session(rng, tag, name, rng.choice(self.cuts[name]))

    def raw_pipelined(self, rng, tag):
        sender = ('%s@example.com' % tag).encode('ascii')
        self.note(sender.decode('ascii'), 'cut')
        client = Client(self.port)
        try:
            code, lines = client.read_reply()
            if code == 421 and 'too busy' in lines[0]:
                self.away()
                return
            assert code == 220, (code, lines)
            client.send(b'EHLO soak.example\r\n')
            assert client.read_reply()[0] == 250
            client.send(b'MAIL FROM:<' + sender + b'>\r\n'
                        b'RCPT TO:<to@example.com>\r\nDATA\r\n')
            codes = [client.read_reply()[0] for _ in range(3)]
            assert codes == [250, 250, 354], codes
            self.note(sender.decode('ascii'), 'sent')
            client.send(b'Subject: pipelined\r\n\r\nsoak\r\n.\r\nQUIT\r\n')
            assert client.read_reply()[0] == 250
            self.note(sender.decode('ascii'), 'acked')
            assert client.read_reply()[0] == 221
            assert client.read_to_eof() == b''
        finally:
            client.close()


class SoakTests(RobustnessTests):
    """``server_options``: the mode under test; ``use_multiprocessing``:
    the path."""

    server_options = None
    THREADS = 6
    SESSIONS = 50           # per thread
    TIME_LIMIT = 30.0       # seconds for all sessions

    def start(self):
        options = dict(self.server_options,
                       extensions=['CHUNKING', 'PIPELINING'])
        return self.start_server(self.use_multiprocessing, **options)

    def warm_up(self, server):
        """Fill every place of every worker, so that each is in its
        loop, then end those sessions; returns the serving pids."""
        options = self.server_options
        workers = options.get('max_workers', 1) \
            if self.use_multiprocessing else 1
        clients = []
        try:
            for _ in range(workers * options.get('connections_per_worker',
                                                 1)):
                client = Client(server.port)
                clients.append(client)
                self.assertEqual(220, client.read_reply()[0])
                client.send(b'HELO ' + PID_HELO + b'\r\n')
                code, lines = client.read_reply()
                self.assertEqual(250, code)
                client.pid = int(lines[0].split()[1])
            pids = sorted(set(client.pid for client in clients))
            self.assertEqual(self.serving_pids(server), pids)
            for client in clients:
                client.send(b'QUIT\r\n')
                self.assertEqual(221, client.read_reply()[0])
                self.assertEqual(b'', client.read_to_eof())
        finally:
            for client in clients:
                client.close()
        return pids

    def soak(self, server, sessions):
        seed = os.environ.get('PYMTA_SOAK_SEED') or str(
            random.SystemRandom().randint(0, 10 ** 9))
        soak = Soak(server.port, seed, self.THREADS, sessions,
                    self.TIME_LIMIT)
        finished = soak.run()
        about = 'seed %s (PYMTA_SOAK_SEED=%s reruns it), %s' % (
            seed, seed, type(self).__name__)
        self.assertTrue(finished, 'client threads hang; ' + about)
        self.assertEqual([], soak.errors, about)
        self.assertEqual(self.THREADS * sessions, soak.done, about)
        # (turning a client away is allowed, but not most of them)
        self.assertTrue(soak.turned_away < soak.done // 5,
                        '%d turned away; %s' % (soak.turned_away, about))
        return soak, about

    def assert_soak_delivered(self, server, soak, about):
        counts = collections.Counter(m.smtp_from for m in server.messages())
        wrong = []
        for sender, state in sorted(soak.states.items()):
            count = counts.pop(sender, 0)
            allowed = {'acked': (1,), 'sent': (0, 1), 'cut': (0,)}[state]
            if count not in allowed:
                wrong.append('%s (%s): delivered %d times' % (sender, state,
                                                             count))
        self.assertEqual([], wrong, about)
        self.assertEqual(['after@example.com'], sorted(counts), about)
        states = collections.Counter(soak.states.values())
        # (the soak did what it is for)
        self.assertTrue(states['acked'] > 50 and states['cut'] > 20,
                        (states, about))

    def test_soak_with_aborted_sessions(self):
        server = self.start()
        soak, about = self.soak(server, self.SESSIONS)
        self.assert_served(server)
        self.assert_stops_cleanly(server)
        self.assert_soak_delivered(server, soak, about)

    def test_soak_leaves_no_fd_behind_and_no_worker_dies(self):
        if not have_proc():
            raise unittest.SkipTest('counts the fds of the serving processes '
                                    'in /proc/<pid>/fd; there is no /proc')
        server = self.start()
        pids = self.warm_up(server)
        baseline = dict((pid, fds(pid)) for pid in pids)
        soak, about = self.soak(server, self.SESSIONS // 2)
        self.assert_served(server)
        self.assert_fds_back(baseline, about)
        # the same workers: none died and was replaced
        self.assertEqual(pids, self.serving_pids(server), about)
        self.assert_stops_cleanly(server)


#: multiplexing: several connections per worker (fork path: two workers,
#: both started at once; serial path: room for every client thread)
MULTIPLEXING_FORK = {'connections_per_worker': 6, 'max_workers': 2,
                     'min_spare_workers': 2}
MULTIPLEXING_SERIAL = {'connections_per_worker': 16}
#: the default mode, one connection per worker (fork path: a fixed pool
#: with room for every client thread)
DEFAULT_FORK = {'max_workers': 8, 'min_spare_workers': 8}
DEFAULT_SERIAL = {}


class MultiplexingForkSoakTest(OnForkPath, SoakTests, ServerTestCase):
    server_options = MULTIPLEXING_FORK


class MultiplexingSerialSoakTest(SoakTests, ServerTestCase):
    use_multiprocessing = False
    server_options = MULTIPLEXING_SERIAL


class DefaultForkSoakTest(OnForkPath, SoakTests, ServerTestCase):
    server_options = DEFAULT_FORK


class DefaultSerialSoakTest(SoakTests, ServerTestCase):
    use_multiprocessing = False
    server_options = DEFAULT_SERIAL


class CutPointsTest(unittest.TestCase):
    """The cuts themselves (so that the tests above cut where they say)."""

    def test_inner_offsets(self):
        self.assertEqual([3, 5], inner_offsets(b'abcd\r\n'))
        self.assertEqual([2, 3, 4, 6, 7], inner_offsets(b'ab\r\ncd\r\n'))

    def test_every_boundary_and_the_dot(self):
        units = message_dialogue(b'a@b')
        cuts = cut_points(units)
        described = [cut.describe(units) for cut in cuts]
        self.assertEqual(len(described), len(set(described)))
        self.assertTrue("after %r (its last reply not read)" % (
            b''.join(u.data for u in units[:9]),) in described)
        dot_sent = [cut for cut in cuts if cut.dot_sent(units)]
        # the dot's reply not read or read, two cuts inside QUIT, QUIT's
        # reply not read or read
        self.assertEqual(6, len(dot_sent))
        self.assertEqual([False, True, True, True, True, True],
                         [cut.acknowledged(units) for cut in dot_sent])
