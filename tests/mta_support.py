# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
"""Support for the end-to-end tests of the server (not a test module).

Two users: the test modules (as ``tests.mta_support``) and
``mta_server_process.py``, which runs a ``PythonMTA`` in a process of its own
(as ``mta_support``, from the same directory). So it imports only pymta and
the standard library.

Why a process of its own: the fork path forks, and a test process has
threads (and a test runner inside); a server process whose main thread is
the only thread is what users run, and it can be sent SIGINT, SIGTERM and
SIGKILL.
"""

from __future__ import absolute_import

import json
import os
import pickle
import select
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import pymta
from pymta.api import IAuthenticator, IMessageDeliverer, IMTAPolicy, \
    PolicyDecision
from pymta.authenticators import AcceptAnyAuthenticator
from pymta.cram_md5 import digest_matches
from pymta.dialogue import Dialogue
from pymta.mail_stores import MaildirDeliverer, MboxDeliverer
from pymta.policies import Delay, Drop, FaultPolicy, Greylisting, Reject, \
    Shutdown421, TempFail

try:
    from .programs import find_executable
except (ImportError, ValueError):
    # (tests/mta_server_process.py imports this module from its directory,
    # not as part of the tests package)
    from programs import find_executable


HERE = os.path.dirname(os.path.abspath(__file__))
SERVER_SCRIPT = os.path.join(HERE, 'mta_server_process.py')
EXAMPLE_SCRIPT = os.path.join(os.path.dirname(HERE), 'examples',
                              'debugging_server.py')

#: seconds any single network step of a test may take before it fails
TIMEOUT = 10.0
#: how long the 'slow' HELO makes the policy sleep
SLOW_SECONDS = 2.0
#: the maximum message size of ScriptedPolicy
MAX_SIZE = 100000

_now = getattr(time, 'monotonic', time.time)


# --- what runs inside the server ----------------------------------------------
class ScriptedPolicy(IMTAPolicy):
    """Decides by the client's HELO/EHLO name, so that one server shows many
    behaviours:

    ``reject-helo``  HELO/EHLO refused (550)
    ``slow``         HELO/EHLO answered after SLOW_SECONDS
    ``pid``          HELO/EHLO answered ``250 pid <worker pid>``
    ``tables``       HELO/EHLO answered ``250 tables inherited`` if the
                     session's state table existed before this policy was
                     built (in a worker: built by the parent before it forked)
    ``reject-from``  MAIL FROM refused (550)
    ``custom-reply`` MAIL FROM refused with a three-line 553
    ``raise``        MAIL FROM:<boom@example.com> makes the policy raise
    ``close-before`` MAIL FROM: the connection is closed, no reply
    ``close-after``  MAIL FROM: 250, then the connection is closed

    Recipients starting with ``bad`` are refused (550). Messages are limited
    to MAX_SIZE octets. (SpoolDeliverer raises for the sender
    DELIVERER_FAULT_SENDER, UserIsPasswordAuthenticator for the user
    AUTHENTICATOR_FAULT_USER.)
    """

    def __init__(self):
        self.tables_inherited = \
            Dialogue.__dict__.get('_state_machine_template') is not None

    def max_message_size(self, peer):
        return MAX_SIZE

    def accept_helo(self, helo_string, message):
        return self._greeting(helo_string)

    def accept_ehlo(self, ehlo_string, message):
        return self._greeting(ehlo_string)

    def _greeting(self, name):
        if name == 'reject-helo':
            return False
        if name == 'slow':
            time.sleep(SLOW_SECONDS)
        if name == 'pid':
            return (True, (250, 'pid %d' % os.getpid()))
        if name == 'tables':
            return (True, (250, 'tables %s' % (
                'inherited' if self.tables_inherited else 'built here')))
        return True

    def accept_from(self, sender, message):
        helo = message.smtp_helo
        if helo == 'reject-from':
            return False
        if helo == 'custom-reply':
            return (False, (553, ['first line', 'second line', 'third line']))
        if helo == 'raise' and sender == 'boom@example.com':
            raise RuntimeError('a policy fault the test asked for')
        if helo == 'close-before':
            decision = PolicyDecision(True)
            decision._close_connection_before_response = True
            return decision
        if helo == 'close-after':
            decision = PolicyDecision(True)
            decision._close_connection_after_response = True
            return decision
        return True

    def accept_rcpt_to(self, new_recipient, message):
        return not new_recipient.startswith('bad')


