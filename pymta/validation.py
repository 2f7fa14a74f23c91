# -*- coding: utf-8 -*-
"""The argument syntax of every SMTP command, declared once as pycerberus
schemas.

Each schema parses the argument string of one command (arguments separated by
whitespace) into a dict, or raises pycerberus' ``InvalidDataError`` whose
``msg()`` is the text of the 501 reply (the usage for humans is declared
with each command in ``pymta.commands``). Schemas are built once per
session class and reused: they hold no per-command state.
"""

from __future__ import absolute_import

import re

from pycerberus.api import BaseValidator, NoValueSet, Validator
from pycerberus.errors import InvalidDataError
from pycerberus.lib.form_data import is_result
from pycerberus.schemas import PositionalArgumentsParsingSchema
from pycerberus.validators import (DomainNameValidator,
                                   EmailAddressValidator, IntegerValidator,
                                   StringValidator)

from .compat import (b64decode, native_from_validation,
                     natives_from_validation, text_for_validation,
                     validation_character_at)


__all__ = ['AuthLoginSchema', 'AuthPlainSchema', 'HeloSchema',
           'MailFromSchema', 'RcptToSchema', 'SMTPCommandArgumentsSchema',
           'SMTPEmailValidator']

_WHITESPACE = re.compile(r'\s+')
# RFC 5321 atext plus the dot; any octet above 127 is fine (SMTPUTF8). Listing
# what is NOT allowed keeps the pattern small: a range up to U+10FFFF makes
# Python 2 compile a table of tens of megabytes.
_NOT_IN_LOCALPART = r'\x00-\x20"(),:;<>@\[\\\]\x7f'
_INVALID_LOCALPART_CHARACTER = re.compile(r'([%s])' % _NOT_IN_LOCALPART)
_DIGITS = re.compile(r'^-?[0-9]+$')
# (RFC 3030's chunk-size: 1*DIGIT, the ASCII ones)
_CHUNK_SIZE = re.compile(r'[0-9]+\Z')
_ADDRESS_LITERAL = re.compile(r'^\[[^\[\]\\\s]+\]$')
# (in a domain label: the dot separates the labels)
_IN_DOMAIN_LABEL = r'a-zA-Z0-9\-'
_INVALID_DOMAIN_CHARACTER = re.compile(r'[^%s.]' % _IN_DOMAIN_LABEL)
# An address every check of SMTPEmailValidator.validate accepts: a local
# part of allowed characters, '@', a domain of dot-separated labels.
_PLAIN_ADDRESS = re.compile(r'^[^%s]+@[%s]+(?:\.[%s]+)*\Z' % (
    _NOT_IN_LOCALPART, _IN_DOMAIN_LABEL, _IN_DOMAIN_LABEL))
# with SMTPUTF8 (RFC 6531) a domain may also hold characters above 127
_INVALID_UTF8_DOMAIN_CHARACTER = re.compile(r'[\x00-\x2c/:-@\[-`{-\x7f]')

GARBLED = 'Garbled data sent'


