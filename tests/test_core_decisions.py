# -*- coding: utf-8 -*-
"""pymta.decisions: every form a policy method may return (SPEC section 2)
made one PolicyDecision, and what is no decision at all."""
from __future__ import absolute_import

import unittest

from pymta.api import PolicyDecision
from pymta.decisions import as_policy_decision


def summary(decision):
    return (decision.is_command_acceptable(),
            decision.get_custom_reply() if decision.use_custom_reply() else None)


class AsPolicyDecisionTest(unittest.TestCase):
    def test_plain_answers(self):
        self.assertEqual((True, None), summary(as_policy_decision(None)))
        self.assertEqual((True, None), summary(as_policy_decision(True)))
        self.assertEqual((False, None), summary(as_policy_decision(False)))

    def test_a_decision_is_kept_as_it_is(self):
        decision = PolicyDecision(False, (553, 'no'))
        self.assertTrue(as_policy_decision(decision) is decision)
        self.assertEqual((False, (553, 'no')), summary(decision))

    def test_a_pair_with_a_reply(self):
        self.assertEqual((True, (250, 'fine')),
                         summary(as_policy_decision((True, (250, 'fine')))))
        self.assertEqual((False, (550, 'no')),
                         summary(as_policy_decision([0, (550, 'no')])))

    def test_multi_line_replies_keep_the_very_list_or_become_one(self):
        lines = ['one', 'two']
        decision = as_policy_decision((True, (250, lines)))
        self.assertTrue(decision.get_custom_reply()[1] is lines)
        decision = as_policy_decision((True, (250, iter(['a', 'b']))))
        self.assertEqual((250, ['a', 'b']), decision.get_custom_reply())
        decision = as_policy_decision(PolicyDecision(True, (250, ('x' for x in 'ab'))))
        self.assertEqual((250, ['x', 'x']), decision.get_custom_reply())

    def test_what_is_no_decision(self):
        for result in ('yes', 1, 0.5, object(), (True,), (True, 250),
                       (True, (250, 7)), (True, (250, [])), (True, (250, [1])),
                       ('x', (250, 'ok')), PolicyDecision(True, (250,)),
                       PolicyDecision(True, 'text')):
            self.assertEqual(None, as_policy_decision(result), repr(result))


if __name__ == '__main__':
    unittest.main()
