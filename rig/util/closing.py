"""One way for a resource with a ``close()`` to serve as a context manager."""

from __future__ import annotations

from typing import Self


class Closing:
    """Mixin: ``with resource:`` gives the resource and closes it on the way out, whatever
    happened inside. The class defines ``close()``."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