class SMTPCommandArgumentsSchema(PositionalArgumentsParsingSchema):
    """Base schema: whitespace separated positional arguments; anything beyond
    the declared parameters is a 501. Used as is for commands without
    arguments (NOOP, RSET, QUIT, DATA)."""

    allow_additional_parameters = False

    def messages(self):
        return {'additional_item':
                "Syntactically invalid argument(s) '%(additional_item)s'"}

    def separator_pattern(self):
        return r'\s+'

    def split_parameters(self, value, context):
        value = value.strip()
        if not value:
            return []
        nr_parameters = len(self._parameter_order)
        if nr_parameters == 0:
            # re.split(maxsplit=0) would split everything: keep it one item
            # so the 501 quotes the whole argument.
            return [value]
        return _WHITESPACE.split(value, maxsplit=nr_parameters)

    def process(self, value, context=None):
        if value is None:
            value = ''
        value = text_for_validation(value)
        result = self._process_valid_fields(value, context)
        if result is None:
            result = self._process_with_schema(value, context)
        return natives_from_validation(result)

    def _process_with_schema(self, value, context):
        """pycerberus' full ``Schema.process``; raises the 501's error."""
        try:
            return super(SMTPCommandArgumentsSchema, self).process(
                value, context=context)
        except InvalidDataError as e:
            # A schema's error carries one error per field; the 501 needs
            # the text of the first one.
            raise _single_error(e)

    def _process_valid_fields(self, value, context):
        """The common case, fast: every argument maps to a field and each
        field validator accepts its value. Runs the same pycerberus field
        validators as ``Schema.process`` but without its per-call result
        containers (what that saves: "Fast paths" in benchmarks/README.md).
        Returns None when anything is not that simple (an error, an extra
        argument, a form validator): the full ``Schema.process`` then runs
        and raises exactly the error it always did."""
        plan = self._field_plan
        if plan is False:
            plan = self._plan_fields()
        if plan is None:
            return None
        fields_to_process, field_names, maps_plainly = plan
        token = value.strip()
        order = self._parameter_order
        if maps_plainly and token and order and \
                _WHITESPACE.search(token) is None:
            # One argument (most commands): what the mapping gives for it
            # (the parameters it does not name are missing: None below).
            fields = {order[0]: token}
        else:
            try:
                fields = self._map_arguments_to_named_fields(value,
                                                             context or {})
            except InvalidDataError:
                return None
        for key in fields:
            if key not in field_names:
                return None     # more arguments than fields ('_extra')
        # One copy for all fields, as Schema.process shares one context among
        # its field validators; a copy because a validator that raises leaves
        # its 'result' in the context, which must not reach the full path.
        field_context = dict(context) if context else {}
        result = {}
        try:
            for key, validator, is_plain in fields_to_process:
                field_value = fields.get(key)
                if is_plain:
                    processed = _process_plainly(validator, field_value,
                                                 field_context)
                else:
                    processed = validator.process(field_value, field_context)
                    if is_result(processed):
                        # a validator that reports errors instead of raising
                        if processed.contains_errors():
                            return None
                        processed = processed.value
                result[key] = processed
        except InvalidDataError:
            return None
        return result

    # ((key, validator, is_plain) for each field, the field names, whether
    # one argument maps to the first parameter as pycerberus' mapping does
    # it), built on first use and again after add(); None: a form
    # validator, no fast path
    _field_plan = False

    def _plan_fields(self):
        plan = None
        if not self.formvalidators():
            # (the schema's own field validators: fieldvalidators() copies
            # them. _fields is pycerberus 0.7's; should a later release
            # rename it, the copy.)
            validators = getattr(self, '_fields', None)
            if validators is None:
                validators = self.fieldvalidators()
            plan = (tuple((key, validator, _is_plain(validator))
                          for key, validator in validators.items()),
                    frozenset(validators), _maps_plainly(type(self)))
        # (a cache of the configuration, the same in every thread: stored
        # past pycerberus' guard against per-call state, as pycerberus
        # stores its own)
        self.__dict__['_field_plan'] = plan
        return plan

    def add(self, fieldname, validator):
        super(SMTPCommandArgumentsSchema, self).add(fieldname, validator)
        self.__dict__['_field_plan'] = False

    def add_formvalidator(self, formvalidator):
        super(SMTPCommandArgumentsSchema, self).add_formvalidator(
            formvalidator)
        self.__dict__['_field_plan'] = False


class _EmptyAndRequired(InvalidDataError):
    """(internal) A required field is missing: the full path says so."""

    def __init__(self):
        InvalidDataError.__init__(self, 'empty', None)


# What pycerberus' Validator.process does with its result containers; a
# validator that overrides one of them is processed by its own process().
_RESULT_HANDLING = ('process', 'build_context', 'get_result', 'new_result',
                    'handle_empty_input', 'handle_validator_result',
                    '_restore_old_result_in_context')


