# -*- coding: utf-8 -*-
"""pymta.states: the state table of the SMTP dialogue, its machine and its
rendering (docs/state-table.txt must be current)."""
from __future__ import absolute_import, print_function

import io
import os
import unittest

from pymta import states
from pymta.commands import COMMANDS


DOCS_TABLE = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          os.pardir, 'docs', 'state-table.txt')

#: SPEC section 4's table: state -> the commands allowed there (flags off)
ALLOWED = {
    'new': set(['GREET']),
    'greeted': set(['HELO', 'EHLO', 'RSET', 'NOOP', 'HELP', 'QUIT']),
    'initialized': set(['MAIL FROM', 'RSET', 'NOOP', 'HELP', 'QUIT']),
    'authenticated': set(['MAIL FROM', 'RSET', 'NOOP', 'HELP', 'QUIT']),
    'sender_known': set(['RCPT TO', 'RSET', 'NOOP', 'HELP', 'QUIT']),
    'recipient_known': set(['RCPT TO', 'DATA', 'RSET', 'NOOP', 'HELP',
                            'QUIT']),
    'receiving_message': set(['MSGDATA', 'RSET', 'NOOP', 'HELP', 'QUIT']),
}


class StateTableTest(unittest.TestCase):
    def test_the_rendering_in_docs_is_current(self):
        with io.open(DOCS_TABLE, encoding='utf-8') as table_file:
            on_disk = table_file.read()
        self.assertEqual(states.render(), on_disk,
                         'docs/state-table.txt is out of date: write '
                         'pymta.states.render() into it')

    def test_the_rendering_names_every_transition(self):
        text = states.render()
        for state, commands in states.TRANSITIONS.items():
            for command in commands:
                self.assertTrue(any(line.split()[:2] == [state] + command.split()[:1]
                                    for line in text.splitlines()),
                                (state, command))

    def test_the_machine_allows_what_the_spec_says(self):
        machine = states.build_state_machine()
        for state, allowed in ALLOWED.items():
            machine.set_state(state)
            self.assertEqual(allowed, machine.allowed_actions(), state)

    def test_auth_needs_esmtp_and_sets_authenticated(self):
        machine = states.build_state_machine()
        machine.set_state('initialized')
        self.assertFalse(machine.can_execute('AUTH PLAIN'))
        self.assertFalse(machine.can_execute('AUTH LOGIN'))
        machine.set_flag('esmtp')
        self.assertTrue(machine.can_execute('AUTH PLAIN'))
        machine.execute('AUTH PLAIN')
        self.assertEqual('authenticated', machine.state())
        self.assertTrue(machine.is_set('authenticated'))
        self.assertFalse(machine.can_execute('AUTH PLAIN'))
        self.assertFalse(machine.can_execute('AUTH LOGIN'))

    def test_the_auth_login_exchange_is_two_states_that_read_auth_lines(self):
        machine = states.build_state_machine()
        machine.set_state('initialized')
        machine.set_flag('esmtp')
        machine.execute('AUTH LOGIN')
        self.assertEqual('auth_login_username', machine.current())
        # (SPEC 4: the exchange happens inside AUTH, before the state moves)
        self.assertEqual('initialized', machine.state())
        self.assertEqual(states.AUTH_LINE, states.reader_of(machine.current()))
        self.assertEqual(set(['USERNAME', 'CANCEL']), machine.allowed_actions())
        machine.execute('USERNAME')
        self.assertEqual('auth_login_password', machine.current())
        self.assertEqual(states.AUTH_LINE, states.reader_of(machine.current()))
        self.assertEqual(set(['CREDENTIALS_OK', 'CREDENTIALS_BAD', 'CANCEL']),
                         machine.allowed_actions())
        bad = machine.copy('auth_login_password')
        bad.execute('CREDENTIALS_BAD')
        self.assertEqual('initialized', bad.current())
        self.assertFalse(bad.is_set('authenticated'))
        cancelled = machine.copy('auth_login_username')
        cancelled.execute('CANCEL')
        self.assertEqual('initialized', cancelled.current())
        machine.execute('CREDENTIALS_OK')
        self.assertEqual('authenticated', machine.current())
        self.assertTrue(machine.is_set('authenticated'))
        self.assertEqual(states.COMMAND_LINE,
                         states.reader_of(machine.current()))

    def test_each_state_reads_what_it_waits_for(self):
        for state in states.TRANSITIONS:
            expected = states.MESSAGE_DATA if state == 'receiving_message' \
                else states.AUTH_LINE if state in states.AUTH_EXCHANGE_STATES \
                else states.TLS_HANDSHAKE if state == 'starting_tls' \
                else states.CHUNK_DATA if state == 'receiving_chunk' \
                else states.COMMAND_LINE
            self.assertEqual(expected, states.reader_of(state), state)

    def test_ready_means_back_to_after_helo_and_auth(self):
        for flags, expected in (((), 'initialized'),
                                (('authenticated',), 'authenticated')):
            for state, command in (('receiving_message', 'MSGDATA'),
                                   ('recipient_known', 'RSET'),
                                   ('sender_known', 'RSET')):
                machine = states.build_state_machine()
                for flag in flags:
                    machine.set_flag(flag)
                machine.set_state(state)
                machine.execute(command)
                self.assertEqual(expected, machine.state(), (flags, state))

    def test_starttls_needs_esmtp_not_tls_and_starts_afresh(self):
        machine = states.build_state_machine()
        machine.set_state('initialized')
        self.assertFalse(machine.can_execute('STARTTLS'))
        machine.set_flag('esmtp')
        machine.execute('STARTTLS')
        self.assertEqual('starting_tls', machine.state())
        self.assertEqual(set(['TLS_STARTED']), machine.allowed_actions())
        machine.execute('TLS_STARTED')
        self.assertEqual('greeted', machine.state())
        self.assertFalse(machine.is_set('esmtp'))
        self.assertTrue(machine.is_set('tls'))
        machine.execute('EHLO')
        self.assertTrue(machine.can_execute('AUTH PLAIN'))
        self.assertFalse(machine.can_execute('STARTTLS'))

    def test_bdat_chunks_then_the_last_or_rset(self):
        machine = states.build_state_machine()
        machine.set_state('recipient_known')
        self.assertFalse(machine.can_execute('BDAT'))
        machine.set_flag('esmtp')
        machine.execute('BDAT')
        self.assertEqual(set(['CHUNK', 'LAST_CHUNK']), machine.allowed_actions())
        machine.execute('CHUNK')
        self.assertEqual('chunks_received', machine.state())
        self.assertFalse(machine.can_execute('DATA'))
        self.assertTrue(machine.can_execute('RSET'))
        machine.execute('BDAT')
        machine.execute('LAST_CHUNK')
        self.assertEqual('initialized', machine.state())

    def test_ehlo_sets_esmtp_and_quit_finishes(self):
        machine = states.build_state_machine()
        machine.execute('GREET')
        machine.execute('EHLO')
        self.assertTrue(machine.is_set('esmtp'))
        machine.execute('QUIT')
        self.assertEqual('finished', machine.state())
        self.assertEqual(set(), machine.allowed_actions())

    def test_every_command_of_the_table_is_declared_or_internal(self):
        names = set(states.in_every_state())
        for commands in states.TRANSITIONS.values():
            names.update(commands)
        self.assertEqual(set(COMMANDS), names - states.INTERNAL_STEPS)
        self.assertEqual(set(), set(COMMANDS) & states.INTERNAL_STEPS)


if __name__ == '__main__':
    unittest.main()
