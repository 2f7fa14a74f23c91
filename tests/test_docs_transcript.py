# -*- coding: utf-8 -*-
"""The Python example of docs/transcript.md runs verbatim, and the session
the document shows is the one the example logs (code blocks extracted as
tests/test_readme_examples.py does)."""
from __future__ import absolute_import, print_function

import io
import logging
import os
import re
import unittest

from pymta.transcript import LOGGER_NAME


TRANSCRIPT_DOC = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                              os.pardir, 'docs', 'transcript.md')
#: the client's port in the session the document shows
DOC_PORT = '50312'


def doc_text():
    with io.open(TRANSCRIPT_DOC, encoding='utf-8') as doc:
        return doc.read()


def python_examples():
    return re.findall(r'^```python\n(.*?)^```', doc_text(),
                      re.MULTILINE | re.DOTALL)


def shown_session():
    """The indented lines of the session the document shows."""
    return re.findall(r'^    (127\.0\.0\.1:%s .*)$' % DOC_PORT, doc_text(),
                      re.MULTILINE)


class TranscriptDocExampleTest(unittest.TestCase):
    def test_there_is_one_example(self):
        self.assertEqual(1, len(python_examples()))

    def test_the_example(self):
        logger = logging.getLogger(LOGGER_NAME)
        # (the example sets the level; the other tests expect it unset)
        self.addCleanup(logger.setLevel, logger.level)
        handlers = list(logger.handlers)
        namespace = {'__name__': 'transcript_doc_example'}
        exec(compile(python_examples()[0], TRANSCRIPT_DOC, 'exec'), namespace)
        self.assertEqual(handlers, logger.handlers)
        lines = namespace['kept'].lines
        port = lines[0].split(' ', 1)[0].split(':')[1]
        # (smtplib of Python 3.13 sends 'mail from:', earlier 'mail FROM:')
        self.assertEqual([line.lower() for line in shown_session()], [
            line.replace('127.0.0.1:%s ' % port,
                         '127.0.0.1:%s ' % DOC_PORT, 1).lower()
            for line in lines])
        self.assertEqual(20, len(shown_session()))


if __name__ == '__main__':
    unittest.main()
