# -*- coding: utf-8 -*-
"""pymta.dialogue.Dialogue on its own: what it gives back after each step
(replies as ``(code, text)``, the reader, events, closing), without framing.
The dialogue as the client sees it: test_core_connection.py."""
from __future__ import absolute_import

import unittest

import six

from pymta.api import IMTAPolicy
from pymta.dialogue import MESSAGE_ACCEPTED, Dialogue
from pymta.states import AUTH_LINE, COMMAND_LINE, MESSAGE_DATA
from pymta.test_util import DummyAuthenticator
from .core_support import RecordingDeliverer, SizePolicy, b64


def greeted(**options):
    options.setdefault('deliverer', RecordingDeliverer())
    dialogue = Dialogue(**options)
    dialogue.greet('192.0.2.1', 4567)
    return dialogue


def steps(dialogue, *commands):
    for command in commands:
        dialogue.command(*command)
    return dialogue.take_replies()


class DialogueTest(unittest.TestCase):
    def test_replies_are_kept_as_code_and_text_until_taken(self):
        dialogue = greeted(hostname='mx.example.com')
        self.assertEqual([(220, 'mx.example.com Hello 192.0.2.1')],
                         dialogue.take_replies())
        self.assertEqual([], dialogue.take_replies())
        self.assertEqual([(250, ['mx.example.com', 'HELP']), (250, 'OK')],
                         steps(dialogue, ('EHLO', 'x'), ('NOOP', None)))

    def test_a_policys_multi_line_reply_is_the_very_list(self):
        lines = ('first', 'second')

        class Policy(IMTAPolicy):
            def accept_helo(self, helo, message):
                return True, (250, lines)
        dialogue = greeted(policy=Policy())
        dialogue.take_replies()
        [(code, text)] = steps(dialogue, ('HELO', 'x'))
        self.assertTrue(text is lines)

    def test_the_reader_of_each_step(self):
        dialogue = greeted(authenticator=DummyAuthenticator())
        readers = []
        for command, argument in (('EHLO', 'x'), ('AUTH LOGIN', None)):
            dialogue.command(command, argument)
            readers.append(dialogue.reader)
        dialogue.auth_line(b64('u'))
        readers.append(dialogue.reader)
        dialogue.auth_line(b64('u'))
        readers.append(dialogue.reader)
        for command, argument in (('MAIL FROM', '<a@example.com>'),
                                  ('RCPT TO', '<b@example.com>'),
                                  ('DATA', None)):
            dialogue.command(command, argument)
            readers.append(dialogue.reader)
        dialogue.message('hi')
        readers.append(dialogue.reader)
        self.assertEqual([COMMAND_LINE, AUTH_LINE, AUTH_LINE, COMMAND_LINE,
                          COMMAND_LINE, COMMAND_LINE, MESSAGE_DATA,
                          COMMAND_LINE], readers)
        self.assertEqual('authenticated', dialogue.state.state())

    def test_cancel_auth_login_and_a_line_too_long(self):
        dialogue = greeted(authenticator=DummyAuthenticator())
        steps(dialogue, ('EHLO', 'x'), ('AUTH LOGIN', b64('u')))
        self.assertEqual('auth_login_password', dialogue.state.current())
        self.assertEqual('initialized', dialogue.state.state())
        dialogue.cancel_auth_login()
        self.assertEqual(([], COMMAND_LINE, 'initialized'),
                         (dialogue.take_replies(), dialogue.reader,
                          dialogue.state.current()))
        dialogue.cancel_auth_login()       # (nothing in progress: nothing)
        steps(dialogue, ('AUTH LOGIN', None))
        dialogue.line_too_long()
        self.assertEqual(([(500, 'Line too long')], 'initialized'),
                         (dialogue.take_replies(), dialogue.state.current()))

    def test_a_message_handed_in_directly_is_measured(self):
        dialogue = greeted(policy=SizePolicy(4))
        steps(dialogue, ('EHLO', 'x'), ('MAIL FROM', '<a@example.com>'),
              ('RCPT TO', '<b@example.com>'), ('DATA', None))
        dialogue.message(u'\xe4\xe4\xe4')     # six octets in UTF-8
        self.assertEqual([(552, 'message exceeds fixed maximum message size')],
                         dialogue.take_replies())
        self.assertEqual(([], 'initialized'),
                         (dialogue.events, dialogue.state.state()))

    def test_an_accepted_message_is_an_event(self):
        deliverer = RecordingDeliverer()
        dialogue = greeted(deliverer=deliverer)
        steps(dialogue, ('HELO', 'x'), ('MAIL FROM', '<a@example.com>'),
              ('RCPT TO', '<b@example.com>'), ('DATA', None))
        dialogue.message('hi')
        self.assertEqual([(MESSAGE_ACCEPTED, deliverer.messages[0])],
                         dialogue.events)

    def test_after_closing_nothing_is_answered(self):
        dialogue = greeted()
        steps(dialogue, ('HELO', 'x'), ('MAIL FROM', '<a@example.com>'),
              ('RCPT TO', '<b@example.com>'), ('DATA', None))
        dialogue.close()
        self.assertTrue(dialogue.is_closed)
        self.assertEqual('finished', dialogue.state.state())
        dialogue.message('hi')
        dialogue.command('NOOP')
        dialogue.auth_line('*')
        self.assertEqual([], dialogue.take_replies())
        # (the reader stays: nothing more is read anyway)
        self.assertEqual(MESSAGE_DATA, dialogue.reader)


class _RecordingClass(type):
    """Records, for each class attribute set, whether the class had its
    schemas at that moment."""

    def __setattr__(cls, name, value):
        cls.__dict__['_recorded'].append(
            (name, cls.__dict__.get('_schemas') is not None))
        type.__setattr__(cls, name, value)


class TablesTest(unittest.TestCase):
    def test_the_template_is_set_last(self):
        # another thread (the threaded serial path) that finds the template
        # uses the schemas at once: they must be there before it
        class Fresh(six.with_metaclass(_RecordingClass, Dialogue)):
            _recorded = []
        Fresh.build_tables()
        self.assertEqual(('_state_machine_template', True),
                         Fresh._recorded[-1])
        greeted_fresh = Fresh(RecordingDeliverer())
        greeted_fresh.greet('192.0.2.1', 4567)
        self.assertEqual([(250, 'OK')], steps(greeted_fresh, ('HELO', 'x'),
                                             ('MAIL FROM', '<a@x>'))[2:])


if __name__ == '__main__':
    unittest.main()
