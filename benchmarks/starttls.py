#!/usr/bin/env python3
"""Messages per minute with STARTTLS on every connection: pymta's fork path
against aiosmtpd, in the same run.

    python3 benchmarks/starttls.py [--rounds 5] [--messages 400]
                                   [--clients 4]

Each connection: EHLO, STARTTLS, the TLS handshake, EHLO, MAIL, RCPT, DATA
with a 1 KiB message, QUIT. ``--clients`` processes send ``--messages``
messages in all (smtplib, the certificate not checked: the client's work is
the same for both servers), one per connection. The servers use a
throwaway certificate (``pymta.certificates``). Rounds alternate which
server goes first; prints each server's median (min-max) and the ratio
pymta/aiosmtpd of the medians and per round. Every process a round starts
is ended by its PID; loopback only; each round is bounded by
``--timeout`` seconds. Needs ``bash benchmarks/setup.sh`` (the 3.11 venv
with aiosmtpd).
"""

import argparse
import multiprocessing
import shutil
import smtplib
import ssl
import statistics
import sys
import tempfile
import time

from run import ROOT, Server, SetupMissing, check_setup

MESSAGE = (b'Subject: benchmark\r\n\r\n' + b'x' * 78 + b'\r\n') * 12
SERVER_NAMES = ('pymta-fork-3.11', 'aiosmtpd')


def send(port, count, timeout):
    """One client process: ``count`` messages, each on a new STARTTLS
    connection."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    for _ in range(count):
        client = smtplib.SMTP('127.0.0.1', port, timeout=timeout)
        client.ehlo('client.example.com')
        client.starttls(context=context)
        client.ehlo('client.example.com')
        client.sendmail('sender@example.com', ['recipient@example.com'],
                        MESSAGE)
        client.quit()


def measure(name, certificate, messages, clients, timeout):
    """Messages per minute against a fresh server ``name``; None if a client
    failed or the round took longer than ``timeout``."""
    server = Server(name, ROOT, extra=['--tls'] + list(certificate))
    server.start()
    try:
        share = [messages // clients] * clients
        share[0] += messages - sum(share)
        started = time.perf_counter()
        processes = [multiprocessing.Process(target=send,
                                             args=(server.port, n, timeout))
                     for n in share]
        for process in processes:
            process.start()
        deadline = started + timeout
        for process in processes:
            process.join(max(0.0, deadline - time.perf_counter()))
        elapsed = time.perf_counter() - started
        failed = False
        for process in processes:
            if process.is_alive():
                process.terminate()
                process.join()
                failed = True
            elif process.exitcode != 0:
                failed = True
        return None if failed else messages / elapsed * 60
    finally:
        server.stop()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--messages', type=int, default=400)
    parser.add_argument('--clients', type=int, default=4)
    parser.add_argument('--timeout', type=float, default=120.0)
    args = parser.parse_args(argv)
    try:
        check_setup(list(SERVER_NAMES), [])
    except SetupMissing as e:
        print(e, file=sys.stderr)
        return 2
    sys.path.insert(0, ROOT)
    from pymta.certificates import self_signed_certificate
    directory = tempfile.mkdtemp(prefix='pymta-bench-tls-')
    try:
        certificate = self_signed_certificate(directory)
        rates = dict((name, []) for name in SERVER_NAMES)
        for number in range(args.rounds):
            order = SERVER_NAMES if number % 2 == 0 else SERVER_NAMES[::-1]
            for name in order:
                rate = measure(name, certificate, args.messages,
                               args.clients, args.timeout)
                rates[name].append(rate)
                print('round %d %-16s %s' % (
                    number + 1, name,
                    'failed' if rate is None else '%.0f msgs/min' % rate))
                sys.stdout.flush()
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    print()
    medians = {}
    for name in SERVER_NAMES:
        values = [rate for rate in rates[name] if rate is not None]
        if not values:
            print('%-16s every round failed' % name)
            continue
        medians[name] = statistics.median(values)
        print('%-16s median %.0f msgs/min (%.0f-%.0f), %d of %d rounds'
              % (name, medians[name], min(values), max(values), len(values),
                 len(rates[name])))
    pairs = [a / b for a, b in zip(*[rates[name] for name in SERVER_NAMES])
             if a is not None and b is not None]
    if len(medians) == 2 and pairs:
        print('pymta/aiosmtpd: %.2f (medians), per round %.2f (%.2f-%.2f)'
              % (medians[SERVER_NAMES[0]] / medians[SERVER_NAMES[1]],
                 statistics.median(pairs), min(pairs), max(pairs)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
