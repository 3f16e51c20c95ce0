"""Make building an app cheap for the test suite, which builds one per test (~1,500 apps).

1. URL rules.

Werkzeug compiles two URL-building functions for every rule of every app it binds, with `ast`
and `compile()`: about 0.5 s of the 0.7 s `create_app` takes, paid again for each test's app.
The function it builds depends only on the rule's text, its parsed trace, its defaults and its
converters' types (the rule itself is passed in at call time, as `.self`), so within one
process the same rule always compiles to the same function: it is kept and reused. A
production process builds its app once and gains nothing from this; it stays a test helper.
"""

from __future__ import annotations

import flask
import jinja2
from werkzeug.routing.rules import Rule

_compile_builder = Rule._compile_builder
_builders: dict = {}


def _cached_compile_builder(self, append_unknown: bool = True):
    try:
        key = (
            self.rule,
            tuple(self._trace),
            tuple(sorted((self.defaults or {}).items())),
            tuple(sorted((name, type(conv)) for name, conv in self._converters.items())),
            append_unknown,
        )
        builder = _builders.get(key)
    except TypeError:  # a default that cannot be a key: compile as Werkzeug does
        return _compile_builder(self, append_unknown)
    if builder is None:
        builder = _builders[key] = _compile_builder(self, append_unknown)
    return builder


class _SharedCodeCache(jinja2.BytecodeCache):
    """2. Templates. Every app has its own Jinja environment, which compiled every template it
    rendered from source again: a sixth of a form-fuzzing run. This cache keeps each compiled
    template's code object in memory for the process, keyed as Jinja keys its file cache (the
    template's name and a checksum of its source) and by the environment's compile-time
    settings, which every app of the test suite shares (they are checked all the same)."""

    def __init__(self) -> None:
        self._codes: dict = {}

    @staticmethod
    def _key(bucket) -> tuple:
        env = bucket.environment
        return (
            bucket.key,
            bucket.checksum,
            tuple(sorted(env.extensions)),
            env.trim_blocks,
            env.lstrip_blocks,
            env.optimized,
            getattr(env, "newstyle_gettext", None),
            getattr(env.autoescape, "__qualname__", env.autoescape),
        )

    def load_bytecode(self, bucket) -> None:
        code = self._codes.get(self._key(bucket))
        if code is not None:
            bucket.code = code

    def dump_bytecode(self, bucket) -> None:
        self._codes[self._key(bucket)] = bucket.code


_shared_code = _SharedCodeCache()
_create_jinja_environment = flask.Flask.create_jinja_environment


def _create_jinja_environment_sharing_code(self):
    env = _create_jinja_environment(self)
    env.bytecode_cache = _shared_code
    return env


def install() -> None:
    Rule._compile_builder = _cached_compile_builder
    flask.Flask.create_jinja_environment = _create_jinja_environment_sharing_code
