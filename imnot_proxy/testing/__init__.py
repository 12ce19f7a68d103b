"""imnot_proxy for test suites: the pytest plugin (``plugin``, registered as the ``imnot``
pytest11 entry point), the per-test session object (``Imnot``) and what it returns (``Call``).
See docs/pytest.md."""

from .calls import Call
from .session import Imnot, ImnotError

__all__ = ["Call", "Imnot", "ImnotError"]
