# -*- coding: utf-8 -*-
"""Capturing the transcript (``pymta.transcript``) in tests (not collected)."""

from __future__ import absolute_import

import logging
import threading

from pymta.transcript import LOGGER_NAME


class TranscriptCapture(logging.Handler):
    """Keeps every record of the transcript logger while installed
    (``capture_transcript``); ``closed`` is set by a record of a closed
    connection."""

    def __init__(self):
        logging.Handler.__init__(self, logging.DEBUG)
        self.records = []
        self.closed = threading.Event()

    def emit(self, record):
        self.records.append(record)
        if ' closed (' in record.getMessage():
            self.closed.set()

    def lines(self, peer=None):
        """The messages, all or those of ``peer`` (``'ip:port'``)."""
        lines = [record.getMessage() for record in self.records]
        if peer is None:
            return lines
        return [line for line in lines if line.startswith(peer + ' ')]

    def everything(self):
        """All that the records hold, as one text (message, arguments)."""
        return '\n'.join('%s %r %r' % (record.getMessage(), record.msg,
                                       record.args)
                         for record in self.records)


def capture_transcript(test, level=logging.DEBUG):
    """Install a ``TranscriptCapture`` on the transcript logger, set to
    ``level``, for the rest of ``test`` (the logger is restored after
    it)."""
    logger = logging.getLogger(LOGGER_NAME)
    capture = TranscriptCapture()
    old_level, old_propagate = logger.level, logger.propagate
    logger.setLevel(level)
    # (the test's records stay out of the runner's output)
    logger.propagate = False
    logger.addHandler(capture)

    def restore():
        logger.removeHandler(capture)
        logger.setLevel(old_level)
        logger.propagate = old_propagate
    test.addCleanup(restore)
    return capture
