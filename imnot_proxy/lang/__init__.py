"""The small languages of a partner file, with no proxy and no store: what a request
holds (``requestdata``), ``when:`` conditions on it (``conditions``), and response
templates (``templates``). Compiled once at load, used per request by the engine."""
