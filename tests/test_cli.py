# -*- coding: utf-8 -*-
"""``python -m pymta`` (issue 15, item 1), run as a user runs it: a program
that serves on a port, prints (or stores) what it receives and stops with
exit status 0 on Ctrl-C; its options for AUTH, TLS, the extensions and
fault injection, checked with smtplib."""
from __future__ import absolute_import

import io
import mailbox
import os
import shlex
import shutil
import signal
import smtplib
import subprocess
import sys
import tempfile
import time
import unittest

from pymta import policies
from pymta.cli import UsageError, argument_parser, build_server, \
    parse_fault
from pymta.mta import PythonMTA
from pymta.sockets import host_and_port
from .mta_support import TIMEOUT, ServerProgram, swaks_or_skip, \
    wait_for_exit
from .programs import find_executable


CLI_PAGE = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        os.pardir, 'docs', 'cli.md')


class FaultOptionTest(unittest.TestCase):
    def test_kinds_commands_and_options(self):
        fault = parse_fault('tempfail:RCPT TO:nth=2')
        self.assertTrue(isinstance(fault, policies.TempFail))
        self.assertEqual(('RCPT TO',), fault.commands)
        self.assertEqual(frozenset([2]), fault.nth)
        fault = parse_fault('reject:mail from:rate=0.5,seed=3,code=553,'
                            'text=Go away')
        self.assertTrue(isinstance(fault, policies.Reject))
        self.assertEqual((0.5, 553, 'Go away'),
                         (fault.rate, fault.code, fault.text))
        self.assertTrue(isinstance(parse_fault('shutdown:DATA'),
                                   policies.Shutdown421))
        drop = parse_fault('drop-after:message')
        self.assertTrue(isinstance(drop, policies.Drop))
        self.assertFalse(drop.before_reply)
        self.assertTrue(parse_fault('drop:connect').before_reply)
        delay = parse_fault('delay:HELO:seconds=1.5')
        self.assertEqual(1.5, delay.seconds)

    def test_mistakes_are_usage_errors(self):
        for spec in ('tempfail', 'explode:DATA', 'reject:NOPE',
                     'reject:DATA:nth', 'reject:DATA:nth=x',
                     'reject:DATA:colour=red', 'delay:HELO',
                     'reject:DATA:seconds=1', 'reject:DATA:rate=2',
                     'reject:DATA:nth=0', 'tempfail:DATA:nth=-1',
                     'reject:DATA:code=250', 'reject:DATA:code=451',
                     'tempfail:DATA:code=550', 'reject:DATA:code=999',
                     'delay:HELO:seconds=-1'):
            self.assertRaises(UsageError, parse_fault, spec)

    def test_a_store_or_certificate_that_cannot_serve_names_its_path(self):
        directory = tempfile.mkdtemp(prefix='pymta-cli-')
        self.addCleanup(shutil.rmtree, directory, True)
        a_file = os.path.join(directory, 'a-file')
        open(a_file, 'w').close()
        missing = os.path.join(directory, 'missing', 'below')
        for arguments, path in (
                (['--maildir', missing], missing),
                (['--maildir', a_file], a_file),
                (['--mbox', missing], missing),
                (['--mbox', directory], directory),
                (['--tls-cert', missing], missing),
                (['--tls-cert', a_file], a_file)):
            options = argument_parser().parse_args(arguments)
            try:
                build_server(options, lambda: directory)
            except UsageError as e:
                self.assertTrue(arguments[0] in str(e), str(e))
                self.assertTrue(path in str(e), str(e))
            else:
                self.fail('no usage error for %r' % (arguments,))
        self.assertFalse(os.path.exists(os.path.dirname(missing)))

    def test_a_new_store_is_made_before_serving(self):
        directory = tempfile.mkdtemp(prefix='pymta-cli-')
        self.addCleanup(shutil.rmtree, directory, True)
        maildir = os.path.join(directory, 'Maildir')
        mbox = os.path.join(directory, 'mbox')
        build_server(argument_parser().parse_args(
            ['--maildir', maildir, '--mbox', mbox]), lambda: directory)
        self.assertEqual(['cur', 'new', 'tmp'], sorted(os.listdir(maildir)))
        self.assertEqual(0, os.path.getsize(mbox))