#: SpoolDeliverer raises for a message from this sender
DELIVERER_FAULT_SENDER = 'deliverer-fault@example.com'
#: SpoolDeliverer spools a message from this sender, writes SLOW_DELIVERY_LINE
#: to the server's standard output and only then returns, after
#: SLOW_DELIVERY_SECONDS (longer than the historical 1 s shutdown grace)
SLOW_DELIVERY_SENDER = 'slow-delivery@example.com'
SLOW_DELIVERY_LINE = b'DELIVERING\n'
SLOW_DELIVERY_SECONDS = 1.5
#: UserIsPasswordAuthenticator raises for this user
AUTHENTICATOR_FAULT_USER = 'authenticator-fault'


class UserIsPasswordAuthenticator(IAuthenticator):
    def authenticate(self, username, password, peer):
        if username == AUTHENTICATOR_FAULT_USER:
            raise RuntimeError('an authenticator fault the test asked for')
        return username == password


class CramMd5Authenticator(UserIsPasswordAuthenticator):
    """UserIsPasswordAuthenticator that checks CRAM-MD5 answers too (the
    password is the user name)."""

    def authenticate_cram_md5(self, username, challenge, digest, peer):
        return digest_matches(username, challenge, digest)


#: the authenticators a ServerProcess may run with (``authenticator``)
AUTHENTICATORS = {'user-is-password': UserIsPasswordAuthenticator,
                  'cram-md5': CramMd5Authenticator,
                  'accept-any': AcceptAnyAuthenticator}


class SpoolDeliverer(IMessageDeliverer):
    """Pickles every message into a file of its own in ``spool_dir`` (the
    test process reads them back). The file is complete before the client
    gets its 250."""

    def __init__(self, spool_dir):
        self.spool_dir = spool_dir
        self.count = 0

    def new_message_accepted(self, msg):
        if msg.smtp_from == DELIVERER_FAULT_SENDER:
            raise RuntimeError('a deliverer fault the test asked for')
        self.count += 1
        name = '%017.6f-%08d-%06d' % (time.time(), os.getpid(), self.count)
        path = os.path.join(self.spool_dir, name)
        with open(path + '.tmp', 'wb') as spool_file:
            pickle.dump(msg, spool_file, 2)
        os.rename(path + '.tmp', path + '.pickle')
        if msg.smtp_from == SLOW_DELIVERY_SENDER:
            sys.stdout.write(SLOW_DELIVERY_LINE.decode('ascii'))
            sys.stdout.flush()
            # (a signal may cut a sleep short on Python 2)
            deadline = _now() + SLOW_DELIVERY_SECONDS
            while _now() < deadline:
                time.sleep(deadline - _now())


#: the host name after ``by`` in the Received header of the mail stores
MAIL_STORE_HOSTNAME = 'mx.test'

#: the deliverers a ServerProcess may run with (``deliverer``): each makes
#: one deliverer (per worker on the fork path) from the server's config
DELIVERERS = {
    'spool': lambda config: SpoolDeliverer(config['spool_dir']),
    'maildir': lambda config: MaildirDeliverer(
        config['mail_store'], hostname=MAIL_STORE_HOSTNAME),
    'mbox': lambda config: MboxDeliverer(
        config['mail_store'], hostname=MAIL_STORE_HOSTNAME),
}


class BrokenPolicy(IMTAPolicy):
    """Cannot even be built."""

    def __init__(self):
        raise RuntimeError('a broken policy the test asked for')


#: fault injection (pymta.policies) on a server of its own: a factory
#: builds one policy per worker process (fork path) or per run; the one
#: instance (``faults-drop-data``) is used as it is, a copy in each worker
FAULT_SECONDS = 0.2
FAULT_POLICIES = {
    'faults-reject-connect': lambda: FaultPolicy(Reject('connect')),
    'faults-tempfail-rcpt': lambda: FaultPolicy(TempFail('RCPT TO')),
    'faults-drop-data': FaultPolicy(Drop('DATA')),
    'faults-drop-after-message': lambda: FaultPolicy(
        Drop('message', before_reply=False)),
    'faults-shutdown-mail': lambda: FaultPolicy(Shutdown421('MAIL FROM')),
    'faults-delay-helo': lambda: FaultPolicy(Delay('HELO', FAULT_SECONDS)),
    'faults-greylisting': lambda: FaultPolicy(Greylisting(3600)),
}


