# -*- coding: utf-8 -*-
"""``python -m pymta`` (and the ``pymta`` command): the debugging server.

It accepts every message and prints it (or stores it in a Maildir or an
mbox), with TLS, AUTH, the SMTP extensions and fault injection switched on
by options; ``python -m pymta --help`` lists them. Ctrl-C, SIGINT or
SIGTERM stop it with exit status 0.
"""

from __future__ import absolute_import, print_function

import argparse
import logging
import os
import shutil
import signal
import sys
import tempfile

from .api import IMessageDeliverer
from .compat import wire_bytes
from .sockets import host_and_port


__all__ = ['main']

DEFAULT_HOST = 'localhost'
DEFAULT_PORT = 8025

BEGIN = '---------- MESSAGE FOLLOWS ----------'
BODY = '-------------- BODY -----------------'
END = '------------ END MESSAGE ------------'

#: ``--fault KIND:COMMAND[:OPTIONS]``: KIND -> the ``pymta.policies`` class
#: (and its keyword arguments)
FAULT_KINDS = {
    'reject': ('Reject', {}),
    'tempfail': ('TempFail', {}),
    'shutdown': ('Shutdown421', {}),
    'drop': ('Drop', {}),
    'drop-after': ('Drop', {'before_reply': False}),
    'delay': ('Delay', {}),
}
#: the options a fault takes, and how each is read
FAULT_OPTIONS = {'nth': int, 'rate': float, 'seed': int, 'code': int,
                 'text': str, 'seconds': float}

#: the switches of the extensions: ``--smtputf8`` ... -> the extension
EXTENSION_SWITCHES = (
    ('pipelining', 'PIPELINING'), ('8bitmime', '8BITMIME'),
    ('smtputf8', 'SMTPUTF8'), ('enhancedstatuscodes', 'ENHANCEDSTATUSCODES'),
    ('dsn', 'DSN'), ('chunking', 'CHUNKING'))


class UsageError(Exception):
    """An option that cannot be used as given (exit status 2)."""


# --- what the server does with a message --------------------------------------
def _write(octets):
    """Write ``octets`` to standard output with as few writes as possible,
    so that messages from several worker processes do not interleave."""
    sys.stdout.flush()
    while octets:
        written = os.write(sys.stdout.fileno(), octets)
        octets = octets[written:]


class PrintingDeliverer(IMessageDeliverer):
    """Prints every accepted message with its envelope on standard
    output, between delimiter lines."""

    def new_message_accepted(self, msg):
        envelope = [
            BEGIN,
            'Peer:       %s:%s' % (msg.peer.remote_ip, msg.peer.remote_port),
            'HELO:       %s' % (msg.smtp_helo,),
            'Sender:     <%s>' % (msg.smtp_from,),
            'Recipients: %s' % ', '.join(['<%s>' % (to,)
                                          for to in msg.smtp_to]),
        ]
        if msg.username is not None:
            envelope.append('Username:   %s' % (msg.username,))
        envelope.append(BODY)
        text = b''.join([wire_bytes(line) + b'\n' for line in envelope])
        text += wire_bytes(msg.msg_data or '') + b'\n' + \
            wire_bytes(END) + b'\n'
        _write(text)


class _Deliverers(IMessageDeliverer):
    """Hands each message to several deliverers, in order."""

    def __init__(self, deliverers):
        self.deliverers = deliverers

    def new_message_accepted(self, msg):
        for deliverer in self.deliverers:
            deliverer.new_message_accepted(msg)


# --- the options --------------------------------------------------------------
def _number(convert, lowest, highest, what):
    """An argparse ``type``: ``convert(text)`` within lowest-highest (None:
    no bound)."""
    def number(text):
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or (lowest is not None and value < lowest) or \
                (highest is not None and value > highest):
            raise argparse.ArgumentTypeError('%r is not %s' % (text, what))
        return value
    return number


