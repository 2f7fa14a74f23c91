# -*- coding: utf-8 -*-
"""The Python example of docs/auth.md runs verbatim and does what the text
says (code blocks extracted as tests/test_readme_examples.py does)."""
from __future__ import absolute_import, print_function

import io
import os
import re
import unittest


AUTH_DOC = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir,
                        'docs', 'auth.md')


def python_examples():
    with io.open(AUTH_DOC, encoding='utf-8') as doc:
        text = doc.read()
    return re.findall(r'^```python\n(.*?)^```', text, re.MULTILINE | re.DOTALL)


class AuthDocExampleTest(unittest.TestCase):
    def test_there_is_one_example(self):
        self.assertEqual(1, len(python_examples()))

    def test_the_example(self):
        namespace = {'__name__': 'auth_doc_example'}
        exec(compile(python_examples()[0], AUTH_DOC, 'exec'), namespace)
        message = namespace['message']
        self.assertEqual(('alice', 'CRAM-MD5', None),
                         (message.username, message.auth_mechanism,
                          message.password))
        self.assertEqual(['bob@example.com'], message.smtp_to)
        # the server is gone
        self.assertFalse(namespace['helper'].mta_thread)


if __name__ == '__main__':
    unittest.main()