def _first_definer(cls, name):
    """The class of ``cls``'s MRO whose own attribute ``name`` is."""
    return _first_definer_among(cls.__mro__, name)


def _first_definer_among(classes, name):
    for klass in classes:
        if name in klass.__dict__:
            return klass
    return None


def _maps_plainly(schema_class):
    """Does ``schema_class`` map arguments to fields as pycerberus'
    ``PositionalArgumentsParsingSchema`` does, split as pymta splits
    (whitespace), so that one argument goes to the first parameter?"""
    return (
        _first_definer(schema_class, '_map_arguments_to_named_fields') is
        PositionalArgumentsParsingSchema and
        _first_definer(schema_class, '_parameter_names') is
        PositionalArgumentsParsingSchema and
        _first_definer(schema_class, 'split_parameters') in
        (SMTPCommandArgumentsSchema, _ParametersMixin) and
        _first_definer(schema_class, 'aggregate_values') in
        (PositionalArgumentsParsingSchema, _ParametersMixin))


def _is_plain(validator):
    """Does ``validator`` raise on invalid input and process a value as
    pycerberus' ``Validator.process`` does (strip, empty check, convert,
    validate)? Then ``_process_plainly`` gives the same result."""
    if getattr(validator, '_exception_if_invalid', None) is not True:
        return False
    cls = type(validator)
    if any(_first_definer(cls, name) is not Validator
           for name in _RESULT_HANDLING):
        return False
    # (Validator.process calls BaseValidator.process, which returns the
    # value: nothing between them may define another)
    mro = cls.__mro__
    return _first_definer_among(mro[mro.index(Validator) + 1:],
                                'process') is BaseValidator


def _process_plainly(validator, value, context):
    """``validator.process(value, context)`` for a plain validator
    (``_is_plain``), without the result containers its process() builds
    and drops for each value: the steps of pycerberus 0.7's
    ``Validator.process`` (tests/test_core_validation.py compares the
    two). Raises ``InvalidDataError`` where it does."""
    if validator._strip_input and value is not None:
        value = value.strip()
    if validator.is_empty(value, context) == True:  # noqa: E712 (as pycerberus)
        if validator.is_required():
            raise _EmptyAndRequired()
        return validator.empty_value(context)
    converted = validator.convert(value, context)
    validator.validate(converted, context)
    return converted


def _single_error(error):
    errors = error.errors()
    first = errors[0] if errors else error
    while isinstance(first, InvalidDataError) and first.errors() and \
            first.errors()[0] is not first:
        first = first.errors()[0]
    details = error.details()
    if isinstance(first, InvalidDataError):
        message = first.msg()
    else:
        message = getattr(first, 'msg', None) or details.msg()
    return InvalidDataError(native_from_validation(message),
                            getattr(first, 'value', details.value()),
                            key=getattr(first, 'key', details.key()),
                            context=details.context())


