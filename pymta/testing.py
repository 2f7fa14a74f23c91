# -*- coding: utf-8 -*-
"""``SMTPTestServer``: a real SMTP server for a test, configured with
keyword arguments; what the pytest fixtures ``smtp_server`` and
``make_smtp_server`` (``pymta.pytest_plugin``) hand out, and usable on its
own (``with SMTPTestServer() as server:``) with any test runner.

Unlike the legacy ``SMTPTestHelper`` it offers AUTH only with an
authenticator, and its policy, authenticator and deliverer are arguments,
classes or instances alike.
"""

from __future__ import absolute_import

import shutil
import tempfile

from .policies import AcceptAllPolicy
from .mailbox import WAIT_SECONDS
from .server_test_helpers import DebuggingMTA, start_in_thread
from .mta import PythonMTA


__all__ = ['SMTPTestServer']

#: How long ``stop()`` waits for the server to stop.
STOP_SECONDS = 10.0


class SMTPTestServer(object):
    """A started SMTP server on a free port of ``host``, in this process
    (each connection in a thread of its own) or, with ``processes=True``,
    on the fork path (worker processes hand every message back).

    Keyword arguments (all optional):

    * ``policy``: an ``IMTAPolicy`` (class or instance; e.g. a
      ``pymta.policies.FaultPolicy``); default: accept everything.
    * ``authenticator``: an ``IAuthenticator`` (class or instance); AUTH is
      offered only with one (by the default policy), e.g.
      ``pymta.authenticators.AcceptAnyAuthenticator``, which records the
      credentials on each message.
    * ``auth_methods`` (``('PLAIN', 'LOGIN')``): the mechanisms the default
      policy offers with an authenticator; add ``'CRAM-MD5'`` for an
      authenticator that can check it (smtplib's ``login()`` prefers it).
    * ``deliverer``: an ``IMessageDeliverer`` (class or instance) that gets
      every message as well; ``messages`` has them anyway.
    * ``max_message_size``: the most octets of message data (announced as
      EHLO ``SIZE`` by the default policy; more gets a 552).
    * ``tls``: True for a throwaway self-signed certificate (its path in
      ``certificate``, for a client's CA file; needs the ``openssl``
      command), or what ``PythonMTA(tls=...)`` takes.
    * ``processes``: serve on the fork path (where there is one).
    * anything else ``PythonMTA`` takes (``extensions``, ``require_tls``,
      ``implicit_tls``, ``session_timeout``, ...).

    Attributes: ``host``, ``port``, ``messages`` (the ``Mailbox``),
    ``server`` (the ``PythonMTA``), ``certificate``; methods
    ``wait_for_messages(count, timeout)``, ``clear_messages()``,
    ``stop()``.
    """

    def __init__(self, policy=None, authenticator=None, deliverer=None,
                 max_message_size=None, tls=None, processes=False,
                 host='127.0.0.1', auth_methods=('PLAIN', 'LOGIN'),
                 **server_options):
        self.host = host
        self.port = None
        self.certificate = None
        self._directory = None
        self._thread = None
        try:
            if policy is None:
                policy = AcceptAllPolicy(
                    max_message_size,
                    auth_methods if authenticator is not None else ())
            self._build(policy, authenticator, deliverer, max_message_size,
                        tls, processes, server_options)
        except BaseException:
            self._remove_certificate()
            raise

    def _build(self, policy, authenticator, deliverer, max_message_size,
               tls, processes, server_options):
        if tls is True:
            from .certificates import self_signed_certificate
            self._directory = tempfile.mkdtemp(prefix='pymta-tls-')
            tls = self_signed_certificate(self._directory)
            self.certificate = tls[0]
        if max_message_size is not None:
            server_options['default_max_message_size'] = max_message_size
        server_options['collect_messages'] = True
        if tls is not None:
            server_options['tls'] = tls
        self._processes = processes
        if processes:
            self.server = PythonMTA(self.host, 0, deliverer, policy, authenticator,
                                    **server_options)
        else:
            server_options.setdefault('threaded', True)
            self.server = DebuggingMTA(self.host, 0, deliverer, policy,
                                       authenticator, **server_options)
        self.messages = self.server.messages

    def start(self):
        """Start serving; returns once the server listens (``port``)."""
        if self._processes:
            self.server.__enter__()
        else:
            self._thread = start_in_thread(self.server, wait_until_ready=False)
        self.port = self.server.port
        return self

    def stop(self):
        """Stop the server (its clients get a 421) and clean up."""
        try:
            if self._processes:
                self.server.__exit__(None, None, None)
            elif self._thread is not None:
                self._thread.stop(STOP_SECONDS)
                self._thread = None
        finally:
            self._remove_certificate()

    def _remove_certificate(self):
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
            self._directory = None

    def wait_for_messages(self, count=1, timeout=WAIT_SECONDS):
        """Wait until ``count`` messages arrived (since the last
        ``clear_messages()``); return them all (a list). Raises
        ``pymta.mailbox.MessageWaitTimeout`` (an ``AssertionError``) after
        ``timeout`` seconds."""
        return self.server.wait_for_messages(count, timeout)

    def clear_messages(self):
        """Forget the messages so far."""
        self.server.clear_messages()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()
        return False

    def __repr__(self):
        return '<SMTPTestServer %s:%s, %d message(s)>' % (
            self.host, self.port, len(self.messages))
