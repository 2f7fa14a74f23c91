"""Python 3.11's stdlib ``smtpd.SMTPServer`` + ``asyncore`` on 127.0.0.1,
accepting and discarding every message (``process_message`` returns None,
so each message gets ``250 OK``). Defaults as shipped (listen backlog 5).

    python smtpd_server.py [--port 0]

Prints ``PORT <n>`` once it listens, then serves until SIGINT/SIGTERM.
"""

import argparse
import signal
import sys
import warnings

with warnings.catch_warnings():
    warnings.simplefilter('ignore', DeprecationWarning)
    import asyncore
    import smtpd


class NullServer(smtpd.SMTPServer):
    def process_message(self, peer, mailfrom, rcpttos, data, **kwargs):
        return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, default=0)
    args = parser.parse_args()
    server = NullServer((args.host, args.port), None)
    print('PORT %d' % server.socket.getsockname()[1])
    sys.stdout.flush()
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    try:
        asyncore.loop()
    except KeyboardInterrupt:
        pass


if __name__ == '__main__':
    main()
