"""aiosmtpd on 127.0.0.1, accepting and discarding every message.

    python aiosmtpd_server.py [--port 0] [--tls CERT KEY]

Prints ``PORT <n>`` once it listens, then serves until SIGINT/SIGTERM.
The handler's ``handle_DATA`` returns ``'250 OK'``. The host name is looked
up once (aiosmtpd would otherwise call ``socket.getfqdn()`` per connection).
``--tls CERT KEY``: offer STARTTLS with that certificate and key.
"""

import argparse
import asyncio
import signal
import socket
import sys

from aiosmtpd.smtp import SMTP


class NullHandler:
    async def handle_DATA(self, server, session, envelope):
        return '250 OK'


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, default=0)
    parser.add_argument('--tls', nargs=2, metavar=('CERT', 'KEY'))
    args = parser.parse_args()
    options = {}
    if args.tls:
        import ssl
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*args.tls)
        options['tls_context'] = context
    hostname = socket.getfqdn()
    handler = NullHandler()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    server = loop.run_until_complete(loop.create_server(
        lambda: SMTP(handler, hostname=hostname, **options), args.host,
        args.port,
        backlog=128))
    port = server.sockets[0].getsockname()[1]
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, loop.stop)
    print('PORT %d' % port)
    sys.stdout.flush()
    loop.run_forever()
    server.close()
    loop.run_until_complete(server.wait_closed())
    loop.close()


if __name__ == '__main__':
    main()
