# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
"""AUTH through a real server (a PythonMTA in a process of its own, on both
serving paths) with smtplib: ``login()`` picks CRAM-MD5 where EHLO offers
it, PLAIN where only PLAIN and LOGIN are offered; AcceptAnyAuthenticator
puts the credentials on the delivered message (which crossed a process
boundary: the server pickles it into its spool)."""

from __future__ import absolute_import

import base64
import smtplib
import unittest

from pymta.cram_md5 import digest_matches

from .mta_support import OnForkPath, ServerProcess, ServerProcessPerClass, \
    smtp_client


def b64(text):
    return base64.b64encode(text.encode('utf-8')).decode('ascii')


class ServerPerClass(ServerProcessPerClass):
    """One server per class (``policy``, ``authenticator``: names of
    mta_support's POLICIES and AUTHENTICATORS); a subclass sets
    ``use_multiprocessing``. Each test starts with an empty spool."""

    policy = None
    authenticator = None

    @classmethod
    def new_server(cls):
        return ServerProcess(cls.use_multiprocessing, policy=cls.policy,
                             authenticator=cls.authenticator)

    def smtp(self):
        connection = smtp_client(self, self.server.port)
        connection.ehlo('client.example')
        return connection

    def send_one(self, connection, sender='me@example.com'):
        """Send a message over ``connection``, quit; the message as the
        server delivered it."""
        connection.sendmail(sender, ['you@example.com'], 'Subject: hi\n\nhi')
        connection.quit()
        messages = self.server.messages()
        self.assertEqual(1, len(messages), messages)
        return messages[0]

    def assert_login_fails(self, connection, user, password):
        try:
            connection.login(user, password)
        except smtplib.SMTPAuthenticationError as e:
            self.assertEqual(535, e.smtp_code)
        else:
            self.fail('login succeeded with a bad password')


class CramMd5OfferedTests(ServerPerClass):
    """EHLO offers CRAM-MD5 first; the authenticator checks the digest
    (the password is the user name)."""

    policy = 'cram-md5'
    authenticator = 'cram-md5'

    def test_ehlo_offers_cram_md5(self):
        connection = self.smtp()
        self.assertEqual(['CRAM-MD5', 'PLAIN', 'LOGIN'],
                         connection.esmtp_features['auth'].split())

    def test_login_takes_cram_md5(self):
        connection = self.smtp()
        self.assertEqual(235, connection.login('alice', 'alice')[0])
        message = self.send_one(connection)
        self.assertEqual('alice', message.username)
        self.assertEqual('CRAM-MD5', message.auth_mechanism)
        # (the authenticator does not ask for the password)
        self.assertEqual(None, message.password)
        self.assertEqual(None, message.cram_md5)

    def test_a_bad_password_then_a_good_one(self):
        connection = self.smtp()
        self.assert_login_fails(connection, 'alice', 'wrong')
        self.assertEqual(235, connection.login('bob', 'bob')[0])
        self.assertEqual('bob', self.send_one(connection).username)

    def test_the_challenge_changes(self):
        challenges = set()
        for _ in range(3):
            connection = self.smtp()
            code, challenge = connection.docmd('AUTH CRAM-MD5')
            self.assertEqual(334, code)
            challenges.add(challenge)
            self.assertEqual(501, connection.docmd('*')[0])
            connection.quit()
        self.assertEqual(3, len(challenges))

    def test_plain_and_login_still_work(self):
        for mechanism in ('PLAIN', 'LOGIN'):
            self.server.forget_messages()
            connection = self.smtp()
            connection.esmtp_features['auth'] = mechanism
            self.assertEqual(235, connection.login('carol', 'carol')[0])
            message = self.send_one(connection)
            self.assertEqual(('carol', mechanism),
                             (message.username, message.auth_mechanism))


class OnlyPlainAndLoginOfferedTests(ServerPerClass):
    """The default auth_methods (PLAIN, LOGIN), an authenticator that could
    do CRAM-MD5: EHLO is as it always was, login() takes PLAIN."""

    policy = 'scripted'
    authenticator = 'cram-md5'

    def test_login_takes_plain(self):
        connection = self.smtp()
        self.assertEqual(['PLAIN', 'LOGIN'],
                         connection.esmtp_features['auth'].split())
        self.assertEqual(235, connection.login('dave', 'dave')[0])
        message = self.send_one(connection)
        self.assertEqual(('dave', 'PLAIN'),
                         (message.username, message.auth_mechanism))

    def test_cram_md5_is_refused_by_the_policy(self):
        connection = self.smtp()
        self.assertEqual((550, b'Administrative Prohibition'),
                         connection.docmd('AUTH CRAM-MD5'))
        self.assertEqual(250, connection.noop()[0])


class AcceptAnyTests(ServerPerClass):
    """AcceptAnyAuthenticator, CRAM-MD5 offered first."""

    policy = 'cram-md5'
    authenticator = 'accept-any'

    def test_login_with_cram_md5_records_the_answer(self):
        connection = self.smtp()
        self.assertEqual(235, connection.login('anyone', 'whatever')[0])
        message = self.send_one(connection)
        self.assertEqual(('anyone', 'CRAM-MD5', None),
                         (message.username, message.auth_mechanism,
                          message.password))
        # the test can check the password the client used
        self.assertTrue(digest_matches('whatever', **message.cram_md5))
        self.assertFalse(digest_matches('other', **message.cram_md5))

    def test_plain_and_login_record_the_password(self):
        for mechanism in ('PLAIN', 'LOGIN'):
            self.server.forget_messages()
            connection = self.smtp()
            connection.esmtp_features['auth'] = mechanism
            self.assertEqual(235, connection.login('erin', 's3cret!')[0])
            message = self.send_one(connection)
            self.assertEqual(('erin', mechanism, 's3cret!', None),
                             (message.username, message.auth_mechanism,
                              message.password, message.cram_md5))

    def test_the_facts_stay_for_the_next_message(self):
        connection = self.smtp()
        connection.login('frank', 'pw')
        connection.sendmail('a@example.com', ['you@example.com'], 'one')
        connection.rset()
        connection.sendmail('b@example.com', ['you@example.com'], 'two')
        connection.quit()
        messages = self.server.messages()
        self.assertEqual(['a@example.com', 'b@example.com'],
                         [message.smtp_from for message in messages])
        for message in messages:
            self.assertEqual(('frank', 'CRAM-MD5'),
                             (message.username, message.auth_mechanism))
            self.assertTrue(digest_matches('pw', **message.cram_md5))


class CramMd5OfferedForkPathTest(OnForkPath, CramMd5OfferedTests,
                                 unittest.TestCase):
    pass


class CramMd5OfferedSerialPathTest(CramMd5OfferedTests, unittest.TestCase):
    use_multiprocessing = False


class OnlyPlainAndLoginForkPathTest(OnForkPath, OnlyPlainAndLoginOfferedTests,
                                    unittest.TestCase):
    pass


class OnlyPlainAndLoginSerialPathTest(OnlyPlainAndLoginOfferedTests,
                                      unittest.TestCase):
    use_multiprocessing = False


class AcceptAnyForkPathTest(OnForkPath, AcceptAnyTests, unittest.TestCase):
    pass


class AcceptAnySerialPathTest(AcceptAnyTests, unittest.TestCase):
    use_multiprocessing = False


if __name__ == '__main__':
    unittest.main()
