# -*- coding: utf-8 -*-
"""The Python example of docs/deliverers.md runs verbatim and does what the
text says (code blocks extracted as tests/test_readme_examples.py does)."""
from __future__ import absolute_import, print_function

import io
import os
import re
import unittest


DOC = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir,
                   'docs', 'deliverers.md')


def python_examples():
    with io.open(DOC, encoding='utf-8') as doc:
        text = doc.read()
    return re.findall(r'^```python\n(.*?)^```', text, re.MULTILINE | re.DOTALL)


class DeliverersDocExampleTest(unittest.TestCase):
    def test_there_is_one_example(self):
        self.assertEqual(1, len(python_examples()))

    def test_the_example(self):
        namespace = {'__name__': 'deliverers_doc_example'}
        exec(compile(python_examples()[0], DOC, 'exec'), namespace)
        # (the example checks what it read itself)
        self.assertEqual('Hello', namespace['from_maildir']['Subject'])
        self.assertEqual('Hello', namespace['from_mbox']['Subject'])
        # the mailboxes are gone
        self.assertFalse(os.path.exists(namespace['directory']))


if __name__ == '__main__':
    unittest.main()
