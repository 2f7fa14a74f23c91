# -*- coding: utf-8 -*-
"""pymta.policies without a server: command names, which times a fault
acts (nth, rate and seed), counting under threads, what each fault
decides, the base policy behind the faults, and the exact replies on the
wire of a sans-I/O connection."""
from __future__ import absolute_import

import threading
import unittest

from pymta.api import IMTAPolicy, PolicyDecision
from pymta.decisions import as_policy_decision
from pymta.model import Message, Peer
from pymta.policies import COMMAND_HOOKS, Delay, Drop, Fault, FaultPolicy, \
    Greylisting, Reject, Reply, Shutdown421, TempFail
from .core_support import converse


def summary(result):
    """(accepted, custom reply, close before, close after) of a policy
    method's answer."""
    decision = as_policy_decision(result)
    return (decision.is_command_acceptable(),
            decision.get_custom_reply() if decision.use_custom_reply()
            else None,
            decision.close_connection_before_response(),
            decision.close_connection_after_response())


def message(sender='a@example.com', ip='127.0.0.1'):
    msg = Message(Peer(ip, 4567))
    msg.smtp_from = sender
    return msg


def selections(fault, times):
    return [fault.selected() for _ in range(times)]


class RecordingPolicy(IMTAPolicy):
    """Records every call; answers ``answer`` to every accept_*."""

    def __init__(self, answer=True):
        self.calls = []
        self.answer = answer

    def __getattribute__(self, name):
        attribute = object.__getattribute__(self, name)
        if name.startswith(('accept_', 'max_', 'auth_', 'ehlo_')):
            calls = object.__getattribute__(self, 'calls')
            answer = object.__getattribute__(self, 'answer')

            def recorded(*args):
                calls.append((name,) + args)
                if name.startswith('accept_'):
                    return answer
                return attribute(*args)
            return recorded
        return attribute


class CommandNamesTest(unittest.TestCase):
    def test_names_as_users_know_them_in_any_case(self):
        self.assertEqual(('RCPT TO',), TempFail('rcpt  to').commands)
        self.assertEqual(('connect',), Reject('CONNECT').commands)
        self.assertEqual(('message',), Drop('Message').commands)
        self.assertEqual(frozenset(['accept_auth_plain', 'accept_auth_login',
                                    'accept_auth_cram_md5']),
                         TempFail('AUTH').hooks)
        self.assertEqual(frozenset(['accept_auth_cram_md5']),
                         Reject('auth cram-md5').hooks)
        self.assertEqual(frozenset(['accept_helo', 'accept_ehlo']),
                         Reject(('HELO', 'EHLO')).hooks)

    def test_every_name_maps_to_policy_methods(self):
        for hooks in COMMAND_HOOKS.values():
            for hook in hooks:
                self.assertTrue(callable(getattr(IMTAPolicy, hook)), hook)

    def test_unknown_names_are_refused(self):
        self.assertRaises(ValueError, TempFail, 'RCPT')
        self.assertRaises(ValueError, TempFail, 'QUIT')
        self.assertRaises(ValueError, TempFail, ())
        self.assertRaises(ValueError, TempFail, [None])