class SMTPEmailValidator(EmailAddressValidator):
    """An e-mail address, bare or in angle brackets; returns it without the
    brackets. ``allow_null_path`` accepts ``<>`` (returned as ``''``),
    ``allow_postmaster`` accepts ``postmaster`` without a domain."""

    def __init__(self, allow_null_path=False, allow_postmaster=False, **kwargs):
        self._allow_null_path = allow_null_path
        self._allow_postmaster = allow_postmaster
        kwargs.setdefault('strip', True)
        super(SMTPEmailValidator, self).__init__(**kwargs)
        # Are this class's checks all there are (no length limits, no check
        # a subclass replaced)? Then an address that _PLAIN_ADDRESS matches
        # passes them all, and validate() need not run them one by one (it
        # does to name the error). (Set past pycerberus' guard against
        # per-call state: this is configuration.)
        cls = type(self)
        self.__dict__['_plain_checks'] = \
            self._min_length is NoValueSet and \
            self._max_length is NoValueSet and \
            _first_definer(cls, '_validate_domain_name') is \
            SMTPEmailValidator and \
            _first_definer(cls, '_validate_localpart') is \
            SMTPEmailValidator and \
            _first_definer(cls, '_validate_domain') is EmailAddressValidator

    def messages(self):
        return {
            'unbalanced_brackets':
                'Invalid email address format - use balanced angle brackets.',
            'null_path_not_allowed': 'The null path <> is not allowed here.',
        }

    def convert(self, value, context):
        value = super(SMTPEmailValidator, self).convert(value, context)
        starts, ends = value.startswith('<'), value.endswith('>')
        if starts != ends or value.count('<') > int(starts) or \
                value.count('>') > int(ends):
            self.raise_error('unbalanced_brackets', value, context)
        if starts:
            value = value[1:-1]
        return value

    def validate(self, emailaddress, context):
        if self._plain_checks and \
                _PLAIN_ADDRESS.match(emailaddress) is not None:
            return      # (every check below would pass)
        if emailaddress == '':
            if not self._allow_null_path:
                self.raise_error('null_path_not_allowed', emailaddress, context)
            return
        if self._allow_postmaster and emailaddress.lower() == 'postmaster':
            return
        parts = emailaddress.split('@')
        if len(parts) == 2 and _ADDRESS_LITERAL.match(parts[1]) and parts[0]:
            self._validate_localpart(parts[0], emailaddress, context)
            return
        # pycerberus' EmailAddressValidator.validate, with the domain checks
        # of _validate_domain_name
        if len(parts) != 2:
            self.raise_error('single_at', emailaddress, context)
        localpart, domain = parts
        self._validate_domain_name(domain, context)
        self._validate_localpart(localpart, emailaddress, context)
        self._validate_domain(domain, emailaddress, context)

    def _validate_domain_name(self, domain, context):
        """pycerberus' DomainNameValidator.validate, the same errors with
        the same texts, but for an 8-bit domain too: pycerberus puts
        ``str(domain)`` into its error, which on Python 2 raises
        UnicodeEncodeError for a non-ASCII domain (the client got no reply).
        The invalid character is named as Python 3 names it (a whole UTF-8
        character), so the 501 reads the same on both."""
        super(DomainNameValidator, self).validate(domain, context)
        if domain.startswith('.'):
            self.raise_error('leading_dot', domain, context, domain=domain)
        if domain.endswith('.'):
            self.raise_error('trailing_dot', domain, context, domain=domain)
        if '..' in domain:
            self.raise_error('double_dot', domain, context, domain=domain)
        invalid = _INVALID_UTF8_DOMAIN_CHARACTER \
            if context and context.get('smtputf8') else \
            _INVALID_DOMAIN_CHARACTER
        match = invalid.search(domain)
        if match is not None:
            self.raise_error(
                'invalid_domain_character', domain, context,
                invalid_character=validation_character_at(domain,
                                                          match.start()),
                domain=domain)

    def _validate_localpart(self, localpart, emailaddress, context):
        if not localpart:
            self.raise_error('single_at', emailaddress, context)
        match = _INVALID_LOCALPART_CHARACTER.search(localpart)
        if match is not None:
            self.raise_error('invalid_email_character', localpart, context,
                             invalid_character=match.group(1),
                             emailaddress=emailaddress)


class HeloSchema(SMTPCommandArgumentsSchema):
    """HELO/EHLO: exactly one token, the client's domain or address
    literal."""

    helo = StringValidator(strip=True, messages={
        'empty': 'Missing argument: the domain or address literal of the client'})
    parameter_order = ('helo',)


class _SizeValidator(IntegerValidator):
    """SIZE: missing is fine, but ``SIZE=`` (an empty value) is not a
    number, and neither is anything but digits (RFC 1870: ``1*20DIGIT``;
    ``int()`` alone would take ``+5``). A minus sign passes on to the
    "Must be 1 or greater" error."""

    def is_empty(self, value, context):
        return value is None

    def convert(self, value, context):
        if _DIGITS.match(value) is None:
            self.raise_error('invalid_number', value, context)
        return super(_SizeValidator, self).convert(value, context)


