# -*- coding: utf-8 -*-
"""SPEC section 4a: the pycerberus schemas of pymta.validation."""
from __future__ import absolute_import, print_function

import random
import unittest

from pycerberus.api import BaseValidator, Validator
from pycerberus.errors import InvalidDataError
from pycerberus.schemas import PositionalArgumentsParsingSchema
from pycerberus.validators import StringValidator

from pymta.compat import text_for_validation
from pymta.validation import (AuthLoginSchema, AuthPlainSchema, BdatSchema, HeloSchema,
    MailFromSchema, RcptToSchema, SMTPCommandArgumentsSchema, SMTPEmailValidator)
from .core_support import b64


# pycerberus stores its results in the context dict: use a fresh one per call
def esmtp():
    return {'esmtp': True}


def plain_smtp():
    return {'esmtp': False}


class ValidationTestCase(unittest.TestCase):
    def assert_invalid(self, schema, value, expected_message=None, context=None):
        try:
            if context is None:
                result = schema.process(value)
            else:
                result = schema.process(value, context=context)
        except InvalidDataError as e:
            if expected_message is not None:
                self.assertEqual(expected_message, e.msg())
            return e
        self.fail('%r accepted %r: %r' % (schema, value, result))


class SchemaTypesTest(ValidationTestCase):
    def test_schemas_are_positional_arguments_parsing_schemas(self):
        for schema_class in (SMTPCommandArgumentsSchema, HeloSchema, MailFromSchema,
                             RcptToSchema, AuthPlainSchema, AuthLoginSchema):
            self.assertTrue(issubclass(schema_class, PositionalArgumentsParsingSchema),
                            schema_class)

    def test_schema_api_methods_work(self):
        schema = HeloSchema()
        schema.set_internal_state_freeze(False)
        schema.set_internal_state_freeze(True)
        self.assertEqual({'helo': 'foo'}, schema.process('foo', context=esmtp()))


class TwoArgumentsSchema(SMTPCommandArgumentsSchema):
    """A legacy-style subclass that declares its parameters at run time."""

    def __init__(self, *args, **kwargs):
        super(TwoArgumentsSchema, self).__init__(*args, **kwargs)
        self.set_internal_state_freeze(False)
        self.add('first', StringValidator())
        self.add('second', StringValidator(required=False))
        self.set_parameter_order(('first', 'second'))
        self.set_internal_state_freeze(True)


class SchemaSubclassTest(ValidationTestCase):
    def test_add_and_set_parameter_order(self):
        self.assertEqual({'first': 'a', 'second': 'b'},
                         TwoArgumentsSchema().process('a b', context=esmtp()))
        self.assertEqual({'first': 'a', 'second': None},
                         TwoArgumentsSchema().process('a', context=esmtp()))

    def test_arguments_separated_by_any_whitespace(self):
        self.assertEqual({'first': 'a', 'second': 'b'},
                         TwoArgumentsSchema().process(' a \t b ', context=esmtp()))
        self.assertEqual(5, MailFromSchema().process('<foo@example.com>\tSIZE=5',
                                                     context=esmtp())['size'])

    def test_additional_arguments(self):
        self.assert_invalid(TwoArgumentsSchema(), 'a b c',
                            "Syntactically invalid argument(s) 'c'", context=esmtp())


class NoArgumentsSchemaTest(ValidationTestCase):
    def test_empty_string_gives_empty_dict(self):
        self.assertEqual({}, SMTPCommandArgumentsSchema().process(''))

    def test_empty_string_with_context(self):
        self.assertEqual({}, SMTPCommandArgumentsSchema().process('', context=esmtp()))

    def test_argument_is_rejected(self):
        self.assert_invalid(SMTPCommandArgumentsSchema(), 'foo',
                            "Syntactically invalid argument(s) 'foo'", context=esmtp())

    def test_several_arguments_are_rejected(self):
        self.assert_invalid(SMTPCommandArgumentsSchema(), 'foo bar',
                            "Syntactically invalid argument(s) 'foo bar'", context=esmtp())


