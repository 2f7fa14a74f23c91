# -*- coding: utf-8 -*-
"""Every default reply pymta sends: one table, code and text.

Texts may name ``%(host)s`` (the parser's primary hostname), ``%(ip)s`` (the
peer's address), ``%(command)s`` (a command as the client sent it) and
``%(octets)d`` (a BDAT chunk's size). Client
input quoted in a reply goes through ``printable`` first. A policy can
replace any reply to a command it decides on by returning a custom
``(code, text)`` (sent as it is).
"""

from __future__ import absolute_import

import re

from .compat import basestring, wire_bytes


REPLIES = {
    'greeting': (220, '%(host)s Hello %(ip)s'),
    'service_unavailable': (554, 'SMTP service not available'),
    'helo_ok': (250, '%(host)s'),
    'ehlo_ok': (250, '%(host)s'),
    'administrative_prohibition': (550, 'Administrative Prohibition'),
    'relay_not_permitted': (550, 'relay not permitted'),
    'content_not_acceptable': (550, 'Message content is not acceptable'),
    'ok': (250, 'OK'),
    'start_data': (354, 'Enter message, ending with "." on a line by itself'),
    'reset_ok': (250, 'Reset OK'),
    'help': (214, 'Commands supported'),
    'closing': (221, '%(host)s closing connection'),
    'message_too_big': (552, 'message exceeds fixed maximum message size'),
    'auth_not_available': (535, 'AUTH not available'),
    'auth_ok': (235, 'Authentication successful'),
    'auth_failed': (535, 'Bad username or password'),
    'auth_username_prompt': (334, 'VXNlcm5hbWU6'),   # base64 of 'Username:'
    'auth_password_prompt': (334, 'UGFzc3dvcmQ6'),   # base64 of 'Password:'
    # (CRAM-MD5: the base64 of the challenge)
    'auth_challenge': (334, '%(challenge)s'),
    'auth_cancelled': (501, 'Authentication cancelled'),
    'auth_not_in_progress': (503, 'No AUTH LOGIN exchange in progress'),
    'auth_unknown_mechanism': (504, 'Unrecognized authentication type'),
    'ready_for_tls': (220, 'Ready to start TLS'),
    'tls_not_available': (454, 'TLS not available due to temporary reason'),
    # (require_tls: RFC 4954 section 6, RFC 3207 section 4)
    'auth_needs_tls': (538, '5.7.11 Encryption required for requested '
                            'authentication mechanism'),
    'mail_needs_tls': (530, '5.7.0 Must issue a STARTTLS command first'),
    # (CHUNKING: the reply to a BDAT chunk that is not the last)
    'chunk_ok': (250, '%(octets)d octets received'),
    'internal_error': (451, 'Temporary Local Problem: Please come back later'),
    'unknown_command': (500, 'unrecognized command "%(command)s"'),
    'not_allowed': (503, 'Command "%(command)s" is not allowed here'),
    'line_too_long': (500, 'Line too long'),
    'syntax_usage': (501, 'Syntax: %(command)s'),
    'garbled': (501, 'Garbled data sent'),
    # sent by the server loop (pymta.connection_loop) before it disconnects
    # a client
    'shutting_down': (421, '%(host)s Service not available, closing '
                           'transmission channel'),
    'idle_timeout': (421, '%(host)s Timeout, closing transmission channel'),
    # sent by the fork path's parent to a client while every worker is busy
    'too_busy': (421, '%(host)s Service too busy, try again later; closing '
                      'transmission channel'),
    # sent by the session when a client reached its error limits
    'too_many_errors': (421, '4.7.0 %(host)s Error: too many errors'),
    'too_many_auth_failures': (421, '4.7.0 %(host)s Error: too many '
                                    'authentication failures'),
}