class _ParametersMixin(object):
    """An address, then ESMTP parameters ``KEY=VALUE`` (ESMTP only; keys
    case-insensitive), each a field of the schema."""

    def messages(self):
        return {
            'invalid_arguments': 'Invalid arguments: "%(arguments)s"',
            'no_extensions': 'No SMTP extensions allowed for plain SMTP.',
            'invalid_extension': 'Invalid extension: "%(arguments)s"',
        }

    def split_parameters(self, value, context):
        value = value.strip()
        return _WHITESPACE.split(value) if value else []

    def aggregate_values(self, parameter_names, arguments, context):
        if len(arguments) <= 1:
            return parameter_names, arguments
        extensions = arguments[1:]
        all_extensions = ' '.join(extensions)
        known = self.fieldvalidators()
        if [token for token in extensions if '=' not in token and
                not getattr(known.get(token.lower()), 'is_keyword', False)]:
            self.raise_error('invalid_arguments', all_extensions, context,
                             arguments=all_extensions)
        if not (context or {}).get('esmtp', False):
            self.raise_error('no_extensions', all_extensions, context)
        names, values = list(parameter_names), [arguments[0]]
        for token in extensions:
            if '=' in token:
                key, extension_value = token.split('=', 1)
            else:
                # (a keyword without a value: SMTPUTF8)
                key, extension_value = token, token
            name = key.lower()
            if name not in known or name in parameter_names:
                self.raise_error('invalid_extension', all_extensions, context,
                                 arguments=all_extensions)
            names.append(name)
            values.append(extension_value)
        return names, values


class MailFromSchema(_ParametersMixin, SMTPCommandArgumentsSchema):
    """MAIL FROM: an address (``<>`` allowed), then ESMTP extensions
    ``KEY=VALUE`` (ESMTP only; keys case-insensitive). ``SIZE`` is known;
    register more with ``add(name, validator)``."""

    email = SMTPEmailValidator(allow_null_path=True)
    size = _SizeValidator(min=1, required=False, messages={
        'invalid_number': 'Invalid size: Please enter a number.',
        'too_low': 'Invalid size: Must be %(min)d or greater.',
    })
    parameter_order = ('email',)


class _OptionalParameter(Validator):
    """An optional ESMTP parameter of MAIL FROM or RCPT TO: missing is
    None; a bad value raises (pycerberus' 501 text)."""

    exception_if_invalid = True

    def __init__(self, **kwargs):
        kwargs.setdefault('required', False)
        super(_OptionalParameter, self).__init__(**kwargs)


class _ChoiceValidator(_OptionalParameter):
    """One of ``choices`` (any case), returned upper case: ``BODY=``
    (8BITMIME, RFC 6152), ``RET=`` (DSN)."""

    def __init__(self, name, choices, **kwargs):
        self._name = name
        self._choices = choices
        super(_ChoiceValidator, self).__init__(**kwargs)

    def messages(self):
        return {'invalid_choice': 'Invalid %(name)s: "%(given)s" (%(choices)s)'}

    def convert(self, value, context):
        choice = value.upper()
        if choice not in self._choices:
            self.raise_error('invalid_choice', value, context, name=self._name,
                             choices=' or '.join(self._choices), given=value)
        return choice


_XTEXT = re.compile(r'^(?:[!-*,-<>-~]|\+[0-9A-F]{2})+$')