class CramMd5Policy(ScriptedPolicy):
    """ScriptedPolicy that offers CRAM-MD5 first."""

    def auth_methods(self, peer):
        return ('CRAM-MD5', 'PLAIN', 'LOGIN')


POLICIES = {'scripted': ScriptedPolicy, 'default': IMTAPolicy,
            'broken': BrokenPolicy, 'cram-md5': CramMd5Policy}
POLICIES.update(FAULT_POLICIES)


# --- the test process's side ---------------------------------------------------
def pymta_import_root():
    """The directory from which this process imported pymta (site-packages
    or the checkout): a subprocess must import the same pymta."""
    return os.path.dirname(os.path.dirname(os.path.abspath(pymta.__file__)))


def subprocess_environment():
    env = dict(os.environ)
    paths = [pymta_import_root()]
    if env.get('PYTHONPATH'):
        paths.append(env['PYTHONPATH'])
    env['PYTHONPATH'] = os.pathsep.join(paths)
    return env


def multiprocessing_is_importable():
    try:
        import multiprocessing  # noqa: F401
    except ImportError:
        return False
    return True


def skip_unless_fork_path_possible():
    if not multiprocessing_is_importable():
        raise unittest.SkipTest('multiprocessing cannot be imported here '
                                '(PYMTA_TEST_SERIAL): pymta has no fork path')


class OnForkPath(object):
    """Mixed into a test case class (before it): its server takes the fork
    path; the whole class is skipped where there is none."""

    use_multiprocessing = True

    @classmethod
    def setUpClass(cls):
        skip_unless_fork_path_possible()
        super(OnForkPath, cls).setUpClass()


class OutputReader(object):
    """Reads a pipe with time limits (select, no threads)."""

    def __init__(self, pipe):
        self.fd = pipe.fileno()
        self.buffer = b''
        self.at_eof = False

    def _read_some(self, deadline):
        remaining = deadline - _now()
        if remaining <= 0:
            return False
        readable = select.select([self.fd], [], [], remaining)[0]
        if not readable:
            return False
        data = os.read(self.fd, 65536)
        if not data:
            self.at_eof = True
        self.buffer += data
        return True

    def read_until(self, marker, timeout=TIMEOUT):
        """Everything up to and including ``marker`` (bytes), or raise."""
        deadline = _now() + timeout
        while marker not in self.buffer:
            if self.at_eof or not self._read_some(deadline):
                raise AssertionError('%r did not arrive within %s s (got %r, '
                                     'eof=%s)' % (marker, timeout, self.buffer,
                                                  self.at_eof))
        position = self.buffer.index(marker) + len(marker)
        text, self.buffer = self.buffer[:position], self.buffer[position:]
        return text

    def read_to_eof(self, timeout=TIMEOUT):
        """Everything until end of file; raises if it takes longer."""
        deadline = _now() + timeout
        while not self.at_eof:
            if not self._read_some(deadline):
                raise AssertionError('no end of file within %s s (got %r)' % (
                    timeout, self.buffer))
        text, self.buffer = self.buffer, b''
        return text


def wait_for_exit(process, timeout=TIMEOUT):
    """The exit status of ``process`` (whose output already ended)."""
    deadline = _now() + timeout
    while process.poll() is None:
        if _now() > deadline:
            raise AssertionError('process %d did not exit' % process.pid)
        time.sleep(0.005)
    return process.returncode


