# -*- coding: utf-8 -*-
"""A deliverer that keeps every accepted message in a queue."""

from __future__ import absolute_import

from .api import IMessageDeliverer
from .compat import queue


__all__ = ['BlackholeDeliverer']


class BlackholeDeliverer(IMessageDeliverer):
    """Puts every accepted message into the class attribute
    ``received_messages`` (a ``Queue``). Each instantiation replaces that
    queue with a new, empty one."""

    received_messages = None

    def __init__(self):
        self.__class__.received_messages = queue.Queue()

    def new_message_accepted(self, msg):
        self.received_messages.put(msg)
