# -*- coding: utf-8 -*-
"""SPEC section 5: the generic state machine (pymta.statemachine)."""
from __future__ import absolute_import, print_function

import unittest

from pymta.statemachine import (StateMachine, StateMachineDefinitionError,
    StateMachineError)


class StateMachineBasicsTest(unittest.TestCase):
    def setUp(self):
        self.sm = StateMachine(initial_state='new')

    def test_state_is_none_while_initial_state_unknown_to_table(self):
        self.assertEqual(None, self.sm.state())
        self.assertTrue(self.sm.is_impossible_state())

    def test_no_initial_state(self):
        sm = StateMachine()
        sm.add('new', 'greeted', 'GREET')
        self.assertEqual(None, sm.state())
        self.assertTrue(sm.is_impossible_state())
        sm.set_state('new')
        self.assertEqual('new', sm.state())
        self.assertFalse(sm.is_impossible_state())

    def test_initial_state_becomes_known_when_added(self):
        self.sm.add('new', 'greeted', 'GREET')
        self.assertEqual('new', self.sm.state())
        self.assertFalse(self.sm.is_impossible_state())

    def test_initial_state_known_only_as_target(self):
        sm = StateMachine(initial_state='done')
        sm.add('start', 'done', 'finish')
        self.assertEqual('done', sm.state())
        self.assertFalse(sm.is_impossible_state())
        self.assertEqual(set(), set(sm.allowed_actions()))

    def test_execute_moves_to_target_state(self):
        self.sm.add('new', 'greeted', 'GREET')
        self.sm.add('greeted', 'finished', 'QUIT')
        self.assertEqual('greeted', self.sm.execute('GREET'))
        self.assertEqual('greeted', self.sm.state())
        self.assertEqual('finished', self.sm.execute('QUIT'))
        self.assertEqual('finished', self.sm.state())

    def test_self_transition(self):
        self.sm.add('new', 'new', 'NOOP')
        self.sm.execute('NOOP')
        self.sm.execute('NOOP')
        self.assertEqual('new', self.sm.state())

    def test_handler_called_with_from_to_action_before_move(self):
        calls = []

        def handler(from_state, to_state, action_name):
            calls.append((from_state, to_state, action_name, self.sm.state(),
                          self.sm.is_set('greeted_flag')))
        self.sm.add('new', 'greeted', 'GREET', handler=handler,
                    operations=('set_greeted_flag',))
        self.sm.execute('GREET')
        # handler runs first (state not moved, operation not yet applied)
        self.assertEqual([('new', 'greeted', 'GREET', 'new', False)], calls)
        self.assertEqual('greeted', self.sm.state())
        self.assertTrue(self.sm.is_set('greeted_flag'))

    def test_handler_positional_argument(self):
        calls = []
        self.sm.add('new', 'greeted', 'GREET', lambda *args: calls.append(args))
        self.sm.execute('GREET')
        self.assertEqual([('new', 'greeted', 'GREET')], calls)

    def test_add_with_all_arguments_positional(self):
        calls = []
        sm = StateMachine('a')
        sm.add('a', 'b', 'go', lambda *args: calls.append(args), ('set_gone',), None)
        sm.add('b', 'c', 'on', None, (), 'if_gone')
        sm.execute('go')
        self.assertEqual([('a', 'b', 'go')], calls)
        self.assertTrue(sm.is_set('gone'))
        sm.execute('on')
        self.assertEqual('c', sm.state())

    def test_handler_called_once_per_execute(self):
        calls = []
        self.sm.add('new', 'new', 'NOOP', handler=lambda *args: calls.append(args))
        for _ in range(3):
            self.sm.execute('NOOP')
        self.assertEqual(3, len(calls))

    def test_action_not_allowed_in_current_state_raises(self):
        self.sm.add('new', 'greeted', 'GREET')
        self.sm.add('greeted', 'finished', 'QUIT')
        self.assertRaises(StateMachineError, self.sm.execute, 'QUIT')
        self.assertEqual('new', self.sm.state())

    def test_unknown_action_raises(self):
        self.sm.add('new', 'greeted', 'GREET')
        self.assertRaises(StateMachineError, self.sm.execute, 'FNORD')
        self.assertEqual('new', self.sm.state())

    def test_execute_in_impossible_state_raises(self):
        self.sm.add('start', 'end', 'go')
        self.assertRaises(StateMachineError, self.sm.execute, 'go')

    def test_handler_not_called_when_action_not_allowed(self):
        calls = []
        self.sm.add('new', 'greeted', 'GREET')
        self.sm.add('greeted', 'finished', 'QUIT', handler=lambda *a: calls.append(a))
        self.assertRaises(StateMachineError, self.sm.execute, 'QUIT')
        self.assertEqual([], calls)

    def test_set_state(self):
        self.sm.add('new', 'greeted', 'GREET')
        self.sm.add('greeted', 'finished', 'QUIT')
        self.sm.set_state('greeted')
        self.assertEqual('greeted', self.sm.state())
        self.sm.set_state('finished')
        self.assertEqual('finished', self.sm.state())
        self.sm.set_state('new')
        self.sm.execute('GREET')
        self.assertEqual('greeted', self.sm.state())

    def test_set_unknown_state_raises(self):
        self.sm.add('new', 'greeted', 'GREET')
        self.assertRaises(StateMachineError, self.sm.set_state, 'fnord')
        self.assertEqual('new', self.sm.state())

    def test_known_states_actions_and_non_final_states(self):
        self.assertEqual(set(), set(self.sm.known_states()))
        self.assertEqual(set(), set(self.sm.known_actions()))
        self.sm.add('new', 'greeted', 'GREET')
        self.sm.add('greeted', 'greeted', 'NOOP')
        self.sm.add('greeted', 'finished', 'QUIT')
        self.assertEqual(set(['new', 'greeted', 'finished']), set(self.sm.known_states()))
        self.assertEqual(set(['new', 'greeted']), set(self.sm.known_non_final_states()))
        self.assertEqual(set(['GREET', 'NOOP', 'QUIT']), set(self.sm.known_actions()))

    def test_allowed_actions_is_a_set_for_current_state(self):
        self.sm.add('new', 'greeted', 'GREET')
        self.sm.add('greeted', 'greeted', 'NOOP')
        self.sm.add('greeted', 'finished', 'QUIT')
        allowed = self.sm.allowed_actions()
        self.assertTrue(isinstance(allowed, (set, frozenset)), repr(allowed))
        self.assertEqual(set(['GREET']), set(allowed))
        self.sm.execute('GREET')
        self.assertEqual(set(['NOOP', 'QUIT']), set(self.sm.allowed_actions()))
        self.sm.execute('QUIT')
        self.assertEqual(set(), set(self.sm.allowed_actions()))

    def test_allowed_actions_empty_in_impossible_state(self):
        self.sm.add('a', 'b', 'go')
        self.assertEqual(set(), set(self.sm.allowed_actions()))