class NamesTest(unittest.TestCase):
    def test_the_program_is_named_as_the_user_ran_it(self):
        saved = sys.argv[0]
        try:
            sys.argv[0] = os.path.join(os.sep, 'usr', 'local', 'bin', 'pymta')
            self.assertEqual('pymta', argument_parser().prog)
            sys.argv[0] = os.path.join(os.sep, 'src', 'pymta', '__main__.py')
            self.assertEqual('python -m pymta', argument_parser().prog)
        finally:
            sys.argv[0] = saved

    def test_where_it_listens(self):
        for host, port, text in (('127.0.0.1', 25, '127.0.0.1:25'),
                                 ('localhost', 8025, 'localhost:8025'),
                                 ('::1', 25, '[::1]:25'),
                                 ('::', 2525, '[::]:2525'),
                                 ('', 25, '*:25')):
            self.assertEqual(text, host_and_port(host, port))


class DocumentedCommandsTest(unittest.TestCase):
    """Every ``python -m pymta ...`` command line of docs/cli.md is
    accepted and builds the server it describes (not started)."""

    def test_every_documented_command_line(self):
        commands = []
        with io.open(CLI_PAGE, encoding='utf-8') as page:
            for line in page:
                if line.startswith('$ python -m pymta'):
                    commands.append(shlex.split(line[len('$ python -m pymta'):]))
        self.assertTrue(len(commands) >= 8, commands)
        needs_openssl = find_executable('openssl') is None
        for arguments in commands:
            if needs_openssl and '--tls-self-signed' in arguments:
                continue
            directory = tempfile.mkdtemp(prefix='pymta-cli-doc-')
            self.addCleanup(shutil.rmtree, directory, True)
            # (the files the examples name: in a directory of the test's)
            arguments = [os.path.join(directory, os.path.basename(argument))
                         if argument.startswith('~') or
                         argument.endswith('.pem') else argument
                         for argument in arguments]
            if '--tls-cert' in arguments:
                from pymta.certificates import self_signed_certificate
                certfile, keyfile = self_signed_certificate(directory)
                os.rename(certfile, os.path.join(directory, 'cert.pem'))
                os.rename(keyfile, os.path.join(directory, 'key.pem'))
            options = argument_parser().parse_args(arguments)
            server = build_server(options, lambda: directory)
            self.assertTrue(isinstance(server, PythonMTA), arguments)


