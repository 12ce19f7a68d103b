"""imnot_proxy: stateful partner API mocks as a mitmproxy addon.

Importing the package must stay cheap and must not import mitmproxy: the CLI,
the loader and the engine are usable without a proxy.
"""

__version__ = "0.1.0"
