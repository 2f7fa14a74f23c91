# -*- coding: utf-8 -*-
"""Every code example of the documentation (``docs/*.md``) runs, and does
what its page says.

Each fenced block names its language; every ``python`` block is an
example, taken from the page as it is and run here, one test per block:

* a block whose first line is ``# not run: <reason>`` is not run (at most
  ``MAX_NOT_RUN`` of them in all);
* a block with ``def test_...`` functions (and no TestCase) is a pytest
  module: pytest runs it with pymta's plugin in a process of its own, and
  every one of its tests must pass;
* any other block is executed (``__name__`` is not ``'__main__'``, so an
  ``if __name__ == '__main__':`` part is left out); the ``unittest.TestCase``
  classes it defines are then run and must pass. Examples check themselves
  with ``assert``; ``CHECKS`` adds checks from outside for some.

An example that cannot run on Python 2.7 is listed in ``PYTHON3_ONLY`` with
its reason, and the reason is checked there: the example is skipped only
while it holds.
"""
from __future__ import absolute_import

import inspect
import io
import logging
import os
import re
import smtplib
import unittest

from pymta.compat import PY2
from pymta.transcript import LOGGER_NAME
from .test_pytest_plugin import run_pytest_on


DOCS = os.path.normpath(os.path.join(
    os.path.dirname(os.path.abspath(__file__)), os.pardir, 'docs'))
FENCE = re.compile(r'^```([^`\n]*)\n(.*?)^```[ \t]*$', re.MULTILINE | re.DOTALL)
#: the languages a fenced block may name; only python blocks run (and
#: myst's directives, ``{toctree}``, are not code)
LANGUAGES = ('python', 'text', 'console', '{toctree}')
NOT_RUN = '# not run: '
MAX_NOT_RUN = 3
PYTEST_TEST = re.compile(r'^def test_\w*\(', re.MULTILINE)
TEST_CASE = re.compile(r'^class \w+\(.*TestCase\):', re.MULTILINE)


class Example(object):
    def __init__(self, page, line, language, source):
        self.page = page
        self.line = line
        self.language = language
        self.source = source

    @property
    def path(self):
        return os.path.join(DOCS, self.page)

    def kind(self):
        if self.source.startswith(NOT_RUN):
            return 'not run'
        if PYTEST_TEST.search(self.source) and \
                not TEST_CASE.search(self.source):
            return 'pytest'
        return 'exec'

    def code(self):
        """The source, on the line numbers it has on its page (for
        tracebacks)."""
        return '\n' * self.line + self.source

    def __repr__(self):
        return 'docs/%s:%d' % (self.page, self.line)


#: not a page of the documentation: the package's long description (for
#: the index), whose examples tests/test_packaging.py runs
NOT_PAGES = ('index-page.md',)


def pages():
    return sorted(name for name in os.listdir(DOCS)
                  if name.endswith('.md') and name not in NOT_PAGES)


def fenced_blocks():
    """Every fenced block of every page, as ``Example``s."""
    blocks = []
    for page in pages():
        with io.open(os.path.join(DOCS, page), encoding='utf-8') as doc:
            text = doc.read()
        for match in FENCE.finditer(text):
            line = text.count('\n', 0, match.start(2))
            blocks.append(Example(page, line, match.group(1).strip(),
                                  match.group(2)))
    return blocks


def python_examples():
    return [block for block in fenced_blocks() if block.language == 'python']


def _starttls_takes_a_context():
    method = smtplib.SMTP.starttls
    getargspec = getattr(inspect, 'getfullargspec', None) or \
        inspect.getargspec
    return 'context' in getargspec(method).args


#: (page, a text only that example holds) -> (why it cannot run on 2.7,
#: a function that is True while that is so)
PYTHON3_ONLY = {
    ('tls-and-extensions.md', 'starttls(context='): (
        'Python 2.7: smtplib.SMTP.starttls() takes no context',
        lambda: not _starttls_takes_a_context()),
}


def _check_auth(test, namespace):
    message = namespace['message']
    test.assertEqual(('alice', 'CRAM-MD5', None), (
        message.username, message.auth_mechanism, message.password))
    test.assertEqual(['bob@example.com'], message.smtp_to)
    test.assertFalse(namespace['helper'].mta_thread)    # stopped


def _check_fault_injection(test, namespace):
    test.assertEqual(451, namespace['code'])
    test.assertEqual(['you@example.com'], namespace['message'].smtp_to)
    test.assertEqual(None, namespace['helper'].mta_thread)


#: the client's port in the session docs/transcript.md shows
TRANSCRIPT_DOC_PORT = '50312'