_port = _number(int, 0, 65535, 'a TCP port (0-65535)')
_size = _number(int, 1, None, 'a size in bytes (1 or more)')
_seconds = _number(float, 0, None, 'a number of seconds (0 or more)')


def _program_name():
    """How the user ran it: the ``pymta`` command or ``python -m pymta``."""
    if os.path.basename(sys.argv[0] or '') == 'pymta':
        return 'pymta'
    return 'python -m pymta'


def argument_parser():
    """The options of ``python -m pymta`` (an ``argparse`` parser)."""
    parser = argparse.ArgumentParser(
        prog=_program_name(),
        description='A debugging SMTP server: accepts every message and '
        'prints it (or stores it). Ctrl-C stops it.',
        epilog='Send it a message: swaks --server localhost:8025 --to '
        'you@example.com')
    where = parser.add_argument_group('where')
    where.add_argument('--host', default=DEFAULT_HOST,
                       help='the address to listen on (default: %(default)s)')
    where.add_argument('--port', type=_port, default=DEFAULT_PORT,
                       help='the TCP port (default: %(default)s; 0: a free '
                       'one)')
    mail = parser.add_argument_group('what happens to the mail')
    mail.add_argument('--maildir', metavar='DIR',
                      help='store every message in the Maildir DIR (made '
                      'if missing)')
    mail.add_argument('--mbox', metavar='FILE',
                      help='store every message in the mbox FILE (made if '
                      'missing)')
    mail.add_argument('--quiet', action='store_true',
                      help='do not print the messages')
    mail.add_argument('-v', '--verbose', action='store_true',
                      help='log every command and reply (the transcript, '
                      'passwords masked) to standard error')
    mail.add_argument('--max-size', type=_size, metavar='BYTES',
                      help='refuse larger messages (552), announced in EHLO')
    tls = parser.add_argument_group('TLS')
    tls.add_argument('--tls-cert', metavar='FILE',
                     help='the certificate (PEM) for STARTTLS; with '
                     '--tls-key unless FILE holds the key too')
    tls.add_argument('--tls-key', metavar='FILE', help='its private key')
    tls.add_argument('--tls-self-signed', action='store_true',
                     help='TLS with a throwaway self-signed certificate '
                     '(needs the openssl command)')
    tls.add_argument('--smtps', action='store_true',
                     help='implicit TLS: every connection starts with the '
                     'TLS handshake (usually port 465)')
    tls.add_argument('--require-tls', nargs='?', const='all',
                     choices=('auth', 'all'),
                     help='require STARTTLS before AUTH (auth) or before '
                     'MAIL too (all, the default)')
    auth = parser.add_argument_group('AUTH (offered only with one of these)')
    auth.add_argument('--auth', action='append', default=[],
                      metavar='USER:PASSWORD',
                      help='accept this user (PLAIN, LOGIN, CRAM-MD5); '
                      'may be repeated')
    auth.add_argument('--auth-any', action='store_true',
                      help='accept any user and password (PLAIN, LOGIN)')
    extensions = parser.add_argument_group(
        'SMTP extensions (each off by default)')
    for switch, name in EXTENSION_SWITCHES:
        extensions.add_argument('--' + switch, dest=switch,
                                action='store_true',
                                help='offer %s' % (name,))
    faults = parser.add_argument_group('fault injection')
    faults.add_argument(
        '--fault', action='append', default=[],
        metavar='KIND:COMMAND[:OPTION=VALUE,...]',
        help='make COMMAND fail: KIND is one of %s; COMMAND is connect, '
        'HELO, EHLO, AUTH, MAIL FROM, RCPT TO, DATA, message or STARTTLS; '
        'OPTIONs: nth=N, rate=R, seed=S, code=C, text=T, seconds=S (delay); '
        'e.g. --fault "tempfail:RCPT TO:nth=1". May be repeated'
        % (', '.join(sorted(FAULT_KINDS)),))
    faults.add_argument('--greylist', type=_seconds, metavar='SECONDS',
                        help='greylisting: the first attempt of a (client, '
                        'sender, recipient) gets 451, a retry after SECONDS '
                        'is accepted')
    return parser