class HeloSchemaTest(ValidationTestCase):
    def test_hostname(self):
        self.assertEqual({'helo': 'mail.example.com'},
                         HeloSchema().process('mail.example.com', context=plain_smtp()))

    def test_ip_literal(self):
        self.assertEqual({'helo': '[127.0.0.1]'},
                         HeloSchema().process('[127.0.0.1]', context=plain_smtp()))

    def test_empty_is_invalid(self):
        self.assert_invalid(HeloSchema(), '', context=plain_smtp())

    def test_two_tokens_are_invalid(self):
        self.assert_invalid(HeloSchema(), 'foo bar', context=plain_smtp())

    def test_schema_reusable_after_error(self):
        schema = HeloSchema()
        self.assert_invalid(schema, 'foo bar', context=esmtp())
        self.assertEqual({'helo': 'foo'}, schema.process('foo', context=esmtp()))


class EmailValidatorTest(ValidationTestCase):
    def test_address_in_brackets(self):
        self.assertEqual('a@example.com', SMTPEmailValidator().process('<a@example.com>'))

    def test_bare_address(self):
        self.assertEqual('a@example.com', SMTPEmailValidator().process('a@example.com'))

    def test_double_at_is_invalid(self):
        self.assert_invalid(SMTPEmailValidator(), 'foo@@example.com')

    def test_double_dot_in_domain_is_invalid(self):
        self.assert_invalid(SMTPEmailValidator(), 'foo@example..com')

    def test_unbalanced_brackets_are_invalid(self):
        self.assert_invalid(SMTPEmailValidator(), '<foo@example.com')
        self.assert_invalid(SMTPEmailValidator(), 'foo@example.com>')