class SelectionTest(unittest.TestCase):
    def test_every_time_by_default(self):
        fault = TempFail('DATA')
        self.assertEqual([True] * 5, selections(fault, 5))
        self.assertEqual(5, fault.count)

    def test_nth_and_a_collection_of_numbers(self):
        self.assertEqual([False, True, False, False],
                         selections(Drop('DATA', nth=2), 4))
        self.assertEqual([True, False, True, False],
                         selections(Drop('DATA', nth=(1, 3)), 4))

    def test_a_seed_gives_the_same_choices_every_time(self):
        first = selections(Reject('MAIL FROM', rate=0.3, seed=1), 200)
        again = selections(Reject('MAIL FROM', rate=0.3, seed=1), 200)
        other = selections(Reject('MAIL FROM', rate=0.3, seed=2), 200)
        self.assertEqual(first, again)
        self.assertNotEqual(first, other)
        # (the same 200 draws every run: a fixed count, about 30 %)
        self.assertTrue(40 <= first.count(True) <= 80, first.count(True))

    def test_rate_zero_and_one(self):
        self.assertEqual([False] * 50,
                         selections(Reject('DATA', rate=0, seed=3), 50))
        self.assertEqual([True] * 50,
                         selections(Reject('DATA', rate=1.0, seed=3), 50))

    def test_nth_and_rate_together(self):
        fault = Reject('DATA', nth=(1, 2, 3, 4), rate=0.5, seed=7)
        draws = selections(Reject('DATA', rate=0.5, seed=7), 6)
        self.assertEqual(draws[:4] + [False, False], selections(fault, 6))

    def test_nonsense_is_refused(self):
        self.assertRaises(ValueError, Reject, 'DATA', rate=1.5)
        self.assertRaises(ValueError, Reject, 'DATA', rate=-0.1)
        self.assertRaises(ValueError, Reject, 'DATA', seed=1)
        # (the first time is 1: 0 or less would never act)
        for nth in (0, -1, (), (1, 0), (2, 'x'), 1.5):
            self.assertRaises(ValueError, TempFail, 'DATA', nth=nth)
        # (the code says what the client makes of it)
        for fault_class, code in ((TempFail, 550), (TempFail, 399),
                                  (Reject, 451), (Reject, 600),
                                  (Reject, 250), (TempFail, '451')):
            self.assertRaises(ValueError, fault_class, 'DATA', code)
        for code in (199, 600, None):
            self.assertRaises(ValueError, Reply, 'DATA', code, 'text')
        self.assertEqual(250, Reply('DATA', 250, 'OK').code)
        self.assertEqual(599, Reject('DATA', 599).code)
        self.assertEqual(400, TempFail('DATA', 400).code)
        for seconds in (-1, -0.5, '1', None):
            self.assertRaises(ValueError, Delay, 'HELO', seconds)
            self.assertRaises(ValueError, Greylisting, seconds)
        self.assertEqual(0, Delay('HELO', 0).seconds)
        self.assertEqual(0, Greylisting(0).retry_after_seconds)

    def test_counting_is_safe_in_threads(self):
        fault = TempFail('RCPT TO', nth=137)
        chosen = []

        def ask():
            for _ in range(100):
                if fault.selected():
                    chosen.append(True)
        threads = [threading.Thread(target=ask) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(800, fault.count)
        self.assertEqual([True], chosen)

    def test_every_fault_counts_whichever_decides(self):
        first, second = Reject('RCPT TO', nth=1), TempFail('RCPT TO', nth=2)
        policy = FaultPolicy(first, second)
        answers = [summary(policy.accept_rcpt_to('b@example.com', message()))
                   for _ in range(3)]
        self.assertEqual([(False, (550, 'Rejected'), False, False),
                          (False, (451, 'Temporary failure, please try '
                                        'again later'), False, False),
                          (True, None, False, False)], answers)
        self.assertEqual((3, 3), (first.count, second.count))


class FaultsTest(unittest.TestCase):
    def test_reply_accepts_below_400(self):
        self.assertEqual((True, (250, ['fine', 'really']), False, False),
                         summary(FaultPolicy(Reply('MAIL FROM', 250, [
                             'fine', 'really'])).accept_from('a', message())))
        self.assertEqual((False, (553, 'no'), False, False),
                         summary(FaultPolicy(Reply('MAIL FROM', 553, 'no'))
                                 .accept_from('a', message())))

    def test_defaults_of_tempfail_and_reject(self):
        peer = Peer('127.0.0.1', 1)
        self.assertEqual((421, 'Service not available, try again later'),
                         (TempFail('connect').code, TempFail('connect').text))
        self.assertEqual((554, 'Service not available'),
                         (Reject('connect').code, Reject('connect').text))
        self.assertEqual(
            (False, (421, 'Service not available, try again later'), False,
             False),
            summary(FaultPolicy(TempFail('connect'))
                    .accept_new_connection(peer)))
        self.assertEqual((False, (550, 'Rejected'), False, False),
                         summary(FaultPolicy(Reject('DATA'))
                                 .accept_data(message())))
        self.assertEqual((False, (452, 'later'), False, False),
                         summary(FaultPolicy(TempFail('DATA', 452, 'later'))
                                 .accept_data(message())))

    def test_shutdown421_closes_after_its_reply(self):
        self.assertEqual(
            (False, (421, 'Service not available, closing transmission '
                          'channel'), False, True),
            summary(FaultPolicy(Shutdown421('RCPT TO'))
                    .accept_rcpt_to('b', message())))

    def test_drop_before_the_reply_asks_no_one_else(self):
        base = RecordingPolicy()
        policy = FaultPolicy(Drop('DATA'), base=base)
        self.assertEqual((False, None, True, False),
                         summary(policy.accept_data(message())))
        self.assertEqual([], base.calls)

    def test_drop_after_the_reply_keeps_the_decision_without_changing_it(self):
        base_decision = PolicyDecision(False, (554, 'no'))
        base = RecordingPolicy(answer=base_decision)
        policy = FaultPolicy(Drop('message', before_reply=False), base=base)
        self.assertEqual((False, (554, 'no'), False, True),
                         summary(policy.accept_msgdata('x', message())))
        self.assertFalse(base_decision.close_connection_after_response())
        base.answer = None
        self.assertEqual((True, None, False, True),
                         summary(policy.accept_msgdata('x', message())))
        base.answer = 'not a decision'
        self.assertEqual('not a decision',
                         policy.accept_msgdata('x', message()))

    def test_delay_waits_then_asks_the_rest(self):
        slept = []
        policy = FaultPolicy(Delay('HELO', 2.5, nth=2, sleep=slept.append),
                             Reject('HELO'))
        self.assertEqual(False, summary(policy.accept_helo('x', message()))[0])
        self.assertEqual([], slept)
        self.assertEqual(False, summary(policy.accept_helo('x', message()))[0])
        self.assertEqual([2.5], slept)

    def test_the_first_fault_that_decides_ends_the_chain(self):
        slept = []
        policy = FaultPolicy(Reject('HELO'), Delay('HELO', 1,
                                                   sleep=slept.append))
        self.assertEqual(False, summary(policy.accept_helo('x', message()))[0])
        self.assertEqual([], slept)


class GreylistingTest(unittest.TestCase):
    def setUp(self):
        self.now = 1000.0
        self.base = RecordingPolicy()
        self.policy = FaultPolicy(Greylisting(60, clock=lambda: self.now),
                                  base=self.base)

    def rcpt(self, recipient='b@example.com', **message_options):
        return summary(self.policy.accept_rcpt_to(
            recipient, message(**message_options)))

    def test_first_attempt_451_retry_after_the_delay_accepted(self):
        greylisted = (False, (451, '4.7.1 Greylisted, please try again later'),
                      False, False)
        self.assertEqual(greylisted, self.rcpt())
        self.now += 59.5
        self.assertEqual(greylisted, self.rcpt())
        self.assertEqual([], self.base.calls)
        self.now += 0.5
        self.assertEqual((True, None, False, False), self.rcpt())
        self.now += 86400
        self.assertEqual((True, None, False, False), self.rcpt())
        self.assertEqual(2, len(self.base.calls))

    def test_each_triple_on_its_own(self):
        self.assertFalse(self.rcpt()[0])
        self.now += 60
        self.assertTrue(self.rcpt()[0])
        self.assertFalse(self.rcpt(recipient='c@example.com')[0])
        self.assertFalse(self.rcpt(sender='other@example.com')[0])
        self.assertFalse(self.rcpt(ip='127.0.0.2')[0])

    def test_after_the_delay_the_base_decides(self):
        self.base.answer = False
        self.rcpt()
        self.now += 60
        self.assertEqual((False, None, False, False), self.rcpt())


class FaultPolicyTest(unittest.TestCase):
    def test_every_policy_method_is_the_bases_where_no_fault_acts(self):
        base = RecordingPolicy(answer=(False, (550, 'base')))
        policy = FaultPolicy(TempFail('STARTTLS'), base=base)
        msg, peer = message(), Peer('127.0.0.1', 1)
        calls = [
            ('accept_new_connection', peer), ('accept_helo', 'h', msg),
            ('accept_ehlo', 'h', msg), ('accept_auth_plain', 'u', 'p', msg),
            ('accept_auth_login', 'u', msg), ('accept_auth_cram_md5', msg),
            ('accept_from', 'a', msg), ('accept_rcpt_to', 'b', msg),
            ('accept_data', msg), ('accept_msgdata', 'text', msg)]
        for call in calls:
            self.assertEqual((False, (550, 'base')),
                             getattr(policy, call[0])(*call[1:]))
        self.assertEqual(calls, base.calls)
        del base.calls[:]
        self.assertEqual(None, policy.max_message_size(peer))
        self.assertEqual(('PLAIN', 'LOGIN'), policy.auth_methods(peer))
        self.assertEqual(('AUTH PLAIN LOGIN',), policy.ehlo_lines(peer))
        self.assertEqual(
            [('max_message_size', peer), ('auth_methods', peer),
             ('ehlo_lines', peer)], base.calls[:3])
        self.assertEqual(451, policy.accept_starttls(msg).reply[0])

    def test_every_imtapolicy_method_is_its_own(self):
        # (a method left to IMTAPolicy would ignore the base)
        names = [name for name in dir(IMTAPolicy) if not name.startswith('_')]
        self.assertTrue(len(names) >= 12, names)
        for name in names:
            self.assertTrue(name in FaultPolicy.__dict__, name)

    def test_without_base_it_accepts_everything(self):
        policy = FaultPolicy()
        self.assertTrue(policy.accept_rcpt_to('b', message()))
        self.assertTrue(isinstance(policy.base, IMTAPolicy))

    def test_what_it_refuses(self):
        self.assertRaises(TypeError, FaultPolicy, 'RCPT TO')
        self.assertRaises(TypeError, FaultPolicy, TempFail('DATA'), bsae=None)

    def test_a_fault_of_ones_own(self):
        class RejectBigSpenders(Fault):
            def decide(self, hook, args, rest):
                recipient = args[0]
                if recipient.startswith('big'):
                    return False
                return rest()
        policy = FaultPolicy(RejectBigSpenders('RCPT TO'))
        self.assertFalse(policy.accept_rcpt_to('big@example.com', message()))
        self.assertTrue(policy.accept_rcpt_to('small@example.com', message()))

    def test_repr(self):
        self.assertEqual(
            "FaultPolicy(TempFail('RCPT TO', 451, 'Temporary failure, please "
            "try again later', nth=[2]), Drop('DATA', before_reply=False, "
            "rate=0.5), Delay('HELO', 1), Greylisting(300))",
            repr(FaultPolicy(TempFail('RCPT TO', nth=2),
                             Drop('DATA', before_reply=False, rate=0.5),
                             Delay('HELO', 1), Greylisting())))


class OnTheWireTest(unittest.TestCase):
    """The exact replies, through the sans-I/O connection."""

    def test_replies_and_closes(self):
        policy = FaultPolicy(TempFail('RCPT TO', nth=1),
                             Shutdown421('RCPT TO', nth=3))
        connection = converse(self, '''
            S: 220 localhost Hello 127.0.0.1
            C: HELO client.example.com
            S: 250 localhost
            C: MAIL FROM:<a@example.com>
            S: 250 OK
            C: RCPT TO:<b@example.com>
            S: 451 Temporary failure, please try again later
            C: RCPT TO:<b@example.com>
            S: 250 OK
            C: RCPT TO:<c@example.com>
            S: 421 Service not available, closing transmission channel
            ''', policy=policy)
        self.assertTrue(connection.closing)

    def test_drop_before_the_reply_sends_nothing(self):
        connection = converse(self, '''
            S: 220 localhost Hello 127.0.0.1
            C: HELO client.example.com
            S: 250 localhost
            C: MAIL FROM:<a@example.com>
            ''', policy=FaultPolicy(Drop('MAIL FROM')))
        self.assertTrue(connection.closing)

    def test_enhanced_status_codes_where_they_are_on(self):
        converse(self, '''
            S: 220 localhost Hello 127.0.0.1
            C: EHLO client.example.com
            S: 250-localhost
            S: 250-AUTH PLAIN LOGIN
            S: 250-ENHANCEDSTATUSCODES
            S: 250 HELP
            C: MAIL FROM:<a@example.com>
            S: 451 4.0.0 Temporary failure, please try again later
            C: MAIL FROM:<a@example.com>
            S: 250 2.0.0 OK
            C: RCPT TO:<b@example.com>
            S: 451 4.7.1 Greylisted, please try again later
            ''', policy=FaultPolicy(TempFail('MAIL FROM', nth=1),
                                    Greylisting()),
            extensions=['ENHANCEDSTATUSCODES'])


if __name__ == '__main__':
    unittest.main()