def parse_fault(spec):
    """``KIND:COMMAND[:OPTION=VALUE,...]`` -> a ``pymta.policies`` fault."""
    from . import policies
    parts = spec.split(':', 2)
    if len(parts) < 2:
        raise UsageError('--fault %r: KIND:COMMAND[:OPTIONS] expected' % spec)
    kind = parts[0].strip().lower()
    if kind not in FAULT_KINDS:
        raise UsageError('--fault %r: unknown kind %r (one of %s)' % (
            spec, kind, ', '.join(sorted(FAULT_KINDS))))
    class_name, options = FAULT_KINDS[kind]
    options = dict(options)
    for option in (parts[2].split(',') if len(parts) > 2 else ()):
        name, equals, value = option.partition('=')
        name = name.strip()
        if not equals or name not in FAULT_OPTIONS:
            raise UsageError('--fault %r: unknown option %r (known: %s)' % (
                spec, option, ', '.join(sorted(FAULT_OPTIONS))))
        try:
            options[name] = FAULT_OPTIONS[name](value.strip())
        except ValueError:
            raise UsageError('--fault %r: %s=%r is not a number' % (
                spec, name, value))
    command = parts[1].strip()
    try:
        if kind == 'delay':
            if 'seconds' not in options:
                raise UsageError('--fault %r: delay needs seconds=S' % spec)
            seconds = options.pop('seconds')
            return policies.Delay(command, seconds, **options)
        if 'seconds' in options:
            raise UsageError('--fault %r: seconds only for delay' % spec)
        return getattr(policies, class_name)(command, **options)
    except (TypeError, ValueError) as e:
        raise UsageError('--fault %r: %s' % (spec, e))


def _authenticator(options):
    if options.auth_any and options.auth:
        raise UsageError('--auth-any and --auth: choose one')
    if options.auth_any:
        from .authenticators import AcceptAnyAuthenticator
        return AcceptAnyAuthenticator(), ('PLAIN', 'LOGIN')
    if not options.auth:
        return None, ()
    passwords = []
    for user_password in options.auth:
        user, colon, password = user_password.partition(':')
        if not colon or not user:
            raise UsageError('--auth %r: USER:PASSWORD expected'
                             % (user_password,))
        if user in dict(passwords):
            raise UsageError('--auth %r: %s is given twice' % (
                user_password, user))
        passwords.append((user, password))
    from .authenticators import PasswordAuthenticator
    return PasswordAuthenticator(passwords), ('PLAIN', 'LOGIN', 'CRAM-MD5')


def _deliverer(options):
    deliverers = []
    if not options.quiet:
        deliverers.append(PrintingDeliverer())
    if options.maildir:
        from .mail_stores import MaildirDeliverer
        deliverers.append(_checked('--maildir', MaildirDeliverer(
            options.maildir)))
    if options.mbox:
        from .mail_stores import MboxDeliverer
        deliverers.append(_checked('--mbox', MboxDeliverer(options.mbox)))
    if len(deliverers) == 1:
        return deliverers[0]
    return _Deliverers(deliverers)


def _checked(option, store):
    """``store`` (a mail store's deliverer), made and checked now: a path
    that cannot hold it is an error of the option, not a 451 for every
    message."""
    try:
        store.check()
    except (IOError, OSError) as e:
        raise UsageError('%s %s: %s' % (option, store.path,
                                        e.strerror or e))
    return store