class MailFromSchemaTest(ValidationTestCase):
    def process(self, value, esmtp=True):
        return MailFromSchema().process(value, context={'esmtp': esmtp})

    def test_address_in_brackets(self):
        self.assertEqual('foo@example.com', self.process('<foo@example.com>', False)['email'])

    def test_bare_address(self):
        self.assertEqual('foo@example.com', self.process('foo@example.com', False)['email'])

    def test_null_reverse_path(self):
        self.assertEqual('', self.process('<>', False)['email'])
        self.assertEqual('', self.process('<>', True)['email'])

    def test_unbalanced_brackets(self):
        message = 'Invalid email address format - use balanced angle brackets.'
        self.assert_invalid(MailFromSchema(), '<foo@example.com', message, context=esmtp())
        self.assert_invalid(MailFromSchema(), 'foo@example.com>', message, context=plain_smtp())

    def test_invalid_addresses(self):
        self.assert_invalid(MailFromSchema(), 'foo@@example.com', context=esmtp())
        self.assert_invalid(MailFromSchema(), '<foo@example..com>', context=esmtp())

    def test_size_extension(self):
        result = self.process('<foo@example.com> SIZE=100')
        self.assertEqual('foo@example.com', result['email'])
        self.assertEqual(100, result['size'])
        self.assertTrue(isinstance(result['size'], int))

    def test_extension_keys_are_case_insensitive(self):
        self.assertEqual(42, self.process('<foo@example.com> size=42')['size'])
        self.assertEqual(42, self.process('foo@example.com Size=42')['size'])

    def test_no_extensions_in_plain_smtp(self):
        self.assert_invalid(MailFromSchema(), '<foo@example.com> SIZE=100',
                            'No SMTP extensions allowed for plain SMTP.', context=plain_smtp())

    def test_size_must_be_positive(self):
        message = 'Invalid size: Must be 1 or greater.'
        self.assert_invalid(MailFromSchema(), '<foo@example.com> SIZE=0', message, context=esmtp())
        self.assert_invalid(MailFromSchema(), '<foo@example.com> SIZE=-1', message, context=esmtp())

    def test_size_must_be_an_integer(self):
        self.assert_invalid(MailFromSchema(), '<foo@example.com> SIZE=fnord', context=esmtp())

    def test_size_is_digits_only(self):
        # RFC 1870: size-value ::= 1*20DIGIT (int() alone would take these)
        for size in ('+5', '5_000', u'\u0663', '1.0', '0x10'):
            self.assert_invalid(MailFromSchema(), '<foo@example.com> SIZE=' + size,
                                'Invalid size: Please enter a number.', context=esmtp())

    def test_size_must_not_be_empty(self):
        self.assert_invalid(MailFromSchema(), '<foo@example.com> SIZE=',
                            'Invalid size: Please enter a number.', context=esmtp())

    def test_without_size_it_is_none(self):
        self.assertEqual({'email': 'foo@example.com', 'size': None},
                         self.process('<foo@example.com>'))
        self.assertEqual({'email': 'foo@example.com', 'size': None},
                         self.process('<foo@example.com>', False))

    def test_unknown_extension(self):
        self.assert_invalid(MailFromSchema(), '<foo@example.com> FNORD=INVALID',
                            'Invalid extension: "FNORD=INVALID"', context=esmtp())

    def test_unknown_extension_message_lists_all_extension_arguments(self):
        self.assert_invalid(MailFromSchema(), '<foo@example.com> SIZE=100 FNORD=INVALID',
                            'Invalid extension: "SIZE=100 FNORD=INVALID"', context=esmtp())
        self.assert_invalid(MailFromSchema(), '<foo@example.com> FOO=1 BAR=2',
                            'Invalid extension: "FOO=1 BAR=2"', context=esmtp())

    def test_argument_without_equals_sign(self):
        self.assert_invalid(MailFromSchema(), '<foo@example.com> fnord',
                            'Invalid arguments: "fnord"', context=esmtp())

    def test_invalid_arguments_message_lists_all_arguments_after_address(self):
        self.assert_invalid(MailFromSchema(), '<foo@example.com> SIZE=10 fnord bar',
                            'Invalid arguments: "SIZE=10 fnord bar"', context=esmtp())

    def test_add_validator_for_further_extension(self):
        schema = MailFromSchema()
        schema.set_internal_state_freeze(False)
        schema.add('body', StringValidator())
        schema.set_internal_state_freeze(True)
        result = schema.process('<foo@example.com> BODY=8BITMIME', context=esmtp())
        self.assertEqual('foo@example.com', result['email'])
        self.assertEqual('8BITMIME', result['body'])
        result = schema.process('<foo@example.com> SIZE=10 body=7BIT', context=esmtp())
        self.assertEqual(10, result['size'])
        self.assertEqual('7BIT', result['body'])

    def test_added_extension_is_unknown_without_add(self):
        schema = MailFromSchema()
        schema.set_internal_state_freeze(False)
        schema.add('body', StringValidator())
        schema.set_internal_state_freeze(True)
        self.assert_invalid(MailFromSchema(), '<foo@example.com> BODY=8BITMIME',
                            'Invalid extension: "BODY=8BITMIME"', context=esmtp())


class RcptToSchemaTest(ValidationTestCase):
    def test_address_in_brackets(self):
        self.assertEqual({'email': 'foo@example.com'},
                         RcptToSchema().process('<foo@example.com>', context=esmtp()))

    def test_bare_address(self):
        self.assertEqual({'email': 'foo@example.com'},
                         RcptToSchema().process('foo@example.com', context=plain_smtp()))

    def test_postmaster_without_domain(self):
        self.assertEqual({'email': 'postmaster'},
                         RcptToSchema().process('<postmaster>', context=esmtp()))

    def test_postmaster_any_case(self):
        result = RcptToSchema().process('<PostMaster>', context=plain_smtp())
        self.assertEqual('postmaster', result['email'].lower())

    def test_other_local_part_without_domain_is_invalid(self):
        self.assert_invalid(RcptToSchema(), '<foo>', context=esmtp())

    def test_two_addresses_are_invalid(self):
        self.assert_invalid(RcptToSchema(), 'foo@example.com bar@example.com', context=esmtp())

    def test_invalid_addresses(self):
        self.assert_invalid(RcptToSchema(), 'foo@@example.com', context=esmtp())
        self.assert_invalid(RcptToSchema(), '<foo@example..com>', context=esmtp())
        self.assert_invalid(RcptToSchema(), '<foo@example.com', context=esmtp())
        self.assert_invalid(RcptToSchema(), '', context=esmtp())