class CommandLineTest(ServerProgram, unittest.TestCase):
    command = [sys.executable, '-m', 'pymta']

    def serve(self, *options, **start_options):
        """Start ``python -m pymta`` on a free port with ``options``:
        ``(process, output, port)``."""
        process, output = self.start('--host', '127.0.0.1', '--port', '0',
                                     *options, **start_options)
        return process, output, self.listening_port(output)

    def client(self, port):
        client = smtplib.SMTP('127.0.0.1', port, timeout=TIMEOUT)
        self.addCleanup(client.close)
        return client

    def assert_usage_error(self, *arguments):
        process, output = self.start(*arguments)
        output.read_to_eof(TIMEOUT)
        self.assertEqual(2, wait_for_exit(process), arguments)
        self.assertTrue('error:' in self.stderr_text(), self.stderr_text())
        self.assertFalse('Traceback' in self.stderr_text())

    def test_help(self):
        process, output = self.start('--help')
        text = output.read_to_eof(TIMEOUT).decode('utf-8')
        self.assertEqual(0, wait_for_exit(process))
        self.assertTrue(text.startswith('usage: python -m pymta'), text)
        for option in ('--host', '--port', '--maildir', '--mbox',
                       '--tls-cert', '--tls-key', '--tls-self-signed',
                       '--smtps', '--require-tls', '--auth', '--auth-any',
                       '--max-size', '--smtputf8', '--8bitmime', '--chunking',
                       '--dsn', '--enhancedstatuscodes', '--pipelining',
                       '--fault', '--greylist', '--quiet', '-v'):
            self.assertTrue(option in text, option)

    def test_prints_each_message_and_stops_on_ctrl_c(self):
        process, output, port = self.serve()
        client = self.client(port)
        client.ehlo('client.example')
        self.assertFalse(client.has_extn('auth'))
        client.sendmail('me@example.com', ['you@example.com'],
                        'Subject: hi\r\n\r\nHello')
        client.quit()
        printed = output.read_until(b'END MESSAGE ------------\n')
        self.assertTrue(b'Sender:     <me@example.com>\n' in printed, printed)
        self.assertTrue(b'\nSubject: hi\n\nHello\n' in printed, printed)
        self.assertEqual(b'', self.assert_stops_cleanly(process, output,
                                                        signal.SIGINT))

    def test_quiet_prints_no_message(self):
        # (only where it listens)
        process, output, port = self.serve('--quiet')
        client = self.client(port)
        client.sendmail('me@example.com', ['you@example.com'], 'hi')
        client.quit()
        self.assertEqual(b'', self.assert_stops_cleanly(process, output,
                                                        signal.SIGTERM))

    def test_verbose_logs_the_transcript(self):
        process, output, port = self.serve('-v', '--quiet', '--auth',
                                           'joe:secret')
        client = self.client(port)
        client.ehlo('verbose.example')
        client.esmtp_features['auth'] = ' PLAIN'
        self.assertEqual(235, client.login('joe', 'secret')[0])
        client.quit()
        self.assert_stops_cleanly(process, output, signal.SIGTERM)
        log = self.stderr_text()
        self.assertTrue(' > 220 ' in log, log)
        # (smtplib writes its commands in lower case)
        self.assertTrue(' < ehlo verbose.example\n' in log.lower(), log)
        self.assertTrue(' > 250-localhost' in log, log)
        self.assertTrue(' < AUTH PLAIN ***\n' in log, log)
        self.assertTrue(' > 235 ' in log, log)
        self.assertTrue(' < quit\n' in log.lower(), log)
        self.assertFalse('secret' in log, log)

    def test_usage_errors(self):
        for arguments in (['--tls-key', 'key.pem'], ['--smtps'],
                          ['--require-tls'], ['--auth', 'nopassword'],
                          ['--auth-any', '--auth', 'joe:x'],
                          ['--fault', 'explode:DATA'], ['--port', 'x'],
                          ['--port', '65536'], ['--port', '-1'],
                          ['--max-size', '0'], ['--max-size', '-5'],
                          ['--greylist', '-1'],
                          ['--auth', 'joe:a', '--auth', 'joe:b'],
                          ['--tls-cert', 'missing.pem'],
                          ['--tls-self-signed', '--tls-cert', 'c.pem']):
            self.assert_usage_error(*arguments)

    def test_swaks_into_a_maildir(self):
        swaks = swaks_or_skip(self)
        directory = tempfile.mkdtemp(prefix='pymta-cli-')
        self.addCleanup(shutil.rmtree, directory, True)
        maildir = os.path.join(directory, 'Maildir')
        process, output, port = self.serve('--maildir', maildir, '--quiet')
        with open(os.devnull, 'wb') as devnull:
            status = subprocess.call(
                [swaks, '--server', '127.0.0.1:%d' % port, '--from',
                 'me@example.com', '--to', 'you@example.com',
                 '--header', 'Subject: into the Maildir', '--body',
                 'Hello Maildir'], stdout=devnull, stderr=devnull)
        self.assertEqual(0, status)
        self.assert_stops_cleanly(process, output, signal.SIGTERM)
        stored = list(mailbox.Maildir(maildir, factory=None))
        self.assertEqual(1, len(stored))
        self.assertEqual('into the Maildir', stored[0]['Subject'])
        self.assertEqual('<me@example.com>', stored[0]['Return-Path'])
        self.assertTrue('Hello Maildir' in stored[0].get_payload())

    def test_mbox_and_printing_together(self):
        directory = tempfile.mkdtemp(prefix='pymta-cli-')
        self.addCleanup(shutil.rmtree, directory, True)
        path = os.path.join(directory, 'mail.mbox')
        process, output, port = self.serve('--mbox', path)
        client = self.client(port)
        for number in range(3):
            client.sendmail('me@example.com', ['you@example.com'],
                            'Subject: %d\r\n\r\nbody' % number)
        client.quit()
        for number in range(3):
            output.read_until(b'END MESSAGE ------------\n')
        self.assert_stops_cleanly(process, output, signal.SIGTERM)
        stored = mailbox.mbox(path)
        self.assertEqual(['0', '1', '2'],
                         [message['Subject'] for message in stored])
        stored.close()

    def test_users_and_passwords(self):
        process, output, port = self.serve('--auth', 'joe:secret', '--auth',
                                           'ann:pw:with:colons', '--quiet')
        client = self.client(port)
        client.ehlo('client.example')
        self.assertEqual(' PLAIN LOGIN CRAM-MD5', client.esmtp_features['auth'])
        try:
            client.login('joe', 'wrong')
        except smtplib.SMTPAuthenticationError as e:
            self.assertEqual(535, e.smtp_code)
        else:
            self.fail('a wrong password was accepted')
        client.login('ann', 'pw:with:colons')     # (CRAM-MD5: preferred)
        client.quit()
        for mechanism in ('PLAIN', 'LOGIN'):
            client = self.client(port)
            client.ehlo('client.example')
            client.esmtp_features['auth'] = ' ' + mechanism
            self.assertEqual(235, client.login('joe', 'secret')[0])
            client.quit()
        self.assert_stops_cleanly(process, output, signal.SIGTERM)

    def test_any_user(self):
        process, output, port = self.serve('--auth-any')
        client = self.client(port)
        client.login('whoever', 'whatever')
        client.sendmail('me@example.com', ['you@example.com'], 'hi')
        client.quit()
        printed = output.read_until(b'END MESSAGE ------------\n')
        self.assertTrue(b'Username:   whoever\n' in printed, printed)
        self.assert_stops_cleanly(process, output, signal.SIGTERM)

    def test_size_limit_and_extensions(self):
        process, output, port = self.serve(
            '--max-size', '1000', '--smtputf8', '--8bitmime', '--chunking',
            '--dsn', '--enhancedstatuscodes', '--pipelining', '--quiet')
        client = self.client(port)
        client.ehlo('client.example')
        self.assertEqual('1000', client.esmtp_features['size'])
        for extension in ('smtputf8', '8bitmime', 'chunking', 'dsn',
                          'enhancedstatuscodes', 'pipelining'):
            self.assertTrue(client.has_extn(extension), extension)
        client.mail('me@example.com')
        client.rcpt('you@example.com')
        code, text = client.data('x' * 2000)
        self.assertEqual(552, code)
        self.assertTrue(text.startswith(b'5.3.4 '), text)
        client.quit()
        self.assert_stops_cleanly(process, output, signal.SIGTERM)

    def test_a_sigterm_to_its_whole_process_group(self):
        # (as a service manager, timeout(1) or 'kill -- -PGID' stop it:
        # the worker processes get the signal too, and their end is part
        # of the shutdown, not a fault to log and make good)
        process, output, port = self.serve('--quiet', new_session=True)
        for _ in range(3):
            client = self.client(port)
            client.sendmail('me@example.com', ['you@example.com'], 'hi')
            client.quit()
        os.killpg(process.pid, signal.SIGTERM)
        output.read_to_eof(TIMEOUT)
        self.assertEqual(0, wait_for_exit(process), self.stderr_text())
        log = self.stderr_text()
        self.assertFalse('replacing' in log, log)
        self.assertFalse('Traceback' in log, log)

    def test_fault_injection(self):
        process, output, port = self.serve(
            '--fault', 'tempfail:RCPT TO:nth=1', '--quiet')
        client = self.client(port)
        try:
            client.sendmail('me@example.com', ['you@example.com'], 'hi')
        except smtplib.SMTPRecipientsRefused as e:
            self.assertEqual(451, e.recipients['you@example.com'][0])
        else:
            self.fail('the first recipient was accepted')
        self.assertEqual({}, client.sendmail('me@example.com',
                                             ['you@example.com'], 'hi'))
        client.quit()
        # (the first of the server, not of each worker process: new
        # connections, one at a time or at once, are all accepted)
        self.assert_new_clients_accepted(port)
        self.assert_stops_cleanly(process, output, signal.SIGTERM)

    def assert_new_clients_accepted(self, port):
        """Six clients connected at once, then six one after another, each
        sending a message: every one is accepted."""
        clients = [self.client(port) for _ in range(6)]
        for client in clients + [self.client(port) for _ in range(6)]:
            self.assertEqual({}, client.sendmail('me@example.com',
                                                 ['you@example.com'], 'hi'))
            client.quit()

    def test_greylisting_remembers_every_attempt(self):
        process, output, port = self.serve('--greylist', '0.2', '--quiet')
        first = self.client(port)
        self.assertRaises(smtplib.SMTPRecipientsRefused, first.sendmail,
                          'me@example.com', ['you@example.com'], 'hi')
        first.quit()
        time.sleep(0.3)     # (the retry must come SECONDS later)
        self.assert_new_clients_accepted(port)
        self.assert_stops_cleanly(process, output, signal.SIGTERM)

    def test_greylisting(self):
        process, output, port = self.serve('--greylist', '3600', '--quiet')
        client = self.client(port)
        try:
            client.sendmail('me@example.com', ['you@example.com'], 'hi')
        except smtplib.SMTPRecipientsRefused as e:
            code, text = e.recipients['you@example.com']
            self.assertEqual(451, code)
            self.assertTrue(b'Greylisted' in text, text)
        else:
            self.fail('not greylisted')
        client.quit()
        self.assert_stops_cleanly(process, output, signal.SIGTERM)

    def _needs_openssl(self):
        if find_executable('openssl') is None:
            self.skipTest('no openssl command (.ci/packages installs it)')

    def test_starttls_with_a_throwaway_certificate(self):
        self._needs_openssl()
        process, output, port = self.serve('--tls-self-signed',
                                           '--require-tls')
        client = self.client(port)
        client.ehlo('client.example')
        self.assertTrue(client.has_extn('starttls'))
        self.assertEqual(530, client.mail('me@example.com')[0])
        client.rset()
        client.starttls()
        client.ehlo('client.example')
        client.sendmail('me@example.com', ['you@example.com'], 'secret')
        client.quit()
        printed = output.read_until(b'END MESSAGE ------------\n')
        self.assertTrue(b'\nsecret\n' in printed, printed)
        self.assert_stops_cleanly(process, output, signal.SIGTERM)

    def test_implicit_tls(self):
        self._needs_openssl()
        process, output, port = self.serve('--tls-self-signed', '--smtps',
                                           '--quiet')
        # (smtplib's SMTP_SSL verifies nothing without a context: right
        # for a throwaway certificate)
        client = smtplib.SMTP_SSL('127.0.0.1', port, timeout=TIMEOUT)
        self.addCleanup(client.close)
        self.assertEqual(250, client.ehlo('client.example')[0])
        self.assertFalse(client.has_extn('starttls'))
        client.quit()
        self.assert_stops_cleanly(process, output, signal.SIGTERM)
