"""Recorded exchanges → a partner definition that understands ids, polling, paging and tokens.

Pure: ``infer(exchanges, partner)`` takes ``Exchange`` values (from a HAR file, a
flow file or the recorder) and returns an ``Inference``: datapoints as plain
mappings in YAML key order, the payload of each, a comment per datapoint saying
what it was inferred from, and a summary of every decision and every skipped
flow. Every exchange is redacted first and secret values are scrubbed from
everything produced, so an unredacted input cannot leak into the output.
Writing YAML and files is ``yamlout``'s job.

Order of inference: callback deliveries (a recorded call to a URL the client
handed over) are set aside, path segments that carry ids become parameters,
submit → status → result chains on a generated id become ``polling``, and the
remaining routes become ``oauth``, ``callback``, ``paginated``, ``fetch`` or
``static``, first match wins.

Modules, each importing only those listed before it:

results.py     Inference, InferredDatapoint, Row: what the inference returns
flows.py       one recorded exchange with its path segments and parameters
ids.py         id-shaped segments and values, ``{id}`` templates, parameter names
answers.py     a recorded response as status, kept headers and body
draft.py       the partner being built: claimed flows, names, routes, rows
pagination.py  paging style, cursor and items of a recorded list
polling.py     submit → status → result chains
detectors/     oauth, callback, paginated, fetch, static: one module per pattern
core.py        ``infer()``: the steps above in order, then secret scrubbing
"""

from .core import infer
from .ids import id_kind
from .results import NO_PAYLOAD, Inference, InferredDatapoint, Row, TextPayload, flow_ranges

__all__ = ["NO_PAYLOAD", "Inference", "InferredDatapoint", "Row", "TextPayload", "flow_ranges",
           "id_kind", "infer"]