class AuthPlainSchemaTest(ValidationTestCase):
    def process(self, value):
        return AuthPlainSchema().process(value, context=esmtp())

    def test_without_authzid(self):
        self.assertEqual({'authzid': None, 'username': 'foo', 'password': 'bar'},
                         self.process(b64('\0foo\0bar')))

    def test_with_authzid(self):
        self.assertEqual({'authzid': 'admin', 'username': 'foo', 'password': 'bar'},
                         self.process(b64('admin\0foo\0bar')))

    def test_password_not_stripped(self):
        result = self.process(b64('\0foo\0 secret with spaces  '))
        self.assertEqual(' secret with spaces  ', result['password'])
        self.assertEqual('foo', result['username'])

    def test_garbled_data(self):
        for value in ('', b64('foo'), b64('foo\0bar'), 'a', b64('\0foo\0bar') + ' ' + b64('x')):
            self.assert_invalid(AuthPlainSchema(), value, 'Garbled data sent', context=esmtp())


class AuthLoginSchemaTest(ValidationTestCase):
    def test_username(self):
        self.assertEqual({'username': 'foo'},
                         AuthLoginSchema().process(b64('foo'), context=esmtp()))

    def test_bad_base64(self):
        self.assert_invalid(AuthLoginSchema(), 'a', 'Garbled data sent', context=esmtp())

    def test_without_initial_response(self):
        self.assertEqual({'username': None}, AuthLoginSchema().process('', context=esmtp()))

    def test_two_arguments_are_garbled(self):
        self.assert_invalid(AuthLoginSchema(), b64('foo') + ' ' + b64('bar'),
                            'Garbled data sent', context=esmtp())


if __name__ == '__main__':
    unittest.main()