class StateMachineDefinitionTest(unittest.TestCase):
    def setUp(self):
        self.sm = StateMachine(initial_state='a')

    def test_duplicate_transition_raises(self):
        self.sm.add('a', 'b', 'go')
        self.assertRaises(StateMachineDefinitionError, self.sm.add, 'a', 'b', 'go')

    def test_duplicate_transition_with_other_target_raises(self):
        self.sm.add('a', 'b', 'go')
        self.assertRaises(StateMachineDefinitionError, self.sm.add, 'a', 'c', 'go')

    def test_same_action_from_other_state_is_fine(self):
        self.sm.add('a', 'b', 'go')
        self.sm.add('b', 'c', 'go')
        self.sm.execute('go')
        self.sm.execute('go')
        self.assertEqual('c', self.sm.state())

    def test_conditional_and_unconditional_transition_raises(self):
        self.sm.add('a', 'b', 'go', condition='if_flag')
        self.assertRaises(StateMachineDefinitionError, self.sm.add, 'a', 'c', 'go')

    def test_unconditional_then_conditional_transition_raises(self):
        self.sm.add('a', 'b', 'go')
        self.assertRaises(StateMachineDefinitionError,
                          self.sm.add, 'a', 'c', 'go', condition='if_flag')

    def test_same_condition_twice_raises(self):
        self.sm.add('a', 'b', 'go', condition='if_flag')
        self.assertRaises(StateMachineDefinitionError,
                          self.sm.add, 'a', 'c', 'go', condition='if_flag')

    def test_different_conditions_allowed(self):
        self.sm.add('a', 'b', 'go', condition='if_flag')
        self.sm.add('a', 'c', 'go', condition='if_not_flag')
        self.assertEqual(set(['a', 'b', 'c']), set(self.sm.known_states()))

    def test_definition_error_leaves_table_usable(self):
        self.sm.add('a', 'b', 'go')
        self.assertRaises(StateMachineDefinitionError, self.sm.add, 'a', 'c', 'go')
        self.sm.execute('go')
        self.assertEqual('b', self.sm.state())


