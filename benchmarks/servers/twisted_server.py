"""Twisted mail's ESMTP server on 127.0.0.1 with a null delivery: every
sender and recipient is accepted, every message line is dropped.

    python twisted_server.py [--port 0]

Prints ``PORT <n>`` once it listens, then serves until SIGINT/SIGTERM.
"""

import argparse
import sys

from twisted.internet import defer, reactor
from twisted.mail import smtp
from zope.interface import implementer


@implementer(smtp.IMessage)
class NullMessage(object):
    def lineReceived(self, line):
        pass

    def eomReceived(self):
        return defer.succeed(None)

    def connectionLost(self):
        pass


@implementer(smtp.IMessageDelivery)
class NullDelivery(object):
    def receivedHeader(self, helo, origin, recipients):
        return None

    def validateFrom(self, helo, origin):
        return origin

    def validateTo(self, user):
        return NullMessage


class NullESMTPFactory(smtp.SMTPFactory):
    protocol = smtp.ESMTP

    def __init__(self):
        smtp.SMTPFactory.__init__(self)
        self.delivery = NullDelivery()

    def buildProtocol(self, addr):
        p = smtp.SMTPFactory.buildProtocol(self, addr)
        p.delivery = self.delivery
        return p


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, default=0)
    args = parser.parse_args()
    port = reactor.listenTCP(args.port, NullESMTPFactory(),
                             interface=args.host)
    print('PORT %d' % port.getHost().port)
    sys.stdout.flush()
    reactor.run()   # installs SIGINT/SIGTERM handlers that stop it


if __name__ == '__main__':
    main()