def _tls(options, directory):
    """What ``PythonMTA(tls=...)`` gets, or None."""
    if options.tls_self_signed:
        if options.tls_cert or options.tls_key:
            raise UsageError('--tls-self-signed and --tls-cert: choose one')
        from .certificates import self_signed_certificate
        try:
            return self_signed_certificate(directory())
        except RuntimeError as e:
            raise UsageError('--tls-self-signed: %s' % (e,))
    if options.tls_key and not options.tls_cert:
        raise UsageError('--tls-key needs --tls-cert')
    if options.tls_cert:
        from .tls import server_context
        try:
            # (loaded now: a file that does not serve is an error of the
            # options, before the server listens)
            return server_context((options.tls_cert, options.tls_key))
        except (IOError, OSError) as e:     # (ssl.SSLError too)
            raise UsageError('--tls-cert/--tls-key: %s' % (e,))
    if options.smtps or options.require_tls:
        raise UsageError('--smtps and --require-tls need a certificate '
                         '(--tls-cert or --tls-self-signed)')
    return None


def build_server(options, directory):
    """The ``PythonMTA`` the parsed ``options`` describe. ``directory()``
    returns a temporary directory (for a self-signed certificate)."""
    from .mta import PythonMTA
    from .policies import AcceptAllPolicy, FaultPolicy, Greylisting

    authenticator, auth_methods = _authenticator(options)
    policy = AcceptAllPolicy(options.max_size, auth_methods)
    faults = [parse_fault(spec) for spec in options.fault]
    if options.greylist is not None:
        faults.append(Greylisting(options.greylist))
    if faults:
        policy = FaultPolicy(*faults, base=policy)
    tls = _tls(options, directory)
    extensions = [name for switch, name in EXTENSION_SWITCHES
                  if getattr(options, switch)]
    server_options = {}
    if options.max_size is not None:
        server_options['default_max_message_size'] = options.max_size
    if faults:
        # one process, a thread per connection (see main): the faults count
        # every connection ("nth=1": the first of the server, not of each
        # worker process) and greylisting remembers every attempt
        server_options['threaded'] = True

    class DebuggingServer(PythonMTA):
        def listening_started(self):
            print('pymta debugging server listening on %s (Ctrl-C to '
                  'stop)' % (host_and_port(self.local_address, self.port),))
            sys.stdout.flush()

    return DebuggingServer(
        options.host, options.port, _deliverer(options), policy,
        authenticator, tls=tls, implicit_tls=options.smtps,
        require_tls=options.require_tls, extensions=extensions,
        **server_options)


def _log_to_stderr(verbose):
    """Log pymta's warnings (with ``verbose``: everything, the transcript
    too) to standard error; returns what undoes it."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter('%(asctime)s %(message)s'))
    logger = logging.getLogger('pymta')
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbose else logging.WARNING)

    def undo():
        logger.removeHandler(handler)
        logger.setLevel(level)
    return undo


def main(argv=None):
    """Run the debugging server with the options in ``argv`` (default:
    the command line); returns the exit status."""
    options = argument_parser().parse_args(
        sys.argv[1:] if argv is None else argv)
    temporary = []

    def directory():
        temporary.append(tempfile.mkdtemp(prefix='pymta-'))
        return temporary[-1]
    try:
        try:
            server = build_server(options, directory)
        except (UsageError, ValueError) as e:
            print('%s: error: %s' % (_program_name(), e), file=sys.stderr)
            return 2
        stop_logging = _log_to_stderr(options.verbose)

        def stop(signum, frame):
            server.shutdown_server()
        previous = [(signum, signal.signal(signum, stop))
                    for signum in (signal.SIGINT, signal.SIGTERM)]
        try:
            server.serve_forever(use_multiprocessing=not server.threaded)
        except KeyboardInterrupt:
            pass
        except (IOError, OSError) as e:
            print('%s: error: %s' % (_program_name(), e), file=sys.stderr)
            return 1
        finally:
            for signum, handler in previous:
                signal.signal(signum, handler)
            stop_logging()
        return 0
    finally:
        for path in temporary:
            shutil.rmtree(path, ignore_errors=True)