class FastPathAgreesWithSchemaProcessTest(ValidationTestCase):
    """``process`` takes a shortcut for arguments that validate (the field
    validators alone, without pycerberus' result containers,
    ``_process_valid_fields``) and falls back to pycerberus' full
    ``Schema.process`` (``_process_with_schema``) for everything else; where
    the shortcut answers, it must answer what the full path answers."""

    valid = {
        SMTPCommandArgumentsSchema: ['', '  '],
        HeloSchema: ['foo', ' foo ', '[127.0.0.1]', u'f\xe9e'],
        MailFromSchema: ['<a@example.com>', 'a@example.com', '<>',
                         '<a@example.com> SIZE=10', '<a@example.com> size=10',
                         '<a@example.com> SIZE=1 SIZE=2'],
        RcptToSchema: ['<a@example.com>', '<postmaster>', 'postmaster',
                       '<a@[127.0.0.1]>'],
        AuthPlainSchema: [b64('\0user\0pass'), b64('id\0user\0 pass ')],
        AuthLoginSchema: ['', b64('user')],
        BdatSchema: ['10', ' 10 ', '10 LAST', '0 last'],
    }
    invalid = {
        SMTPCommandArgumentsSchema: ['x', 'x y'],
        HeloSchema: ['', 'a b'],
        MailFromSchema: ['', '<a@example.com> SIZE=0', '<a@example.com> SIZE=x',
                         '<a@example.com> FNORD=1', '<a@example.com> junk',
                         '<a@example.com', 'foo@@example.com'],
        RcptToSchema: ['', '<a@b.com> <c@d.com>', 'foo@example..com'],
        AuthPlainSchema: [b64('user'), '!!!', '', b64('\0u\0p') + ' x'],
        AuthLoginSchema: ['!!!', b64('a') + ' ' + b64('b')],
        BdatSchema: ['', 'x', '-1', '10 FIRST', '10 LAST x'],
    }

    def test_shortcut_gives_what_the_full_schema_gives(self):
        compared = 0
        for schema_class, values in self.valid.items():
            schema = schema_class()
            for value in values:
                value = text_for_validation(value)
                for context in (esmtp(), plain_smtp(), None):
                    if schema_class is MailFromSchema and '=' in value and \
                            context != esmtp():
                        continue    # extensions are errors in plain SMTP
                    fast = schema._process_valid_fields(value, context)
                    self.assertNotEqual(None, fast, (schema_class, value))
                    full = schema._process_with_schema(value, context)
                    self.assertEqual(full, fast, (schema_class, value))
                    compared += 1
        self.assertTrue(compared > 40, compared)

    def test_invalid_arguments_take_the_full_path(self):
        for schema_class, values in self.invalid.items():
            schema = schema_class()
            for value in values:
                value = text_for_validation(value)
                self.assertEqual(None, schema._process_valid_fields(
                    value, esmtp()), (schema_class, value))
                self.assertRaises(InvalidDataError, schema._process_with_schema,
                                  value, esmtp())

    def test_an_argument_beyond_the_parameters_takes_the_full_path(self):
        # (more fields than positional parameters: the extra argument is
        # no field, whatever the number of fields)
        class OneParameterTwoFields(SMTPCommandArgumentsSchema):
            first = StringValidator(required=False)
            second = StringValidator(required=False)
            parameter_order = ('first',)
        schema = OneParameterTwoFields()
        self.assertEqual(None, schema._process_valid_fields('x y', esmtp()))
        self.assert_invalid(schema, 'x y',
                            "Syntactically invalid argument(s) 'y'",
                            context=esmtp())
        self.assertEqual({'first': 'x', 'second': None},
                         schema.process('x', context=esmtp()))

    def test_a_schema_that_splits_otherwise_maps_its_own_way(self):
        class CommaSeparated(HeloSchema):
            def split_parameters(self, value, context):
                return value.split(',')

        class Swapped(RcptToSchema):
            def _map_arguments_to_named_fields(self, value, context):
                return {'email': value.strip()[::-1]}
        for schema, value, expected in (
                (CommaSeparated(), 'foo,bar', None),
                (CommaSeparated(), 'foo', {'helo': 'foo'}),
                (Swapped(), '>moc.elpmaxe@a<', {'email': 'a@example.com'})):
            self.assertEqual(expected,
                             schema._process_valid_fields(value, esmtp()))

    def test_added_field_validators_run_in_the_shortcut(self):
        schema = MailFromSchema()
        schema.set_internal_state_freeze(False)
        schema.add('body', StringValidator(required=False))
        schema.set_internal_state_freeze(True)
        self.assertEqual({'email': 'a@example.com', 'size': None,
                          'body': '8BITMIME'},
                         schema._process_valid_fields(
                             '<a@example.com> BODY=8BITMIME', esmtp()))
        self.assertEqual({'email': 'a@example.com', 'size': None,
                          'body': '8BITMIME'},
                         schema.process('<a@example.com> BODY=8BITMIME',
                                        context=esmtp()))


class ShortcutsKeepPycerberusResultsTest(ValidationTestCase):
    """The shortcuts around pycerberus give what pycerberus itself gives."""

    def size_validator(self):
        return MailFromSchema().validator_for('size')

    def test_absent_size_gives_what_validator_process_gives(self):
        validator = self.size_validator()
        self.assertEqual(Validator.process(validator, None, {}),
                         validator.process(None, {}))
        self.assertEqual(None, validator.process(None))

    def test_sent_size_is_validated_by_pycerberus(self):
        validator = self.size_validator()
        self.assertEqual(10, validator.process(text_for_validation('10'), {}))
        for value in ('', '0', '+5', 'x'):
            self.assertRaises(InvalidDataError, validator.process,
                              text_for_validation(value), {})

    def test_required_size_still_raises_for_absent_value(self):
        validator = type(self.size_validator())(min=1, required=True)
        self.assertRaises(InvalidDataError, validator.process, None, {})

    def test_callers_context_is_left_alone(self):
        for value in ('<a@example.com> SIZE=10', '<a@example.com> SIZE=x',
                      '<a@example.com> SIZE=0', 'foo@@example.com'):
            context = esmtp()
            MailFromSchema()._process_valid_fields(text_for_validation(value),
                                                   context)
            self.assertEqual(esmtp(), context, value)

    def test_result_is_a_plain_dict(self):
        for value in ('<a@example.com>', '<a@example.com> SIZE=10'):
            result = MailFromSchema().process(value, context=esmtp())
            self.assertEqual(dict, type(result))