class _XtextValidator(_OptionalParameter):
    """An xtext (RFC 3461 section 4: printable ASCII, ``+`` and ``=`` as
    ``+XX``) of at most ``max_length`` characters, returned as sent;
    optional. ``prefix``: ORCPT's ``<address type>;``."""

    def __init__(self, name, max_length, prefix=False, **kwargs):
        self._name = name
        self._max_length = max_length
        self._prefix = prefix
        super(_XtextValidator, self).__init__(**kwargs)

    def messages(self):
        return {'invalid_xtext': 'Invalid %(name)s: "%(given)s"'}

    def convert(self, value, context):
        text = value
        if self._prefix:
            address_type, _, text = value.partition(';')
            if not address_type or not _:
                self.raise_error('invalid_xtext', value, context,
                                 name=self._name, given=value)
        if len(value) > self._max_length or _XTEXT.match(text) is None:
            self.raise_error('invalid_xtext', value, context, name=self._name,
                             given=value)
        return value


class _NotifyValidator(_OptionalParameter):
    """NOTIFY (RFC 3461): ``NEVER``, or one or more of ``SUCCESS``,
    ``FAILURE``, ``DELAY`` separated by commas (any case); returned as a
    tuple, upper case."""

    def messages(self):
        return {'invalid_notify': 'Invalid NOTIFY: "%(given)s"'}

    def convert(self, value, context):
        words = tuple(value.upper().split(','))
        if words != ('NEVER',) and (
                not words or len(set(words)) != len(words) or
                set(words) - set(['SUCCESS', 'FAILURE', 'DELAY'])):
            self.raise_error('invalid_notify', value, context, given=value)
        return words


class _KeywordValidator(_OptionalParameter):
    """A parameter that is a keyword without a value (``SMTPUTF8``): True
    when given, else None."""

    is_keyword = True

    def convert(self, value, context):
        return True


def mail_from_schema(extensions):
    """A ``MailFromSchema`` that knows the MAIL FROM parameters of
    ``extensions`` (names of SMTP extensions that are on): ``BODY`` with
    ``8BITMIME``, ``RET`` and ``ENVID`` with ``DSN``, the keyword
    ``SMTPUTF8`` with ``SMTPUTF8``."""
    schema = MailFromSchema()
    if '8BITMIME' in extensions:
        schema.add('body', _ChoiceValidator('BODY', ('7BIT', '8BITMIME')))
    if 'SMTPUTF8' in extensions:
        schema.add('smtputf8', _KeywordValidator())
    if 'DSN' in extensions:
        schema.add('ret', _ChoiceValidator('RET', ('FULL', 'HDRS')))
        schema.add('envid', _XtextValidator('ENVID', 100))
    return schema


def rcpt_to_schema(extensions):
    """The RCPT TO schema where ``extensions`` are on: with ``DSN`` it
    takes ``NOTIFY`` and ``ORCPT`` (ESMTP only)."""
    if 'DSN' not in extensions:
        return RcptToSchema()
    schema = _RcptToWithParametersSchema()
    schema.add('notify', _NotifyValidator())
    schema.add('orcpt', _XtextValidator('ORCPT', 500, prefix=True))
    return schema


class _ChunkSizeValidator(IntegerValidator):
    """The size of a BDAT chunk: digits only (RFC 3030: ``1*DIGIT``),
    0 allowed."""

    exception_if_invalid = True

    def convert(self, value, context):
        if _CHUNK_SIZE.match(value) is None:
            self.raise_error('invalid_number', value, context)
        return super(_ChunkSizeValidator, self).convert(value, context)


class _LastValidator(_OptionalParameter):
    """The ``LAST`` of the last BDAT chunk (any case): True; none:
    False."""

    def messages(self):
        return {'not_last': 'Invalid argument: "%(argument)s" (LAST or '
                            'nothing)'}

    def empty_value(self, context):
        return False

    def convert(self, value, context):
        if value.upper() != 'LAST':
            self.raise_error('not_last', value, context, argument=value)
        return True


class BdatSchema(SMTPCommandArgumentsSchema):
    """BDAT (CHUNKING, RFC 3030): ``<size> [LAST]``; returns ``size``
    (octets) and ``last``."""

    size = _ChunkSizeValidator(min=0, messages={
        'empty': 'Missing argument: the size of the chunk',
        'invalid_number': 'Invalid chunk size: Please enter a number.'})
    last = _LastValidator()
    parameter_order = ('size', 'last')


