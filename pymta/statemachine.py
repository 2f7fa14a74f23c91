# -*- coding: utf-8 -*-
"""A small, generic finite state machine with flags.

Transitions are declared with ``add()``; ``execute(action)`` runs the
transition allowed for the current state. A transition may set flags
(operation ``'set_<flag>'``) or clear them (``'clear_<flag>'``) and may be
guarded by a condition on a flag (``'if_<flag>'`` or ``'if_not_<flag>'``,
or a tuple of them that must all hold), so one table can say "after MAIL go
back to *authenticated* if the client authenticated, else to
*initialized*".

Several transitions for the same state and action are allowed only when each
has a condition and the conditions differ; anything else is ambiguous and
raises ``StateMachineDefinitionError``.
"""

from __future__ import absolute_import

from .api import PyMTAException


__all__ = ['StateMachine', 'StateMachineDefinitionError', 'StateMachineError']


class StateMachineError(PyMTAException):
    """An action is not allowed in the current state (or the state is not
    known)."""


class StateMachineDefinitionError(PyMTAException):
    """The transition table is inconsistent."""


class _Transition(object):
    __slots__ = ('from_state', 'to_state', 'action', 'handler', 'operations',
                 'flags_to_set', 'flags_to_clear', 'condition',
                 'condition_flag',
                 'condition_value', 'more_conditions')

    def __init__(self, from_state, to_state, action, handler, operations,
                 condition):
        self.from_state = from_state
        self.to_state = to_state
        self.action = action
        self.handler = handler
        self.operations = tuple(operations)
        self.flags_to_set = tuple(_flag_of_operation(op, 'set_')
                                  for op in operations
                                  if not op.startswith('clear_'))
        self.flags_to_clear = tuple(_flag_of_operation(op, 'clear_')
                                    for op in operations
                                    if op.startswith('clear_'))
        self.condition = condition
        # (a tuple of conditions: all must hold)
        conditions = condition if isinstance(condition, tuple) \
            else (condition,)
        self.condition_flag, self.condition_value = \
            _parse_condition(conditions[0])
        self.more_conditions = tuple(_parse_condition(other)
                                     for other in conditions[1:])

    def is_possible(self, flags):
        if self.condition_flag is None:
            return True
        if (self.condition_flag in flags) != self.condition_value:
            return False
        for flag, value in self.more_conditions:
            if (flag in flags) != value:
                return False
        return True


def _flag_of_operation(operation, prefix):
    if not operation.startswith(prefix) or len(operation) == len(prefix):
        raise StateMachineDefinitionError('unknown operation %r' % (operation,))
    return operation[len(prefix):]


def _parse_condition(condition):
    if condition is None:
        return None, None
    if condition.startswith('if_not_') and len(condition) > 7:
        return condition[7:], False
    if condition.startswith('if_') and len(condition) > 3:
        return condition[3:], True
    raise StateMachineDefinitionError('unknown condition %r' % (condition,))


class StateMachine(object):
    """A state machine: a transition table, a current state and a set of
    flags."""

    def __init__(self, initial_state=None):
        self._state = initial_state
        self._flags = set()
        # from_state -> {action: (transition, ...)}
        self._transitions = {}
        self._states = set()
        # copy() shares the table until one of the copies adds a transition.
        self._table_is_shared = False

    # --- defining the table ---------------------------------------------
    def add(self, from_state, to_state, action_name, handler=None,
            operations=(), condition=None):
        """Declare that ``action_name`` moves from ``from_state`` to
        ``to_state``; ``handler(from_state, to_state, action_name)`` is called
        before the move."""
        new = _Transition(from_state, to_state, action_name, handler,
                          operations, condition)
        existing = self._transitions.get(from_state, {}).get(action_name, ())
        for other in existing:
            if (other.condition is None) or (condition is None) or \
                    (other.condition == condition):
                raise StateMachineDefinitionError(
                    'a transition for action %r in state %r exists already'
                    % (action_name, from_state))
        self._unshare_table()
        actions = self._transitions.setdefault(from_state, {})
        actions[action_name] = existing + (new,)
        self._states.add(from_state)
        self._states.add(to_state)

    def _unshare_table(self):
        if not self._table_is_shared:
            return
        self._transitions = dict((state, dict(actions))
                                 for state, actions in self._transitions.items())
        self._states = set(self._states)
        self._table_is_shared = False

    def copy(self, initial_state=None):
        """A new machine with the same table (shared until either adds a
        transition), no flags, in ``initial_state``."""
        clone = self.__class__(initial_state)
        clone._transitions = self._transitions
        clone._states = self._states
        clone._table_is_shared = True
        self._table_is_shared = True
        return clone

    # --- running it ------------------------------------------------------
    def _transition_for(self, action_name):
        actions = self._transitions.get(self._state)
        if actions is not None:
            for transition in actions.get(action_name, ()):
                # (most transitions have no condition: no call for them)
                if transition.condition_flag is None or \
                        transition.is_possible(self._flags):
                    return transition
        return None

    def can_execute(self, action_name):
        """True if ``action_name`` is allowed now."""
        return self._transition_for(action_name) is not None

    def execute(self, action_name):
        """Run the transition for ``action_name``: call its handler, apply its
        operations, move to its target state; return the new state."""
        transition = self._transition_for(action_name)
        if transition is None:
            raise StateMachineError('action %r is not allowed in state %r'
                                    % (action_name, self._state))
        if transition.handler is not None:
            transition.handler(transition.from_state, transition.to_state,
                               action_name)
        if transition.flags_to_clear:
            self._flags.difference_update(transition.flags_to_clear)
        if transition.flags_to_set:
            self._flags.update(transition.flags_to_set)
        self._state = state = transition.to_state
        return state

    def state(self):
        """The current state, or None if the table does not know it."""
        if self._state not in self._states:
            return None
        return self._state

    def set_state(self, state):
        if state not in self._states:
            raise StateMachineError('unknown state %r' % (state,))
        self._state = state

    def is_impossible_state(self):
        return self.state() is None

    def is_set(self, flag):
        return flag in self._flags

    def set_flag(self, flag):
        self._flags.add(flag)

    def clear_flags(self):
        self._flags.clear()

    # --- describing it ---------------------------------------------------
    def known_states(self):
        return set(self._states)

    def known_non_final_states(self):
        return set(self._transitions)

    def known_actions(self):
        actions = set()
        for by_action in self._transitions.values():
            actions.update(by_action)
        return actions

    def allowed_actions(self):
        by_action = self._transitions.get(self._state, {})
        return set(action for action, transitions in by_action.items()
                   if any(t.is_possible(self._flags) for t in transitions))
