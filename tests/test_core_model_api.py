# -*- coding: utf-8 -*-
"""SPEC sections 1-3: pymta.compat, pymta.api (PolicyDecision, IMTAPolicy
defaults) and pymta.model (Peer, Message)."""
from __future__ import absolute_import, print_function

import pickle
import unittest

import six

from pymta import compat
from pymta.api import (IAuthenticator, IMessageDeliverer, IMTAPolicy,
    PolicyDecision, PyMTAException)
from pymta.model import Message, Peer


class CompatTest(unittest.TestCase):
    def test_b64encode_returns_text(self):
        result = compat.b64encode('foo')
        self.assertEqual('Zm9v', result)
        self.assertTrue(isinstance(result, six.text_type) or isinstance(result, str))

    def test_b64decode_returns_text(self):
        result = compat.b64decode('Zm9v')
        self.assertEqual('foo', result)
        self.assertFalse(six.PY3 and isinstance(result, bytes))

    def test_b64_round_trip(self):
        text = '\0foo\0bar baz '
        self.assertEqual(text, compat.b64decode(compat.b64encode(text)))

    def test_b_gives_latin1_bytes(self):
        self.assertEqual(b'abc', compat.b('abc'))
        self.assertTrue(isinstance(compat.b('abc'), bytes))
        self.assertEqual(b'\xe9\xff', compat.b(u'\xe9\xff'))

    def test_basestring_and_unicode(self):
        self.assertTrue(isinstance('native', compat.basestring))
        self.assertTrue(isinstance(u'text', compat.basestring))
        self.assertTrue(isinstance(u'text', compat.unicode))
        self.assertTrue(compat.unicode is six.text_type)

    def test_queue_module(self):
        q = compat.queue.Queue()
        q.put(1)
        self.assertEqual(1, q.get_nowait())
        self.assertRaises(compat.queue.Empty, q.get_nowait)


class PeerTest(unittest.TestCase):
    def test_attributes(self):
        peer = Peer('127.0.0.1', 4567)
        self.assertEqual('127.0.0.1', peer.remote_ip)
        self.assertEqual(4567, peer.remote_port)

    def test_keyword_arguments(self):
        peer = Peer(remote_ip='10.1.2.3', remote_port=25)
        self.assertEqual('10.1.2.3', peer.remote_ip)
        self.assertEqual(25, peer.remote_port)

    def test_repr(self):
        self.assertEqual('Peer(127.0.0.1, 4567)', repr(Peer('127.0.0.1', 4567)))

    def test_picklable(self):
        peer = Peer('127.0.0.1', 4567)
        for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
            copy = pickle.loads(pickle.dumps(peer, protocol))
            self.assertEqual('127.0.0.1', copy.remote_ip)
            self.assertEqual(4567, copy.remote_port)


