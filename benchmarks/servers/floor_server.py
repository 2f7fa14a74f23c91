"""The floor of a Python SMTP server on this machine: canned replies.

    python floor_server.py [--host 127.0.0.1] [--port 0] [--processes N]

Not an SMTP server: no parsing beyond the first four letters of a line and
the end of the message data, no validation, no state but "in DATA", the
message data thrown away. N processes (default: one per CPU) serve on
the shared listening socket, each with an epoll loop, one non-blocking
recv per wake-up and one send per batch of replies: the system calls a
server needs to answer smtp-source's loads, and as little Python as will
do it. What pymta costs above this row is pymta's Python work. Prints
``PORT <n>`` once it listens; SIGTERM or SIGINT ends it and its processes.
Python 3 only.
"""

import argparse
import os
import select
import signal
import socket
import sys

REPLIES = {b'EHLO': b'250-floor\r\n250 8BITMIME\r\n',
           b'HELO': b'250 floor\r\n',
           b'DATA': b'354 go ahead\r\n',
           b'QUIT': b'221 floor closing\r\n'}
OK = b'250 ok\r\n'
END_OF_DATA = b'\r\n.\r\n'


class Client(object):
    __slots__ = ('sock', 'pending', 'in_data')

    def __init__(self, sock):
        self.sock = sock
        self.pending = b''      # a partial line, or the last octets of data
        self.in_data = False


def replies_to(client, data):
    """(the replies to ``data``, whether the client said QUIT)"""
    buffer = client.pending + data
    out = []
    position = 0
    while True:
        if client.in_data:
            end = buffer.find(END_OF_DATA, max(0, position - 2))
            if end < 0:
                # (keep what may be the start of the end of the data)
                client.pending = buffer[-4:]
                return b''.join(out), False
            position = end + len(END_OF_DATA)
            client.in_data = False
            out.append(OK)
            continue
        end = buffer.find(b'\n', position)
        if end < 0:
            client.pending = buffer[position:]
            return b''.join(out), False
        verb = buffer[position:position + 4].upper()
        position = end + 1
        out.append(REPLIES.get(verb, OK))
        if verb == b'DATA':
            client.in_data = True
            # (the data begins after the DATA line: no CRLF before it)
            buffer = b'\r\n' + buffer[position:]
            position = 0
        elif verb == b'QUIT':
            client.pending = b''
            return b''.join(out), True


def close(poller, clients, fd):
    client = clients.pop(fd)
    poller.unregister(fd)
    try:
        client.sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    client.sock.close()


def serve(listener):
    poller = select.epoll()
    listen_fd = listener.fileno()
    poller.register(listen_fd, select.EPOLLIN)
    clients = {}
    while True:
        for fd, _ in poller.poll():
            if fd == listen_fd:
                try:
                    sock, _ = listener.accept()
                except BlockingIOError:
                    continue
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                clients[sock.fileno()] = Client(sock)
                poller.register(sock.fileno(), select.EPOLLIN)
                sock.send(b'220 floor ESMTP\r\n', socket.MSG_DONTWAIT)
                continue
            client = clients[fd]
            try:
                data = client.sock.recv(65536, socket.MSG_DONTWAIT)
            except BlockingIOError:
                continue
            except OSError:
                close(poller, clients, fd)
                continue
            if not data:
                close(poller, clients, fd)
                continue
            out, quit = replies_to(client, data)
            if out:
                try:
                    # (replies are short: the socket buffer takes them)
                    client.sock.sendall(out)
                except OSError:
                    quit = True
            if quit:
                close(poller, clients, fd)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, default=0)
    parser.add_argument('--processes', type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((args.host, args.port))
    listener.listen(256)
    listener.setblocking(False)
    children = []
    for _ in range(args.processes):
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            try:
                serve(listener)
            finally:
                os._exit(1)
        children.append(pid)

    def stop(signum, frame):
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                pass
        for pid in children:
            os.waitpid(pid, 0)
        sys.exit(0)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print('PORT %d' % listener.getsockname()[1], flush=True)
    while True:
        signal.pause()


if __name__ == '__main__':
    main()
