# -*- coding: utf-8 -*-
"""Issue 14, item 6: ``pymta.testing.SMTPTestServer`` and the pytest
plugin's fixtures ``smtp_server`` and ``make_smtp_server``, run by pytest
(and pytest-xdist) in a process of its own on a test file written here."""
from __future__ import absolute_import

import os
import shutil
import smtplib
import subprocess
import sys
import tempfile
import textwrap
import unittest

from pymta.api import IMTAPolicy
from pymta.authenticators import AcceptAnyAuthenticator
from pymta.test_util import DummyAuthenticator
from pymta.testing import SMTPTestServer
from .mta_support import TIMEOUT, skip_unless_fork_path_possible, \
    subprocess_environment
from .programs import find_executable


#: in tox the installed pymta registers the plugin (entry point) and pytest
#: is installed; from a checkout pytest may be missing
INSTALLED = bool(os.environ.get('PYMTA_TEST_SITE_PACKAGES'))


def _pytest_or_skip(module='pytest'):
    try:
        __import__(module)
    except ImportError:
        if INSTALLED:
            raise   # (tox installs it: a missing one is a failure there)
        raise unittest.SkipTest('%s is not installed' % module)


class SMTPTestServerTest(unittest.TestCase):
    def test_messages_arrive(self):
        with SMTPTestServer() as server:
            client = smtplib.SMTP(server.host, server.port, timeout=TIMEOUT)
            client.sendmail('a@example.com', ['b@example.com'],
                            'Subject: hi\n\nhello')
            client.quit()
            message, = server.wait_for_messages(1)
            self.assertEqual(['b@example.com'], message.smtp_to)
            self.assertEqual(1, len(server.messages))
            server.clear_messages()
            self.assertEqual(0, len(server.messages))
        self.assertTrue('127.0.0.1:%d' % server.port in repr(server))

    def test_auth_is_offered_only_with_an_authenticator(self):
        with SMTPTestServer() as server:
            client = smtplib.SMTP(server.host, server.port, timeout=TIMEOUT)
            client.ehlo('client.example.com')
            self.assertFalse(client.has_extn('auth'))
            client.quit()
        with SMTPTestServer(authenticator=DummyAuthenticator) as server:
            client = smtplib.SMTP(server.host, server.port, timeout=TIMEOUT)
            client.ehlo('client.example.com')
            self.assertTrue(client.has_extn('auth'))
            client.login('joe', 'joe')
            client.sendmail('a@example.com', ['b@example.com'], 'hi')
            client.quit()
            self.assertEqual('joe', server.wait_for_messages(1)[0].username)

    def test_any_credentials_recorded_on_the_message(self):
        with SMTPTestServer(authenticator=AcceptAnyAuthenticator) as server:
            client = smtplib.SMTP(server.host, server.port, timeout=TIMEOUT)
            client.ehlo('client.example.com')
            self.assertEqual(' PLAIN LOGIN', client.esmtp_features['auth'])
            client.login('joe', 'secret')
            client.sendmail('a@example.com', ['b@example.com'], 'hi')
            client.quit()
            message = server.wait_for_messages(1)[0]
            self.assertEqual(('PLAIN', 'joe', 'secret'), (
                message.auth_mechanism, message.username, message.password))

    def test_cram_md5_when_asked_for(self):
        with SMTPTestServer(authenticator=AcceptAnyAuthenticator,
                            auth_methods=('CRAM-MD5', 'PLAIN')) as server:
            client = smtplib.SMTP(server.host, server.port, timeout=TIMEOUT)
            client.login('joe', 'secret')
            client.sendmail('a@example.com', ['b@example.com'], 'hi')
            client.quit()
            message = server.wait_for_messages(1)[0]
            self.assertEqual(('CRAM-MD5', 'joe'), (
                message.auth_mechanism, message.username))

    def test_a_size_limit_is_announced_and_kept(self):
        with SMTPTestServer(max_message_size=100) as server:
            client = smtplib.SMTP(server.host, server.port, timeout=TIMEOUT)
            client.ehlo('client.example.com')
            self.assertEqual('100', client.esmtp_features.get('size'))
            # (smtplib refuses itself what is larger than the SIZE; a
            # raw DATA shows the server's refusal)
            client.mail('a@example.com')
            client.rcpt('b@example.com')
            code, _ = client.data('x' * 200)
            self.assertEqual(552, code)
            client.quit()
            self.assertEqual(0, len(server.messages))

    def test_a_policy_instance(self):
        class NoBob(IMTAPolicy):
            def accept_rcpt_to(self, recipient, message):
                return recipient != 'bob@example.com'
        with SMTPTestServer(policy=NoBob()) as server:
            client = smtplib.SMTP(server.host, server.port, timeout=TIMEOUT)
            self.assertRaises(smtplib.SMTPRecipientsRefused, client.sendmail,
                              'a@example.com', ['bob@example.com'], 'hi')
            client.quit()

    def test_tls_with_a_throwaway_certificate(self):
        if find_executable('openssl') is None:
            self.skipTest('no openssl command (.ci/packages installs it)')
        if not hasattr(smtplib.SMTP, 'send_message'):
            self.skipTest('Python 2.7: smtplib.starttls takes no context')
        import ssl
        with SMTPTestServer(tls=True) as server:
            directory = os.path.dirname(server.certificate)
            context = ssl.create_default_context(cafile=server.certificate)
            client = smtplib.SMTP('localhost', server.port, timeout=TIMEOUT)
            client.starttls(context=context)
            client.sendmail('a@example.com', ['b@example.com'], 'secret')
            client.quit()
            self.assertTrue(server.wait_for_messages(1)[0].tls['version']
                            .startswith('TLS'))
        self.assertFalse(os.path.exists(directory))

    def test_on_the_fork_path(self):
        skip_unless_fork_path_possible()
        with SMTPTestServer(processes=True) as server:
            client = smtplib.SMTP(server.host, server.port, timeout=TIMEOUT)
            client.sendmail('a@example.com', ['b@example.com'], 'forked')
            client.quit()
            self.assertEqual(1, len(server.messages))
            self.assertEqual('forked', server.messages[0].msg_data)


