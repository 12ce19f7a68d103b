"""Entry script for ``mitmdump -s`` and ``mitmweb -s``.

It sits alone in its folder because mitmproxy puts the script's folder first
on ``sys.path``; only absolute imports here.
"""

from imnot_proxy.addon import ImnotProxy

addons = [ImnotProxy()]