def _check_transcript(test, namespace):
    """The session the page shows is the one its example logged."""
    with io.open(os.path.join(DOCS, 'transcript.md'),
                 encoding='utf-8') as page:
        shown = re.findall(r'^    (127\.0\.0\.1:%s .*)$' % TRANSCRIPT_DOC_PORT,
                           page.read(), re.MULTILINE)
    test.assertEqual(20, len(shown))
    lines = namespace['kept'].lines
    port = lines[0].split(' ', 1)[0].split(':')[1]
    # (smtplib of Python 3.13 sends 'mail from:', earlier 'mail FROM:')
    test.assertEqual([line.lower() for line in shown], [
        line.replace('127.0.0.1:%s ' % port,
                     '127.0.0.1:%s ' % TRANSCRIPT_DOC_PORT, 1).lower()
        for line in lines])


def _check_deliverers(test, namespace):
    test.assertEqual('Hello', namespace['from_maildir']['Subject'])
    test.assertEqual('Hello', namespace['from_mbox']['Subject'])
    # the mailboxes are gone
    test.assertFalse(os.path.exists(namespace['directory']))


#: (page, a text only that example holds) -> check(test, namespace) after
#: the example ran
CHECKS = {
    ('deliverers.md', 'from_maildir'): _check_deliverers,
    ('transcript.md', 'kept'): _check_transcript,
    ('auth.md', 'authenticator_class=AcceptAnyAuthenticator'): _check_auth,
    ('fault-injection.md', "TempFail('RCPT TO', nth=1)"): _check_fault_injection,
}


def _find(examples, page, text):
    return [example for example in examples
            if example.page == page and text in example.source]


def run_example(test, example):
    kind = example.kind()
    if kind == 'not run':
        return
    for (page, text), (reason, holds) in PYTHON3_ONLY.items():
        if PY2 and _find([example], page, text):
            test.assertTrue(holds(), 'no longer true: %s' % reason)
            test.skipTest(reason)
    if kind == 'pytest':
        returncode, output = run_pytest_on(example.source)
        test.assertEqual(0, returncode, output)
        count = len(PYTEST_TEST.findall(example.source))
        test.assertTrue('%d passed' % count in output, output)
        return
    for name in ('pymta', LOGGER_NAME):
        # (an example may configure logging: the next test finds it as it
        # was)
        logger = logging.getLogger(name)
        test.addCleanup(setattr, logger, 'handlers', list(logger.handlers))
        test.addCleanup(logger.setLevel, logger.level)
    namespace = {'__name__': 'docs_example'}
    exec(compile(example.code(), example.path, 'exec'), namespace)
    _run_defined_test_cases(test, namespace)
    for (page, text), check in CHECKS.items():
        if _find([example], page, text):
            check(test, namespace)


def _run_defined_test_cases(test, namespace):
    """Run the TestCase classes the example defined; all must pass."""
    loader = unittest.TestLoader()
    for value in list(namespace.values()):
        if isinstance(value, type) and issubclass(value, unittest.TestCase) \
                and value.__module__ == 'docs_example':
            result = unittest.TestResult()
            suite = loader.loadTestsFromTestCase(value)
            suite.run(result)
            test.assertTrue(result.testsRun > 0, value)
            test.assertEqual([], [text for _, text in
                                  result.errors + result.failures])


class DocsExamplesTest(unittest.TestCase):
    """One ``test_<page>_<line>`` per example (added below), and checks of
    the set of examples."""

    def test_every_fenced_block_names_its_language(self):
        blocks = fenced_blocks()
        self.assertEqual([], ['%r: %r' % (block, block.language)
                              for block in blocks
                              if block.language not in LANGUAGES])

    def test_there_are_examples_on_the_pages(self):
        examples = python_examples()
        self.assertTrue(len(examples) >= 20, examples)
        for page in ('quickstart.md', 'policies.md', 'auth.md',
                     'serving-model.md', 'migrating.md'):
            self.assertTrue([e for e in examples if e.page == page], page)

    def test_few_examples_are_not_run(self):
        not_run = [example for example in python_examples()
                   if example.kind() == 'not run']
        self.assertTrue(len(not_run) <= MAX_NOT_RUN, not_run)
        for example in not_run:
            reason = example.source.split('\n', 1)[0][len(NOT_RUN):]
            self.assertTrue(reason.strip(), example)

    def test_some_examples_run_under_pytest(self):
        self.assertTrue([example for example in python_examples()
                         if example.kind() == 'pytest'])

    def test_each_listed_example_exists_once(self):
        examples = python_examples()
        for page, text in list(PYTHON3_ONLY) + list(CHECKS):
            self.assertEqual(1, len(_find(examples, page, text)), (page, text))


def _add_example_tests():
    for example in python_examples():
        name = 'test_%s_line_%d' % (re.sub(r'\W', '_', example.page[:-3]),
                                    example.line)

        def test(self, example=example):
            run_example(self, example)
        test.__name__ = name
        test.__doc__ = 'docs/%s, line %d' % (example.page, example.line)
        setattr(DocsExamplesTest, name, test)


_add_example_tests()


if __name__ == '__main__':
    unittest.main()
