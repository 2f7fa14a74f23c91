# -*- coding: utf-8 -*-
"""Test helpers that run a real server on a free port in a thread:
``DebuggingMTA``, ``MTAThread``, ``SMTPTestHelper`` and ``SMTPTestCase``.

They are exported by ``pymta.test_util``; import them from there.

Readiness: ``MTAThread.start()`` returns once the server listens (and raises
if it could not bind). Then the helpers open one TCP connection to the server
and close it again after the greeting, as the historical helpers did: a
policy that counts connections sees that one first, and by the time
``start_mta()``/``init_mta()`` returns the server has served it.
"""

from __future__ import absolute_import, print_function

import socket
import threading
import unittest

from .api import IMTAPolicy
from .assertions import AssertionsMixin
from .compat import new_event, queue
from .deliverer import BlackholeDeliverer
from .lib.simple_super import SuperProxy
from .mailbox import WAIT_SECONDS
from .mta import PythonMTA


__all__ = ['DebuggingMTA', 'MTAThread', 'SMTPTestCase', 'SMTPTestHelper']


class DebuggingMTA(PythonMTA):
    """A ``PythonMTA`` whose ``serve_forever()`` always takes the serial path
    (one connection at a time, in the calling thread; with ``threaded=True``
    a thread per connection), so it runs in a thread of the test process
    and its deliverer and policy instances are the test's to look at.
    ``collect_messages`` is True by default: ``messages``,
    ``wait_for_messages()`` and ``clear_messages()`` (see ``PythonMTA``).
    ``queue`` is a ``Queue`` kept for legacy callers."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault('collect_messages', True)
        PythonMTA.__init__(self, *args, **kwargs)
        self.queue = queue.Queue()

    def serve_forever(self, use_multiprocessing=False):
        return PythonMTA.serve_forever(self, use_multiprocessing=False)


class MTAThread(threading.Thread):
    """A (daemon) thread whose ``run()`` calls ``server.serve_forever()``.

    ``start()`` returns once the server listens and raises the server's error
    if it could not bind. ``stop(timeout_seconds=5.0)`` calls
    ``shutdown_server()`` and joins the thread; if the thread is still alive
    then, it prints a line starting with ``WARNING:``."""

    def __init__(self, server):
        threading.Thread.__init__(self, name='MTAThread')
        self.daemon = True
        self.server = server
        # set when run() ends (compat.new_event(): stop() waits for it without
        # the polling of a timed join() on Python 2)
        self._run_ended = new_event()

    def run(self):
        try:
            self.server.serve_forever()
        except Exception as e:
            if e is getattr(self.server, 'bind_error', None):
                return      # start() raises it in the starting thread
            raise
        finally:
            self._run_ended.set()

    def start(self):
        if hasattr(self.server, 'bind_error'):
            self.server.bind_error = None   # forget an earlier attempt
        threading.Thread.start(self)
        wait_until_listening = getattr(self.server, 'wait_until_listening',
                                       None)
        if wait_until_listening is None:
            return
        try:
            while not wait_until_listening(timeout=0.5):
                if not self.is_alive() and not wait_until_listening(0):
                    raise RuntimeError('the server thread ended before the '
                                       'server listened')
        except Exception:
            self.join(5.0)
            raise

    def stop(self, timeout_seconds=5.0):
        self.server.shutdown_server()
        if self.ident is None:
            return      # never started
        if _function_of(type(self).run) is _function_of(MTAThread.run):
            if self._run_ended.wait(timeout_seconds):
                self.join()     # it only has to return from run() now
        else:
            self.join(timeout_seconds)  # (a subclass's own run())
        if self.is_alive():
            print('WARNING: the MTA thread is still running %s seconds after '
                  'shutdown_server()' % (timeout_seconds,))


def _function_of(method):
    """The function of a method (Python 2: of an unbound method)."""
    return getattr(method, '__func__', method)


def _client_address(server):
    """Where a client on this machine reaches ``server``."""
    host = server.server_address[0]
    if host in ('0.0.0.0', ''):
        return '127.0.0.1'
    if host == '::':
        return '::1'
    return host


def probe_connection(server, timeout=5.0):
    """Open one connection to the listening ``server``, wait for its greeting
    (or for it to close the connection), and close it."""
    connection = socket.create_connection(
        (_client_address(server), server.port), timeout)
    try:
        connection.recv(4096)
    except (IOError, OSError):
        pass
    finally:
        connection.close()


def start_in_thread(mta, wait_until_ready=True):
    """Run ``mta`` in a started ``MTAThread`` (returned); with
    ``wait_until_ready`` after one probe connection (see the module)."""
    thread = MTAThread(mta)
    thread.start()
    if wait_until_ready and getattr(mta, 'port', None):
        probe_connection(mta)
    return thread


class SMTPTestHelper(object):
    """Runs a ``DebuggingMTA`` in a thread for a test; it serves every
    connection in a thread of its own (``threaded=True``), so a client that
    keeps its connection open does not hold up the next one, and one
    policy instance sees every connection.

    Attributes: ``hostname`` (``'localhost'``), ``listen_port`` (the port to
    bind, 0 for a free one; after ``start_mta()`` the port actually
    listening), ``deliverer`` (the class ``BlackholeDeliverer``), ``mta``,
    ``mta_thread`` and, once started, ``messages``: this server's own
    ``Mailbox`` of accepted messages (the legacy queue of
    ``get_received_messages()`` is one class attribute, shared by every
    server). ``server_options`` go to the server (``PythonMTA``'s keyword
    arguments: ``tls=``, ``extensions=``, ``threaded=False``, ...)."""

    def __init__(self, policy_class=IMTAPolicy, authenticator_class=None,
                 **server_options):
        self.policy_class = policy_class
        self.authenticator_class = authenticator_class
        self.server_options = server_options
        self.hostname = 'localhost'
        self.listen_port = 0
        self.deliverer = BlackholeDeliverer
        self.mta = None
        self.mta_thread = None
        self.messages = None

    def start_mta(self, wait_until_ready=True):
        """Start the server; return ``(hostname, listen_port)``.
        ``wait_until_ready``: open (and close) one connection first, so the
        server has served a connection when this returns."""
        options = dict(self.server_options)
        options.setdefault('threaded', True)
        self.mta = DebuggingMTA(self.hostname, self.listen_port,
                                self.deliverer, self.policy_class,
                                self.authenticator_class, **options)
        self.messages = self.mta.messages
        self.mta_thread = start_in_thread(self.mta, wait_until_ready)
        self.listen_port = self.mta.port
        return (self.hostname, self.listen_port)

    def wait_for_messages(self, count=1, timeout=WAIT_SECONDS):
        """Wait until ``count`` messages arrived at this server (since the
        last ``clear_messages()``); return them all (a list). Raises
        ``pymta.mailbox.MessageWaitTimeout`` (an ``AssertionError``) after
        ``timeout`` seconds."""
        return self.mta.wait_for_messages(count, timeout)

    def clear_messages(self):
        """Forget the messages this server accepted so far."""
        self.mta.clear_messages()

    def stop_mta(self):
        if self.mta_thread is not None:
            self.mta_thread.stop()
            self.mta_thread = None

    def get_received_messages(self):
        """The queue of ``pymta.model.Message`` the server accepted."""
        return self.deliverer.received_messages

    def __enter__(self):
        """``with SMTPTestHelper() as helper:`` starts the server
        (``start_mta()``) and stops it at the end of the block."""
        self.start_mta()
        return self

    def __exit__(self, *exc_info):
        self.stop_mta()
        return False


class SMTPTestCase(AssertionsMixin, unittest.TestCase):
    """A test case with a server (a ``DebuggingMTA`` by default, serving
    each connection in a thread of its own) running in a thread on a free
    port: ``hostname``, ``listen_port``, ``mta``, ``mta_thread``,
    ``deliverer`` (the class ``BlackholeDeliverer``);
    ``wait_for_messages()`` and ``clear_messages()`` work on the server's
    own mailbox (``self.mta.messages``).

    ``setUp()`` sets ``hostname`` and ``listen_port`` and calls
    ``init_mta()``, which builds the server with ``build_mta()``; override
    either (and call the base version) to change the server.
    ``self.super()`` calls the parent's version of the current method, as
    in pymta 0.5 suites."""

    super = SuperProxy()

    def setUp(self):
        super(SMTPTestCase, self).setUp()
        self.hostname = 'localhost'
        self.listen_port = 0
        self.init_mta()

    def build_mta(self, hostname, listen_port, deliverer,
                  policy_class=None):
        """Return the server to run (not yet started): a ``DebuggingMTA``
        serving each connection in a thread of its own."""
        return DebuggingMTA(hostname, listen_port, deliverer,
                            policy_class=policy_class, threaded=True)

    def init_mta(self, policy_class=IMTAPolicy):
        """(Re)start the server with ``policy_class``; returns once it has
        served one probe connection."""
        self.stop_mta()
        self.deliverer = BlackholeDeliverer
        mta = self.build_mta(self.hostname, self.listen_port, self.deliverer,
                             policy_class)
        if mta is None:
            # a build_mta() that only set self.mta
            mta = getattr(self, 'mta', None)
        self.mta = mta
        self.mta_thread = start_in_thread(mta)
        self.listen_port = getattr(mta, 'port', None) or self.listen_port

    def stop_mta(self):
        thread = getattr(self, 'mta_thread', None)
        if thread is not None:
            thread.stop()
            self.mta_thread = None

    def tearDown(self):
        self.stop_mta()
        super(SMTPTestCase, self).tearDown()

    def get_received_messages(self):
        """The queue of ``pymta.model.Message`` the server accepted."""
        return self.deliverer.received_messages

    def wait_for_messages(self, count=1, timeout=WAIT_SECONDS):
        """Wait until ``count`` messages arrived at ``self.mta`` (since the
        last ``clear_messages()``); return them all (a list). Raises
        ``pymta.mailbox.MessageWaitTimeout`` (an ``AssertionError``) after
        ``timeout`` seconds. (The server needs ``collect_messages``, as
        ``DebuggingMTA`` has by default.)"""
        return self.mta.wait_for_messages(count, timeout)

    def clear_messages(self):
        """Forget the messages ``self.mta`` accepted so far."""
        self.mta.clear_messages()