def chunk_size_of(argument):
    """The chunk size a BDAT argument starts with (even where the rest is
    wrong), or None: the octets that follow are the chunk's, whatever the
    reply."""
    parts = (argument or '').split()
    # (as the schema reads it: str.isdigit() also takes '²', which int()
    # refuses)
    if parts and _CHUNK_SIZE.match(parts[0]) is not None:
        return int(parts[0])
    return None


class RcptToSchema(SMTPCommandArgumentsSchema):
    """RCPT TO: exactly one address (``<postmaster>`` needs no domain)."""

    email = SMTPEmailValidator(allow_postmaster=True)
    parameter_order = ('email',)


class _RcptToWithParametersSchema(_ParametersMixin,
                                  SMTPCommandArgumentsSchema):
    """RCPT TO with ``KEY=VALUE`` parameters after the address (DSN), read
    as MAIL FROM's are."""

    email = SMTPEmailValidator(allow_postmaster=True)
    parameter_order = ('email',)


class Base64TextValidator(Validator):
    """A base64 token, returned decoded (a native string)."""

    exception_if_invalid = True

    def messages(self):
        return {'invalid_base64': GARBLED, 'empty': GARBLED}

    def convert(self, value, context):
        try:
            return b64decode(value.strip())
        except ValueError:
            self.raise_error('invalid_base64', value, context)

    def is_empty(self, value, context):
        return value in (None, '')


class _AuthPlainCredentialsValidator(Base64TextValidator):
    def convert(self, value, context):
        decoded = super(_AuthPlainCredentialsValidator, self).convert(
            value, context)
        parts = decoded.split('\0')
        if len(parts) != 3 or not parts[1]:
            self.raise_error('invalid_base64', value, context)
        return parts


class _GarbledOnExtraArguments(SMTPCommandArgumentsSchema):
    def messages(self):
        return {'additional_item': GARBLED}


class AuthPlainSchema(_GarbledOnExtraArguments):
    """AUTH PLAIN: one base64 argument, ``[authzid]\\0username\\0password``.
    Returns ``authzid`` (None if empty), ``username`` and ``password``."""

    credentials = _AuthPlainCredentialsValidator()
    parameter_order = ('credentials',)

    def process(self, value, context=None):
        result = super(AuthPlainSchema, self).process(value, context=context)
        authzid, username, password = result.pop('credentials')
        result.update(authzid=authzid or None, username=username,
                      password=password)
        return result


class AuthLoginSchema(_GarbledOnExtraArguments):
    """AUTH LOGIN: an optional base64 user name (the initial response),
    returned decoded as ``username`` (None without it)."""

    username = Base64TextValidator(required=False)
    parameter_order = ('username',)


_HEX_DIGEST = re.compile(r'^[0-9a-fA-F]{32}$')


class _CramMd5ResponseValidator(Base64TextValidator):
    def convert(self, value, context):
        decoded = super(_CramMd5ResponseValidator, self).convert(
            value, context)
        # (the user name may hold blanks: the digest follows the last one)
        username, _, digest = decoded.rpartition(' ')
        if not username or _HEX_DIGEST.match(digest) is None:
            self.raise_error('invalid_base64', value, context)
        return username, digest.lower()


class CramMd5ResponseSchema(_GarbledOnExtraArguments):
    """The client's answer in AUTH CRAM-MD5 (RFC 2195): the base64 of
    ``username SP digest``, the digest 32 hex digits. Returns ``username``
    and ``digest`` (lowercase)."""

    response = _CramMd5ResponseValidator()
    parameter_order = ('response',)

    def process(self, value, context=None):
        result = super(CramMd5ResponseSchema, self).process(value,
                                                            context=context)
        username, digest = result.pop('response')
        result.update(username=username, digest=digest)
        return result