class MessageTest(unittest.TestCase):
    def setUp(self):
        self.peer = Peer('127.0.0.1', 4567)

    def test_defaults(self):
        msg = Message(self.peer)
        self.assertTrue(msg.peer is self.peer)
        self.assertEqual(None, msg.smtp_helo)
        self.assertEqual(None, msg.smtp_from)
        self.assertEqual([], msg.smtp_to)
        self.assertEqual(None, msg.msg_data)
        self.assertEqual(None, msg.username)
        self.assertEqual({}, msg.unvalidated_input)

    def test_all_arguments(self):
        msg = Message(self.peer, smtp_helo='client', smtp_from='a@example.com',
                      smtp_to=['b@example.com', 'c@example.com'], msg_data='Hi',
                      username='foo')
        self.assertEqual('client', msg.smtp_helo)
        self.assertEqual('a@example.com', msg.smtp_from)
        self.assertEqual(['b@example.com', 'c@example.com'], msg.smtp_to)
        self.assertEqual('Hi', msg.msg_data)
        self.assertEqual('foo', msg.username)

    def test_positional_arguments(self):
        msg = Message(self.peer, 'client', 'a@example.com', ['b@example.com'], 'Hi', 'foo')
        self.assertEqual(('client', 'a@example.com', ['b@example.com'], 'Hi', 'foo'),
            (msg.smtp_helo, msg.smtp_from, msg.smtp_to, msg.msg_data, msg.username))

    def test_smtp_to_none_becomes_empty_list(self):
        self.assertEqual([], Message(self.peer, smtp_to=None).smtp_to)

    def test_smtp_to_single_string_becomes_list(self):
        msg = Message(self.peer, smtp_to='b@example.com')
        self.assertEqual(['b@example.com'], msg.smtp_to)
        msg = Message(self.peer, smtp_to=u'b@example.com')
        self.assertEqual([u'b@example.com'], msg.smtp_to)

    def test_smtp_to_is_always_a_list(self):
        msg = Message(self.peer, smtp_to=('b@example.com', 'c@example.com'))
        self.assertTrue(isinstance(msg.smtp_to, list))
        self.assertEqual(['b@example.com', 'c@example.com'], msg.smtp_to)

    def test_default_smtp_to_lists_not_shared(self):
        first = Message(self.peer)
        second = Message(self.peer)
        first.smtp_to.append('x@example.com')
        self.assertEqual([], second.smtp_to)
        self.assertFalse(first.unvalidated_input is second.unvalidated_input)

    def test_picklable(self):
        msg = Message(self.peer, smtp_helo='client', smtp_from='',
                      smtp_to=['b@example.com', 'postmaster'], msg_data='Subject: T\n\nHi',
                      username='foo')
        msg.unvalidated_input['foo'] = 'bar'
        for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
            copy = pickle.loads(pickle.dumps(msg, protocol))
            self.assertEqual('127.0.0.1', copy.peer.remote_ip)
            self.assertEqual(4567, copy.peer.remote_port)
            self.assertEqual('client', copy.smtp_helo)
            self.assertEqual('', copy.smtp_from)
            self.assertEqual(['b@example.com', 'postmaster'], copy.smtp_to)
            self.assertEqual('Subject: T\n\nHi', copy.msg_data)
            self.assertEqual('foo', copy.username)
            self.assertEqual({'foo': 'bar'}, copy.unvalidated_input)


class PolicyDecisionTest(unittest.TestCase):
    def test_defaults(self):
        decision = PolicyDecision()
        self.assertTrue(decision.is_command_acceptable())
        self.assertFalse(decision.use_custom_reply())
        self.assertRaises(ValueError, decision.get_custom_reply)
        self.assertFalse(decision.close_connection_before_response())
        self.assertFalse(decision.close_connection_after_response())
        self.assertEqual(False, decision._close_connection_before_response)
        self.assertEqual(False, decision._close_connection_after_response)

    def test_reject(self):
        decision = PolicyDecision(False)
        self.assertFalse(decision.is_command_acceptable())
        self.assertFalse(decision.use_custom_reply())
        self.assertRaises(ValueError, decision.get_custom_reply)

    def test_custom_reply(self):
        decision = PolicyDecision(False, (553, 'go away'))
        self.assertFalse(decision.is_command_acceptable())
        self.assertTrue(decision.use_custom_reply())
        self.assertEqual((553, 'go away'), tuple(decision.get_custom_reply()))

    def test_keyword_arguments(self):
        decision = PolicyDecision(decision=True, reply=(250, ['one', 'two']))
        self.assertTrue(decision.is_command_acceptable())
        self.assertTrue(decision.use_custom_reply())
        code, lines = decision.get_custom_reply()
        self.assertEqual(250, code)
        self.assertEqual(['one', 'two'], list(lines))

    def test_legacy_close_attributes(self):
        decision = PolicyDecision(True)
        decision._close_connection_before_response = True
        self.assertTrue(decision.close_connection_before_response())
        self.assertFalse(decision.close_connection_after_response())
        decision = PolicyDecision(True)
        decision._close_connection_after_response = True
        self.assertFalse(decision.close_connection_before_response())
        self.assertTrue(decision.close_connection_after_response())

    def test_close_attributes_are_per_instance(self):
        first = PolicyDecision()
        first._close_connection_after_response = True
        self.assertFalse(PolicyDecision().close_connection_after_response())