PLUGIN_TESTS = '''
    import smtplib

    import pytest

    from pymta.mailbox import MessageWaitTimeout


    def send(server, text='Subject: hi\\n\\nhello'):
        client = smtplib.SMTP(server.host, server.port, timeout=10)
        client.sendmail('a@example.com', ['b@example.com'], text)
        client.quit()


    def test_a_fresh_server(smtp_server):
        assert len(smtp_server.messages) == 0
        send(smtp_server)
        message, = smtp_server.wait_for_messages(1)
        assert message.smtp_from == 'a@example.com'


    def test_another_fresh_server(smtp_server):
        assert len(smtp_server.messages) == 0


    def test_the_factory(make_smtp_server):
        first = make_smtp_server()
        second = make_smtp_server(max_message_size=1000)
        assert first.port != second.port
        send(second)
        assert len(second.wait_for_messages(1)) == 1
        assert len(first.messages) == 0


    def test_a_timeout_is_a_failure(smtp_server):
        with pytest.raises(MessageWaitTimeout):
            smtp_server.wait_for_messages(1, timeout=0.01)


    @pytest.mark.parametrize('number', range(8))
    def test_in_parallel(smtp_server, number):
        send(smtp_server, 'Subject: %d\\n\\nx' % number)
        assert smtp_server.wait_for_messages(1)[0].msg_data.startswith(
            'Subject: %d' % number)
'''


def run_pytest_on(source, *arguments, **options):
    """Run pytest (with the plugin) on ``source``, a test module, in a
    process and a directory of its own: ``(exit status, output)``. Skips
    where pytest is missing (outside tox). ``entry_points=True``: pytest
    loads its plugins as usual (the plugin must come through pymta's
    entry point); by default it loads only the plugin and xdist, by
    name, whether pymta is installed or not. ``conftest``: the source of
    a ``conftest.py`` beside the test module."""
    _pytest_or_skip()
    entry_points = options.pop('entry_points', False)
    conftest = options.pop('conftest', None)
    directory = tempfile.mkdtemp(prefix='pymta-plugin-')
    try:
        with open(os.path.join(directory, 'test_with_fixtures.py'),
                  'w') as test_file:
            test_file.write(source)
        if conftest is not None:
            with open(os.path.join(directory, 'conftest.py'), 'w') as f:
                f.write(conftest)
        command = [sys.executable, '-m', 'pytest', '-p', 'no:cacheprovider',
                   '-q']
        env = subprocess_environment()
        if not entry_points:
            # (only the plugin named here: a checkout with pymta.egg-info,
            # e.g. after pip install -e, has the entry point as well)
            env['PYTEST_DISABLE_PLUGIN_AUTOLOAD'] = '1'
            command += ['-p', 'pymta.pytest_plugin']
            if '-n' in arguments:
                command += ['-p', 'xdist.plugin']
        if os.environ.get('PYMTA_TEST_WARNINGS_AS_ERRORS'):
            command += ['-W', 'error']
        process = subprocess.Popen(
            command + list(arguments) + ['test_with_fixtures.py'],
            cwd=directory, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        output = process.communicate()[0].decode('utf-8', 'replace')
        return process.returncode, output
    finally:
        shutil.rmtree(directory, ignore_errors=True)


class PytestPluginTest(unittest.TestCase):
    def needs_pymta_installed(self):
        if not INSTALLED:
            self.skipTest('pymta is not installed here (tox installs it)')

    def run_pytest(self, *arguments, **options):
        return run_pytest_on(textwrap.dedent(PLUGIN_TESTS), *arguments,
                             **options)

    def assert_all_pass(self, *arguments, **options):
        returncode, output = self.run_pytest(*arguments, **options)
        self.assertEqual(0, returncode, output)
        self.assertTrue('12 passed' in output, output)
        return output

    def test_the_fixtures(self):
        self.assert_all_pass()

    def test_under_pytest_xdist(self):
        _pytest_or_skip('xdist')
        output = self.assert_all_pass('-n', '2')
        self.assertTrue('bringing up nodes' in output, output)

    def test_the_entry_point_registers_the_plugin(self):
        self.needs_pymta_installed()
        returncode, output = self.run_pytest('--fixtures', entry_points=True)
        self.assertEqual(0, returncode, output)
        self.assertTrue('make_smtp_server' in output, output)
        self.assertTrue('pymta' in output, output)

    # A vendored copy's way of loading the plugin (by its module's name)
    # where pymta is installed as well: the entry point has registered the
    # plugin under that name, so pytest does not load it a second time
    # (under another name that was "Plugin already registered").
    def test_the_option_that_names_it_where_it_is_installed(self):
        self.needs_pymta_installed()
        self.assert_all_pass('-p', 'pymta.pytest_plugin', entry_points=True)

    def test_a_conftest_that_names_it_where_it_is_installed(self):
        self.needs_pymta_installed()
        self.assert_all_pass(
            entry_points=True,
            conftest="pytest_plugins = ['pymta.pytest_plugin']\n")

    def test_it_can_be_turned_off_by_that_name(self):
        self.needs_pymta_installed()
        returncode, output = self.run_pytest(
            '-p', 'no:pymta.pytest_plugin', '--fixtures', entry_points=True)
        self.assertEqual(0, returncode, output)
        self.assertFalse('make_smtp_server' in output, output)