#: ENHANCEDSTATUSCODES (RFC 2034, codes of RFC 3463): the enhanced code of
#: each reply (none for the greeting, EHLO, HELO and 3xx replies, as RFC
#: 2034 says; the texts of the 421 4.7.0 and the 530/538 carry theirs)
ENHANCED_CODES = {
    'service_unavailable': '5.3.2',
    'administrative_prohibition': '5.7.1',
    'relay_not_permitted': '5.7.1',
    'content_not_acceptable': '5.6.0',
    'ok': '2.0.0',
    'reset_ok': '2.0.0',
    'help': '2.0.0',
    'closing': '2.0.0',
    'message_too_big': '5.3.4',
    'auth_not_available': '5.5.1',
    'auth_ok': '2.7.0',
    'auth_failed': '5.7.8',
    'auth_cancelled': '5.0.0',
    'auth_not_in_progress': '5.5.1',
    'auth_unknown_mechanism': '5.5.4',
    'ready_for_tls': '2.0.0',
    'tls_not_available': '4.7.0',
    'chunk_ok': '2.0.0',
    'internal_error': '4.3.0',
    'unknown_command': '5.5.1',
    'not_allowed': '5.5.1',
    'line_too_long': '5.5.2',
    'syntax_usage': '5.5.4',
    'garbled': '5.5.2',
    'shutting_down': '4.3.2',
    'idle_timeout': '4.4.2',
    'too_busy': '4.3.2',
}

#: the enhanced code of a 501 for a bad argument (pycerberus' texts)
SYNTAX_ERROR_CODE = '5.5.4'

_ENHANCED_CODE = re.compile(r'^[245]\.[0-9]{1,3}\.[0-9]{1,3}( |$)')


def with_enhanced_code(code, text, enhanced_code=None):
    """``text`` (one line or a list of lines) with ``enhanced_code`` in
    front of each line (default: ``<class>.0.0`` of ``code``), unless it
    starts with one already; 3xx replies carry none."""
    if code // 100 == 3:
        return text
    if enhanced_code is None:
        enhanced_code = '%d.0.0' % (code // 100)
    if text is None or isinstance(text, basestring):
        if text is None:
            return enhanced_code
        if _ENHANCED_CODE.match(text):
            return text
        return '%s %s' % (enhanced_code, text)
    return [with_enhanced_code(code, line, enhanced_code) for line in text]


def enhanced_reply_for(name, **values):
    """``reply_for`` with the reply's enhanced code (ENHANCEDSTATUSCODES
    on)."""
    code, text = reply_for(name, **values)
    enhanced_code = ENHANCED_CODES.get(name)
    if enhanced_code is None:
        return code, text
    return code, with_enhanced_code(code, text, enhanced_code)


def reply_line(code, text):
    """One reply line as it goes on the wire, CRLF included:
    ``'250 OK\r\n'``, or the code alone for a text of None. Every reply
    pymta writes is formatted here (``reply_lines`` for several lines)."""
    if text is None:
        return '%s\r\n' % (code,)
    return '%s %s\r\n' % (code, text)


def reply_lines(code, text):
    """The lines of the reply ``code``/``text`` as they go on the wire,
    CRLF included: ``['250 OK\r\n']``; for a sequence of lines
    ``'250-one\r\n'``, ..., ``'250 last\r\n'``."""
    if text is None or isinstance(text, basestring):
        return [reply_line(code, text)]
    lines = ['%s-%s\r\n' % (code, line) for line in text[:-1]]
    lines.append(reply_line(code, text[-1]))
    return lines


def reply_bytes(code, text):
    """The octets of the reply ``code``/``text``, CRLF included."""
    return wire_bytes(''.join(reply_lines(code, text)))


def reply_for(name, **values):
    """``(code, text)`` of the default reply ``name``, filled in with
    ``values``."""
    code, template = REPLIES[name]
    if values:
        return code, template % values
    return code, template


_NOT_PRINTABLE = re.compile(r'[^\x20-\x7e]')


def printable(text):
    """``text`` (client input quoted in a reply) with every octet that is
    not printable ASCII written as ``\\xNN``: control characters (ESC, NUL,
    a bare CR), DEL and 8-bit octets (on Python 3 each octet of the UTF-8
    the client sent, surrogate-escaped ones included). Printable ASCII,
    backslashes too, is left as it is, so the text is returned unchanged
    when it is all printable."""
    if _NOT_PRINTABLE.search(text) is None:
        return text
    try:
        octets = wire_bytes(text)
    except UnicodeError:
        # (a lone surrogate that did not come off the wire: handed to the
        # session directly)
        octets = text.encode('utf-8', 'backslashreplace')
    return ''.join([chr(octet) if 0x20 <= octet <= 0x7e else
                    '\\x%02x' % octet for octet in bytearray(octets)])