class InterfacesTest(unittest.TestCase):
    def test_interfaces_can_be_subclassed(self):
        class Deliverer(IMessageDeliverer):
            def new_message_accepted(self, msg):
                return 'delivered %s' % msg
        class Authenticator(IAuthenticator):
            def authenticate(self, username, password, peer):
                return username == 'foo'
        self.assertEqual('delivered x', Deliverer().new_message_accepted('x'))
        self.assertTrue(Authenticator().authenticate('foo', 'bar', Peer('127.0.0.1', 1)))

    def test_pymta_exception_is_an_exception(self):
        self.assertTrue(issubclass(PyMTAException, Exception))


class SizedPolicy(IMTAPolicy):
    def max_message_size(self, peer):
        return 1000


class LoginOnlyPolicy(IMTAPolicy):
    def auth_methods(self, peer):
        return ('LOGIN',)


class PlainOnlyPolicy(IMTAPolicy):
    def auth_methods(self, peer):
        return ('PLAIN',)


class NoAuthSizedPolicy(SizedPolicy):
    def auth_methods(self, peer):
        return ()


class IMTAPolicyDefaultsTest(unittest.TestCase):
    def setUp(self):
        self.peer = Peer('127.0.0.1', 4567)
        self.msg = Message(self.peer, smtp_helo='client')
        self.policy = IMTAPolicy()

    def test_accepting_defaults(self):
        p, m = self.policy, self.msg
        self.assertTrue(p.accept_new_connection(self.peer) is True)
        self.assertTrue(p.accept_helo('client', m) is True)
        self.assertTrue(p.accept_ehlo('client', m) is True)
        self.assertTrue(p.accept_from('a@example.com', m) is True)
        self.assertTrue(p.accept_rcpt_to('b@example.com', m) is True)
        self.assertTrue(p.accept_data(m) is True)
        self.assertTrue(p.accept_msgdata('Subject: T\n\nHi', m) is True)

    def test_max_message_size(self):
        self.assertEqual(None, self.policy.max_message_size(self.peer))

    def test_auth_methods(self):
        self.assertEqual(('PLAIN', 'LOGIN'), tuple(self.policy.auth_methods(self.peer)))

    def test_ehlo_lines(self):
        lines = self.policy.ehlo_lines(self.peer)
        self.assertTrue(isinstance(lines, tuple), repr(lines))
        self.assertEqual(('AUTH PLAIN LOGIN',), lines)

    def test_ehlo_lines_with_size(self):
        self.assertEqual(('SIZE 1000', 'AUTH PLAIN LOGIN'), SizedPolicy().ehlo_lines(self.peer))

    def test_ehlo_lines_without_auth_methods(self):
        self.assertEqual(('SIZE 1000',), NoAuthSizedPolicy().ehlo_lines(self.peer))

    def test_ehlo_lines_with_one_auth_method(self):
        self.assertEqual(('AUTH LOGIN',), LoginOnlyPolicy().ehlo_lines(self.peer))

    def test_accept_auth_plain_follows_auth_methods(self):
        self.assertTrue(self.policy.accept_auth_plain('foo', 'bar', self.msg))
        self.assertFalse(LoginOnlyPolicy().accept_auth_plain('foo', 'bar', self.msg))
        self.assertTrue(PlainOnlyPolicy().accept_auth_plain('foo', 'bar', self.msg))

    def test_accept_auth_login_follows_auth_methods(self):
        self.assertTrue(self.policy.accept_auth_login('foo', self.msg))
        self.assertTrue(self.policy.accept_auth_login(None, self.msg))
        self.assertTrue(LoginOnlyPolicy().accept_auth_login(None, self.msg))
        self.assertFalse(PlainOnlyPolicy().accept_auth_login('foo', self.msg))
        self.assertFalse(PlainOnlyPolicy().accept_auth_login(None, self.msg))


if __name__ == '__main__':
    unittest.main()
