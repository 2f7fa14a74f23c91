# -*- coding: utf-8 -*-
"""Exceptions pymta raises."""

from __future__ import absolute_import

from .api import PyMTAException


__all__ = ['InvalidParametersError', 'SMTPViolationError']


class SMTPViolationError(PyMTAException):
    """The client sent something the SMTP dialogue does not allow here."""

    def __init__(self, code=550, reply_text='Administrative Prohibition',
                 response_sent=False):
        PyMTAException.__init__(self, reply_text)
        self.code = code
        self.reply_text = reply_text
        self.response_sent = response_sent


class InvalidParametersError(PyMTAException):
    """A command's arguments are syntactically invalid (the 501 case)."""

    def __init__(self, parameter=None, response_sent=False):
        PyMTAException.__init__(self, parameter)
        self.parameter = parameter
        self.response_sent = response_sent
