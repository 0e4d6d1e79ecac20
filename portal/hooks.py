"""Hooks: how a lower layer lets a higher one act without importing it (docs/architecture.md).

Dependencies point one way (portal → contractors → documents → reporting), yet some writes of a
lower layer must be followed by a higher one's work in the same transaction: an inspection
submitted is drafted into documents, a hazard's change is noted for the statistics. The lower
layer declares a `Hook` and fires it; the higher app registers its handler in its
`AppConfig.ready()`. Firing with no handler registered does nothing, so each layer's tests can
run it alone; `tests/test_layers.py` checks that every hook has its handlers in the portal.
"""


class Hook:
    def __init__(self, name, doc):
        self.name = name
        self.__doc__ = doc
        self._handlers = []

    def register(self, handler):
        """Add `handler` (called with the hook's keyword arguments); registering the same
        handler twice keeps one, as `ready()` may run more than once in tests."""
        if handler not in self._handlers:
            self._handlers.append(handler)

    @property
    def handlers(self):
        return tuple(self._handlers)

    def fire(self, **kwargs):
        """Call every handler in the order they were registered, in the caller's transaction:
        a handler that raises undoes the caller's write too. Returns their results."""
        return [handler(**kwargs) for handler in self._handlers]

    def __repr__(self):
        return f"<Hook {self.name}: {len(self._handlers)} handler(s)>"