class ServerProcess(object):
    """A PythonMTA in a process of its own (mta_server_process.py): a
    ScriptedPolicy (or another of POLICIES), UserIsPasswordAuthenticator, a
    SpoolDeliverer. ``port`` once started; ``messages()`` reads what it
    delivered. Its workers inherit its standard output, so the end of that
    output means the server and all its workers are gone.

    ``cycles``: serve_forever() runs that many times (each on a new port,
    each announced with a LISTENING line); after each but the last the
    server prints ``CYCLE <open fds> <threads> <child processes>``. ``start_method``: the
    multiprocessing default start method to set first (e.g. 'spawn').
    ``new_process_group``: the server leads a process group of its own (as
    in a shell with job control), so ``send_signal_to_group`` reaches it and
    its workers, like Ctrl-C in a terminal. ``deliverer_instance``: pass
    PythonMTA a SpoolDeliverer instance instead of a factory (as the seed
    documentation does). ``signals_in_other_thread``: SIGUSR1 is blocked in
    the server's main (serving) thread, so the kernel delivers it to a
    helper thread and only the signal wake-up fd can wake the serving
    thread for its handler. ``shutdown_timeout``: what the SIGUSR1 handler
    passes to ``shutdown_server(timeout_seconds)``. ``options`` go to
    PythonMTA. ``authenticator``: the name of one of AUTHENTICATORS (instead
    of UserIsPasswordAuthenticator). ``deliverer``: the name of one of
    DELIVERERS (instead of the SpoolDeliverer; ``messages()`` then reads
    nothing), ``mail_store`` the path of its Maildir or mbox."""

    def __init__(self, use_multiprocessing, policy='scripted', cycles=1,
                 start_method=None, new_process_group=False,
                 deliverer_instance=False, signals_in_other_thread=False,
                 shutdown_timeout=None, authenticator='user-is-password',
                 deliverer='spool', mail_store=None, **options):
        self.config = {'use_multiprocessing': use_multiprocessing,
                       'policy': policy, 'options': options,
                       'authenticator': authenticator,
                       'deliverer': deliverer, 'mail_store': mail_store,
                       'cycles': cycles, 'start_method': start_method,
                       'deliverer_instance': deliverer_instance,
                       'signals_in_other_thread': signals_in_other_thread,
                       'shutdown_timeout': shutdown_timeout}
        self.new_process_group = new_process_group
        self.process = None
        self.port = None
        self.spool_dir = None
        self.stderr_file = None
        self.output = None

    def start(self):
        self.spool_dir = tempfile.mkdtemp(prefix='pymta-test-spool-')
        self.config['spool_dir'] = self.spool_dir
        self.stderr_file = tempfile.TemporaryFile()
        preexec_fn = os.setpgrp if self.new_process_group else None
        with open(os.devnull, 'rb') as devnull:
            self.process = subprocess.Popen(
                [sys.executable, SERVER_SCRIPT, json.dumps(self.config)],
                stdin=devnull, stdout=subprocess.PIPE, stderr=self.stderr_file,
                env=subprocess_environment(), close_fds=True,
                preexec_fn=preexec_fn)
        self.output = OutputReader(self.process.stdout)
        try:
            self.read_listening_line(timeout=30.0)
        except AssertionError:
            self.kill()
            raise AssertionError('the server did not start: %s' % (
                self.stderr_text(),))
        return self

    def read_listening_line(self, timeout=TIMEOUT):
        """Read the next ``LISTENING <port>`` line; set and return ``port``."""
        line = self.output.read_until(b'\n', timeout=timeout)
        words = line.split()
        assert words[0] == b'LISTENING', line
        self.port = int(words[1])
        return self.port

    @property
    def pid(self):
        return self.process.pid

    def send_signal(self, signum):
        os.kill(self.process.pid, signum)

    def send_signal_to_group(self, signum):
        """Signal the server's process group (``new_process_group``): the
        server and its workers, as Ctrl-C in a terminal does."""
        assert self.new_process_group
        os.killpg(self.process.pid, signum)

    def stop(self, signum=signal.SIGUSR1, timeout=TIMEOUT):
        """Ask the server to stop (SIGUSR1: it calls shutdown_server());
        wait until it and its workers are gone; return (exit status, output
        after the LISTENING line)."""
        self.send_signal(signum)
        return self.wait(timeout)

    def wait(self, timeout=TIMEOUT):
        output = self.output.read_to_eof(timeout)
        status = wait_for_exit(self.process)
        self.process.stdout.close()
        return status, output

    def kill(self):
        """Make sure nothing of it is left (after a failed test)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            workers = child_pids(self.process.pid)
            self.process.kill()
            self.process.wait()
            for pid in workers:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        if not self.process.stdout.closed:
            self.process.stdout.close()

    def cleanup(self):
        self.kill()
        if self.spool_dir is not None:
            for name in os.listdir(self.spool_dir):
                os.remove(os.path.join(self.spool_dir, name))
            os.rmdir(self.spool_dir)
            self.spool_dir = None
        if self.stderr_file is not None:
            self.stderr_file.close()
            self.stderr_file = None

    def stderr_text(self):
        self.stderr_file.seek(0)
        return self.stderr_file.read().decode('utf-8', 'replace')

    def wait_for_log(self, text, timeout=TIMEOUT):
        """Wait until the server logged ``text`` (its log is a file: there
        is no event to wait for)."""
        deadline = _now() + timeout
        while text not in self.stderr_text():
            if _now() > deadline:
                raise AssertionError('%r not logged within %s s: %s' % (
                    text, timeout, self.stderr_text()))
            time.sleep(0.01)

    def messages(self):
        """The messages delivered so far, oldest first."""
        names = sorted(name for name in os.listdir(self.spool_dir)
                       if name.endswith('.pickle'))
        messages = []
        for name in names:
            with open(os.path.join(self.spool_dir, name), 'rb') as spool_file:
                messages.append(pickle.load(spool_file))
        return messages

    def forget_messages(self):
        for name in os.listdir(self.spool_dir):
            os.remove(os.path.join(self.spool_dir, name))


def child_pids(parent_pid):
    """The pids of the living (not zombie) children of ``parent_pid`` (Linux:
    read from /proc)."""
    children = []
    for name in os.listdir('/proc'):
        if not name.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % name, 'rb') as stat_file:
                stat = stat_file.read()
        except (IOError, OSError):
            continue
        # pid (comm) state ppid ...; comm may contain spaces and parentheses
        fields = stat[stat.rindex(b')') + 2:].split()
        if int(fields[1]) == parent_pid and fields[0] != b'Z':
            children.append(int(name))
    return children


def is_alive(pid):
    """True if process ``pid`` exists and is not a zombie."""
    try:
        with open('/proc/%d/stat' % pid, 'rb') as stat_file:
            stat = stat_file.read()
    except (IOError, OSError):
        return False
    return stat[stat.rindex(b')') + 2:].split()[0] != b'Z'


def living(pids, timeout=1.0):
    """The processes of ``pids`` still alive after up to ``timeout`` seconds.
    (A process closes its files a moment before it becomes a zombie; there
    is no event for the end of a process that is not our child.)"""
    deadline = _now() + timeout
    while True:
        alive = [pid for pid in pids if is_alive(pid)]
        if not alive or _now() > deadline:
            return alive
        time.sleep(0.01)


class RawClient(object):
    """A plain socket SMTP client for what smtplib cannot do (pipelining,
    disconnecting at odd moments)."""

    def __init__(self, port, host='127.0.0.1'):
        self.sock = socket.create_connection((host, port), TIMEOUT)
        self.buffer = b''

    def send(self, data):
        self.sock.sendall(data)

    def read_reply(self):
        """One whole reply: ``(code, [lines])`` (lines as native text); raises
        AssertionError if the server closed the connection first."""
        lines = []
        while True:
            while b'\r\n' not in self.buffer:
                data = self.sock.recv(65536)
                if not data:
                    raise AssertionError('connection closed (after %r)' % (
                        lines,))
                self.buffer += data
            line, self.buffer = self.buffer.split(b'\r\n', 1)
            lines.append(line[4:].decode('utf-8'))
            if line[3:4] != b'-':
                return int(line[:3]), lines

    def read_to_eof(self):
        """What arrives until the server closes the connection."""
        data = self.buffer
        self.buffer = b''
        while True:
            chunk = self.sock.recv(65536)
            if not chunk:
                return data
            data += chunk

    def has_data(self):
        return bool(self.buffer) or bool(
            select.select([self.sock], [], [], 0)[0])

    def close(self):
        self.sock.close()


def swaks_or_skip(test):
    """The path of swaks; skip the test if it is missing, but fail it in CI
    (the CI script installs swaks)."""
    path = find_executable('swaks')
    if path is None:
        if os.environ.get('CI'):
            test.fail('swaks is not installed (apt-get install swaks); CI '
                      'must run the swaks tests')
        raise unittest.SkipTest('swaks is not installed')
    return path


# --- test cases with servers in processes of their own -------------------------
def smtp_client(test, port):
    """An ``smtplib.SMTP`` connected to 127.0.0.1:``port``, closed when
    ``test`` ends."""
    connection = smtplib.SMTP('127.0.0.1', port, timeout=TIMEOUT)
    test.addCleanup(_close_quietly, connection)
    return connection


def _close_quietly(connection):
    try:
        connection.close()
    except Exception:
        pass


class ServerProgram(object):
    """Mixed into a test case: runs ``command`` (a list) plus arguments as
    a user would, a server program whose standard output the test reads;
    killed at the end of the test if it still runs."""

    command = None

    def start(self, *arguments, **options):
        """``new_session=True``: in a session (and process group) of its
        own, as a service manager starts it."""
        stderr_file = tempfile.TemporaryFile()
        self.addCleanup(stderr_file.close)
        new_session = options.pop('new_session', False)
        with open(os.devnull, 'rb') as devnull:
            process = subprocess.Popen(
                self.command + list(arguments),
                stdin=devnull, stdout=subprocess.PIPE, stderr=stderr_file,
                env=subprocess_environment(), close_fds=True,
                preexec_fn=os.setsid if new_session else None, **options)
        self.addCleanup(self.kill, process)
        self.stderr_file = stderr_file
        return process, OutputReader(process.stdout)

    def kill(self, process):
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()

    def stderr_text(self):
        self.stderr_file.seek(0)
        return self.stderr_file.read().decode('utf-8', 'replace')

    def listening_port(self, output):
        line = output.read_until(b'\n', timeout=30.0).decode('ascii')
        self.assertTrue(' listening on 127.0.0.1:' in line, line)
        return int(line.split('127.0.0.1:')[1].split()[0])

    def assert_stops_cleanly(self, process, output, signum):
        os.kill(process.pid, signum)
        rest = output.read_to_eof(TIMEOUT)
        self.assertEqual(0, wait_for_exit(process), self.stderr_text())
        self.assertFalse('Traceback' in self.stderr_text(), self.stderr_text())
        return rest


class ServerProcessPerClass(object):
    """Mixed into a test case class: one ``ServerProcess`` per class
    (``new_server()``: with ``server_options``), started in setUpClass and
    stopped (exit status 0 required) in tearDownClass; a subclass sets
    ``use_multiprocessing``. Each test starts with an empty spool."""

    use_multiprocessing = None
    server_options = {}
    server = None

    @classmethod
    def new_server(cls):
        return ServerProcess(cls.use_multiprocessing, **cls.server_options)

    @classmethod
    def setUpClass(cls):
        super(ServerProcessPerClass, cls).setUpClass()
        cls.server = cls.new_server()
        try:
            cls.server.start()
        except Exception:
            cls.server.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            status, output = cls.server.stop()
            assert status == 0, (status, output, cls.server.stderr_text())
        finally:
            cls.server.cleanup()
        super(ServerProcessPerClass, cls).tearDownClass()

    def setUp(self):
        super(ServerProcessPerClass, self).setUp()
        self.server.forget_messages()


def deliver_interleaved(test, clients, sender_pattern, helo=b'c'):
    """Each of ``clients`` (raw clients that read the greeting) sends one
    message (from ``sender_pattern % n``, the client's number) and QUIT,
    every step on every client in turn before the next step: the server
    must serve them all at once."""
    for number, client in enumerate(clients):
        client.send(b'HELO ' + helo + b'\r\n' +
                    ('MAIL FROM:<%s>\r\n' % (sender_pattern % number))
                    .encode('ascii') + b'RCPT TO:<to@example.com>\r\nDATA\r\n')
    for client in clients:
        test.assertEqual([250, 250, 250, 354],
                         [client.read_reply()[0] for _ in range(4)])
    for client in clients:
        client.send(b'message\r\n.\r\nQUIT\r\n')
    for client in clients:
        test.assertEqual([250, 221],
                         [client.read_reply()[0] for _ in range(2)])


class ServerTestCase(unittest.TestCase):
    """A test case that starts ``ServerProcess`` servers (stopped when the
    test ends) and talks to them with raw clients. ``server_defaults``:
    options every server of the class gets (a test's own win)."""

    server_defaults = {}

    def start_server(self, use_multiprocessing, **options):
        options = dict(self.server_defaults, **options)
        server = ServerProcess(use_multiprocessing, **options)
        self.addCleanup(server.cleanup)
        return server.start()

    def raw(self, server):
        client = RawClient(server.port)
        self.addCleanup(client.close)
        return client

    def greeted_client(self, server, helo=b'client.example'):
        """A raw client that got the greeting and sent ``HELO <helo>``."""
        client = self.raw(server)
        self.assertEqual(220, client.read_reply()[0])
        client.send(b'HELO ' + helo + b'\r\n')
        self.assertEqual(250, client.read_reply()[0])
        return client