class PlainPathsAgreeWithPycerberusTest(ValidationTestCase):
    """The fast path runs a plain field validator's steps itself
    (``_process_plainly``: strip, empty check, convert, validate, without
    pycerberus' result containers), and ``SMTPEmailValidator`` accepts an
    ordinary address with one regular expression (``_PLAIN_ADDRESS``)
    before its checks one by one. Each must give exactly what pycerberus'
    own ``Validator.process`` and the checks one by one give, for any
    input."""

    # the characters that matter to the checks, and some that do not
    ALPHABET = u'ab.-_@<>[]" \t\n:\\\x00\x7f\xe9\u20ac+=/' + u'0123'
    # (what an ordinary address part may meet at its edges)
    EDGES = u'_.-@ \x7f\xe9"<'

    def schemas(self):
        from pymta.validation import mail_from_schema, rcpt_to_schema
        every = frozenset(['8BITMIME', 'SMTPUTF8', 'DSN'])
        return [HeloSchema(), MailFromSchema(), RcptToSchema(),
                mail_from_schema(every), rcpt_to_schema(every),
                AuthPlainSchema(), AuthLoginSchema()]

    def outcome(self, process, *args):
        try:
            return 'ok', process(*args)
        except InvalidDataError as e:
            return 'error', e.msg()

    def check_validators(self, value):
        from pymta.validation import _is_plain, _process_plainly
        checked = 0
        for schema in self.schemas():
            for key, validator in schema.fieldvalidators().items():
                if not _is_plain(validator):
                    continue
                for context in (esmtp(), {'esmtp': True, 'smtputf8': True}):
                    full = self.outcome(validator.process, value, dict(context))
                    plain = self.outcome(_process_plainly, validator, value,
                                         dict(context))
                    if plain[0] == 'error':
                        # (the full path names the error; the plain path
                        # only says there is one)
                        self.assertEqual('error', full[0], (key, value))
                    else:
                        self.assertEqual(full, plain, (key, value))
                    checked += 1
        return checked

    def check_address(self, address):
        class OneByOne(SMTPEmailValidator):
            def _validate_localpart(self, *args):
                return SMTPEmailValidator._validate_localpart(self, *args)
        for options in ({}, {'allow_null_path': True},
                        {'allow_postmaster': True}, {'strip': False}):
            one_by_one = OneByOne(**options)
            self.assertFalse(one_by_one._plain_checks)
            shortcut = SMTPEmailValidator(**options)
            self.assertTrue(shortcut._plain_checks)
            for context in (esmtp(), {'esmtp': True, 'smtputf8': True}):
                self.assertEqual(
                    self.outcome(one_by_one.process, address, dict(context)),
                    self.outcome(shortcut.process, address, dict(context)),
                    repr(address))

    def test_the_validators_that_pymta_declares_are_plain(self):
        from pymta.validation import _is_plain
        plain = set(type(validator).__name__ for schema in self.schemas()
                    for validator in schema.fieldvalidators().values()
                    if _is_plain(validator))
        self.assertTrue(set(['StringValidator', 'SMTPEmailValidator',
                             '_SizeValidator', '_ChoiceValidator',
                             '_XtextValidator', '_NotifyValidator',
                             '_KeywordValidator', 'Base64TextValidator',
                             '_AuthPlainCredentialsValidator']) <= plain,
                        plain)

    def test_validators_that_handle_results_themselves_are_not_plain(self):
        from pymta.validation import _is_plain

        class OwnProcess(StringValidator):
            def process(self, value, context=None):
                return 'mine'

        class OwnResultHandling(StringValidator):
            def handle_validator_result(self, *args, **kwargs):
                return 'mine'

        class BetweenValidatorAndBase(BaseValidator):
            # (Validator.process calls it instead of BaseValidator's)
            def process(self, value, context=None):
                return 'mine'

        class MixinAfterValidator(StringValidator, BetweenValidatorAndBase):
            pass
        self.assertTrue(_is_plain(StringValidator()))
        self.assertFalse(_is_plain(StringValidator(exception_if_invalid=False)))
        self.assertFalse(_is_plain(OwnProcess()))
        self.assertFalse(_is_plain(OwnResultHandling()))
        self.assertFalse(_is_plain(MixinAfterValidator()))
        self.assertEqual('mine', MixinAfterValidator().process('x', {}))

    def test_a_validator_that_is_not_plain_runs_its_own_process(self):
        class Shouting(StringValidator):
            def process(self, value, context=None):
                return value.upper()
        schema = HeloSchema()
        schema.set_internal_state_freeze(False)
        schema.add('helo', Shouting())
        schema.set_internal_state_freeze(True)
        self.assertEqual({'helo': 'FOO'}, schema._process_valid_fields(
            'foo', esmtp()))

    def test_length_limits_and_replaced_checks_turn_the_shortcut_off(self):
        self.assertFalse(SMTPEmailValidator(max_length=10)._plain_checks)
        self.assertFalse(SMTPEmailValidator(min_length=3)._plain_checks)

        class NoExampleCom(SMTPEmailValidator):
            def _validate_domain_name(self, domain, context):
                if domain == 'example.com':
                    self.raise_error('single_at', domain, context)
                SMTPEmailValidator._validate_domain_name(self, domain,
                                                         context)
        self.assertFalse(NoExampleCom()._plain_checks)
        self.assertRaises(InvalidDataError, NoExampleCom().process,
                          'a@example.com', esmtp())
        self.assertRaises(InvalidDataError,
                          SMTPEmailValidator(max_length=10).process,
                          'abcdef@example.com', esmtp())

    def test_addresses_at_the_edges(self):
        for address in (u'a@b.c', u'a@b.c\n', u'a\n@b.c', u'a@b..c',
                        u'a@.b', u'a@b.', u'@b.c', u'a@', u'a@@b',
                        u'"a"@b.c', u'a b@c', u'a@b_c', u'\xe9@b.c',
                        u'a@\xe9.c', u'a@[1.2.3.4]', u'postmaster',
                        u'<a@b.c>', u'', u'a@b-.c', u'a\x7f@b.c',
                        u'a@b.c ', u'a@B-1.c0'):
            self.check_address(text_for_validation(address))
            self.check_validators(text_for_validation(address))
        self.assertTrue(self.check_validators(None) > 10)

    @classmethod
    def random_value(cls, rng):
        """Text of the alphabet, or mostly so an address: a local part,
        '@', labels; each piece mostly ordinary characters."""
        def piece(ordinary):
            return u''.join(rng.choice(ordinary if rng.random() < 0.85 else
                                       cls.EDGES)
                            for _ in range(rng.randint(0, 4)))
        if rng.random() < 0.3:
            return u''.join(rng.choice(cls.ALPHABET)
                            for _ in range(rng.randint(0, 12)))
        labels = [piece(u'ab-1') for _ in range(rng.randint(1, 3))]
        return piece(u'ab.+') + u'@' + u'.'.join(labels) + \
            rng.choice([u'', u'', u'\n', u' ', u'>'])

    def test_seeded_random_values(self):
        rng = random.Random(2026)
        for _ in range(300):
            value = self.random_value(rng)
            self.check_address(text_for_validation(value))
            self.check_validators(text_for_validation(value))

    try:
        from hypothesis import given, settings, strategies
    except ImportError:
        def test_hypothesis_values(self):
            self.skipTest('hypothesis is not installed (the seeded random '
                          'test still runs)')
    else:
        @settings(max_examples=200, deadline=None, database=None)
        @given(strategies.one_of(
            strategies.text(alphabet=ALPHABET, max_size=16),
            strategies.integers(0, 2 ** 32).map(
                lambda seed: PlainPathsAgreeWithPycerberusTest.random_value(
                    random.Random(seed)))))
        def test_hypothesis_values(self, value):
            self.check_address(text_for_validation(value))
            self.check_validators(text_for_validation(value))
        del given, settings, strategies