class StateMachineFlagsAndConditionsTest(unittest.TestCase):
    def build(self):
        sm = StateMachine(initial_state='start')
        sm.add('start', 'middle', 'login', operations=('set_authenticated',))
        sm.add('start', 'middle', 'skip')
        sm.add('middle', 'secret', 'go', condition='if_authenticated')
        sm.add('middle', 'public', 'go', condition='if_not_authenticated')
        sm.add('middle', 'vip', 'vip', condition='if_authenticated')
        sm.add('secret', 'start', 'back')
        sm.add('public', 'start', 'back')
        return sm

    def test_flag_unset_by_default(self):
        sm = self.build()
        self.assertFalse(sm.is_set('authenticated'))
        self.assertFalse(sm.is_set('fnord'))

    def test_operation_sets_flag(self):
        sm = self.build()
        sm.execute('login')
        self.assertTrue(sm.is_set('authenticated'))
        self.assertFalse(sm.is_set('fnord'))

    def test_if_not_condition(self):
        sm = self.build()
        sm.execute('skip')
        self.assertEqual(set(['go']), set(sm.allowed_actions()))
        sm.execute('go')
        self.assertEqual('public', sm.state())

    def test_if_condition(self):
        sm = self.build()
        sm.execute('login')
        self.assertEqual(set(['go', 'vip']), set(sm.allowed_actions()))
        sm.execute('go')
        self.assertEqual('secret', sm.state())

    def test_action_with_unmet_condition_is_not_allowed(self):
        sm = self.build()
        sm.execute('skip')
        self.assertFalse('vip' in sm.allowed_actions())
        self.assertRaises(StateMachineError, sm.execute, 'vip')
        self.assertEqual('middle', sm.state())

    def test_flag_survives_further_transitions(self):
        sm = self.build()
        sm.execute('login')
        sm.execute('go')
        sm.execute('back')
        self.assertTrue(sm.is_set('authenticated'))
        self.assertEqual('start', sm.state())

    def test_several_operations(self):
        sm = StateMachine(initial_state='a')
        sm.add('a', 'b', 'go', operations=('set_one', 'set_two'))
        sm.execute('go')
        self.assertTrue(sm.is_set('one'))
        self.assertTrue(sm.is_set('two'))

    def test_clear_operation(self):
        sm = StateMachine(initial_state='a')
        sm.add('a', 'b', 'go', operations=('set_one', 'set_two'))
        sm.add('b', 'a', 'back', operations=('clear_one', 'set_three'))
        sm.execute('go')
        sm.execute('back')
        self.assertEqual((False, True, True), (sm.is_set('one'), sm.is_set('two'),
                                               sm.is_set('three')))
        self.assertRaises(StateMachineDefinitionError, sm.add, 'a', 'c', 'x',
                          operations=('clear_',))

    def test_a_tuple_of_conditions_must_all_hold(self):
        sm = StateMachine(initial_state='a')
        sm.add('a', 'b', 'go', condition=('if_one', 'if_not_two'))
        self.assertFalse(sm.can_execute('go'))
        sm.set_flag('one')
        self.assertTrue(sm.can_execute('go'))
        sm.set_flag('two')
        self.assertFalse(sm.can_execute('go'))
        self.assertEqual(set(), sm.allowed_actions())
        self.assertRaises(StateMachineDefinitionError, sm.add, 'a', 'c', 'x',
                          condition=('if_one', 'when_two'))

    def test_known_actions_include_conditional_ones(self):
        sm = self.build()
        self.assertEqual(set(['login', 'skip', 'go', 'vip', 'back']), set(sm.known_actions()))
        self.assertEqual(set(['start', 'middle', 'secret', 'public']),
                         set(sm.known_non_final_states()))
        self.assertEqual(set(['start', 'middle', 'secret', 'public', 'vip']),
                         set(sm.known_states()))


if __name__ == '__main__':
    unittest.main()
