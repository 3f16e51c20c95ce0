"""Make building an app cheap for the test suite, which builds one per test (~1,500 apps).

Werkzeug compiles two URL-building functions for every rule of every app it binds, with `ast`
and `compile()`: about 0.5 s of the 0.7 s `create_app` takes, paid again for each test's app.
The function it builds depends only on the rule's text, its parsed trace, its defaults and its
converters' types (the rule itself is passed in at call time, as `.self`), so within one
process the same rule always compiles to the same function: it is kept and reused. A
production process builds its app once and gains nothing from this; it stays a test helper.
"""

from __future__ import annotations

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


def install() -> None:
    Rule._compile_builder = _cached_compile_builder
