# -*- coding: utf-8 -*-
"""Every Python example of README.md runs, and does what the README says."""
from __future__ import absolute_import, print_function

import io
import os
import re
import smtplib
import unittest

from pymta.test_util import SMTPTestHelper
from .test_pytest_plugin import run_pytest_on


README = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir,
                      'README.md')


def python_examples():
    with io.open(README, encoding='utf-8') as readme:
        text = readme.read()
    return re.findall(r'^```python\n(.*?)^```', text, re.MULTILINE | re.DOTALL)


def run_example(source, name='readme_example'):
    namespace = {'__name__': name}
    exec(compile(source, README, 'exec'), namespace)
    return namespace


class ReadmeExamplesTest(unittest.TestCase):
    def setUp(self):
        self.examples = python_examples()

    def example_with(self, text):
        found = [source for source in self.examples if text in source]
        self.assertEqual(1, len(found), text)
        return found[0]

    def test_there_are_eight_examples(self):
        self.assertEqual(8, len(self.examples))

    def test_fault_injection(self):
        namespace = run_example(self.example_with('FaultPolicy(TempFail('))
        self.assertEqual(451, namespace['code'])
        self.assertEqual(['first'], [
            message.msg_data for message in namespace['server'].messages])

    def test_waiting_for_messages(self):
        namespace = run_example(self.example_with('wait_for_messages(1, '
                                                  'timeout=5)'))
        self.assertEqual(['you@example.com'], namespace['message'].smtp_to)
        self.assertEqual(None, namespace['helper'].mta_thread)

    def test_the_pytest_fixtures(self):
        # (pytest runs the example as a test module of its own)
        source = self.example_with('def test_sends_mail(smtp_server)')
        returncode, output = run_pytest_on(source)
        self.assertEqual(0, returncode, output)
        self.assertTrue('2 passed' in output, output)

    def test_the_context_managers(self):
        namespace = run_example(self.example_with('with PythonMTA('))
        self.assertEqual(['you@example.com'], namespace['message'].smtp_to)
        self.assertEqual(250, namespace['code'])

    def test_the_connection(self):
        namespace = run_example(self.example_with('SMTPConnection('))
        self.assertTrue(namespace['smtp'].closing)

    def test_the_smtp_test_case(self):
        namespace = run_example(self.example_with('class MailTest'))
        result = unittest.TestResult()
        namespace['MailTest']('test_sends_mail').run(result)
        self.assertEqual([], result.errors + result.failures)
        self.assertEqual(1, result.testsRun)

    def test_the_smtp_test_helper(self):
        namespace = run_example(self.example_with('helper = SMTPTestHelper()'))
        self.assertTrue(namespace['messages'].empty())
        self.assertFalse(namespace['helper'].mta_thread)

    def test_the_policy(self):
        # (not run as __main__: the example does not start its server)
        namespace = run_example(self.example_with('class Policy'))
        self.assertFalse('server' in namespace)
        helper = SMTPTestHelper(policy_class=namespace['Policy'])
        hostname, port = helper.start_mta()
        self.addCleanup(helper.stop_mta)
        client = smtplib.SMTP(hostname, port)
        self.addCleanup(client.close)
        client.ehlo()
        self.assertTrue('size' in client.esmtp_features)
        self.assertEqual('10485760', client.esmtp_features['size'])
        client.mail('me@example.com')
        code, text = client.rcpt('you@elsewhere.com')
        self.assertEqual((550, b'No relaying.\nOnly example.com here.'),
                         (code, text))
        for number in range(11):
            self.assertEqual(250, client.rcpt('r%d@example.com' % number)[0])
        self.assertEqual((554, b'Too many recipients, goodbye'),
                         client.docmd('DATA'))
        self.assertRaises(smtplib.SMTPServerDisconnected, client.noop)


if __name__ == '__main__':
    unittest.main()
