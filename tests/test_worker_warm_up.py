# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
"""pymta.warm_up: the fork path's parent runs the core once before it
forks (prepare_core)."""

from __future__ import absolute_import

import unittest

from pymta import warm_up


class PrepareCoreTest(unittest.TestCase):
    """prepare_core: the fork path's parent runs the core once before it
    forks (no socket, none of the user's classes)."""

    def test_every_round_of_the_canned_dialogue_is_a_message_accepted(self):
        # a core that refused the dialogue would warm up only its error paths
        self.assertEqual(3, warm_up.prepare_core(rounds=3))

    def test_the_dialogue_is_answered_as_a_client_would_expect(self):
        from pymta.command_parser import SMTPCommandParser
        replies = []

        class Channel(object):
            def write(self, text):
                replies.append(text.split(' ')[0].split('-')[0])

            def close(self):
                replies.append('closed')
        deliverer = warm_up._Discard()
        parser = SMTPCommandParser(Channel(), '127.0.0.1', 0, deliverer,
                                   primary_hostname='localhost')
        for chunk in warm_up._WARM_UP_DIALOGUE:
            parser.process_new_data(chunk)
        self.assertEqual(['220', '250', '250', '250', '250', '354', '250',
                          '221', 'closed'], replies)
        self.assertEqual(1, deliverer.messages)


if __name__ == '__main__':
    unittest.main()
