# -*- coding: utf-8 -*-
"""``self.super()``: call the parent's version of the current method (the
helper of pymta 0.5 test suites).

A class gets it with the class attribute ``super = SuperProxy()``. Inside a
method, ``self.super()`` calls the same method of the next class in the MRO
with the arguments the current method received; ``self.super(x, y=1)``
passes those instead; ``self.super.other_name(...)`` calls another method of
the parent.

The proxy finds "the current method" by looking at its caller's frame: the
class whose attribute has the caller's code object is the class the call
starts above, so two levels of ``self.super()`` in one hierarchy each reach
their own parent.
"""

from __future__ import absolute_import

import sys


__all__ = ['SuperProxy']

# code flags (the same on every Python): the function takes *args, **kwargs
_CO_VARARGS = 0x04
_CO_VARKEYWORDS = 0x08


class SuperProxy(object):
    """A descriptor: ``instance.super`` is a callable bound to that
    instance (see the module docstring)."""

    def __get__(self, instance, owner):
        if instance is None:
            return self
        return _BoundSuper(instance)


class _BoundSuper(object):
    __slots__ = ('_instance',)

    def __init__(self, instance):
        self._instance = instance

    def __call__(self, *args, **kwargs):
        frame = sys._getframe(1)
        try:
            name = frame.f_code.co_name
            parent = _parent_of_caller(self._instance, frame)
            if not args and not kwargs:
                args, kwargs = _arguments_of(frame)
        finally:
            del frame   # (no reference cycle through the frame)
        return getattr(parent, name)(*args, **kwargs)

    def __getattr__(self, name):
        frame = sys._getframe(1)
        try:
            return getattr(_parent_of_caller(self._instance, frame), name)
        finally:
            del frame


def _parent_of_caller(instance, frame):
    """``super(C, instance)`` for the class C that defines the method
    running in ``frame``."""
    code = frame.f_code
    for cls in type(instance).__mro__:
        attribute = cls.__dict__.get(code.co_name)
        if attribute is not None and code in _codes_of(attribute):
            return super(cls, instance)
    raise TypeError('self.super is used outside a method of %s: %s' % (
        type(instance).__name__, code.co_name))


def _codes_of(attribute):
    """The code objects of a class attribute: of its function, of a
    static or class method's function, and of the functions a decorator
    wrapped (``__wrapped__``)."""
    codes = []
    function = getattr(attribute, '__func__', attribute)
    seen = 0
    while function is not None and seen < 20:
        code = getattr(function, '__code__', None)
        if code is not None:
            codes.append(code)
        function = getattr(function, '__wrapped__', None)
        seen += 1
    return codes


def _arguments_of(frame):
    """``(args, kwargs)``: the arguments of the method running in ``frame``
    as they are now, without ``self``."""
    code = frame.f_code
    values = frame.f_locals
    names = code.co_varnames
    positional_count = code.co_argcount
    keyword_only_count = getattr(code, 'co_kwonlyargcount', 0)
    args = [values[name] for name in names[1:positional_count]]
    kwargs = dict((name, values[name]) for name in
                  names[positional_count:positional_count + keyword_only_count])
    index = positional_count + keyword_only_count
    if code.co_flags & _CO_VARARGS:
        args.extend(values[names[index]])
        index += 1
    if code.co_flags & _CO_VARKEYWORDS:
        kwargs.update(values[names[index]])
    return tuple(args), kwargs
