"""Replace secrets in what is written to disk: headers, URLs, bodies of any format.

Redaction is applied to a copy on its way to ``recordings/`` and generated
YAML; the live exchange is never altered, since that would break the client's
next call. A value is secret by its name (a header, a JSON, form, query, XML or
multipart field; compared without case, ``_``, ``-``, ``.`` or spaces) or by
its shape (a JWT, a private key, a Bearer credential), wherever it sits:
nested documents, base64, gzip and bodies that parse as nothing are searched
too. Generated YAML gets a second pass: the secret values replaced anywhere in
the input are scrubbed from everything inferred, wherever they were copied to.

Modules, each importing only those listed before it:

names.py      which header and field names are secret; the needles of the pre-check
shapes.py     JWTs, private keys, Bearer/Basic credentials; base64 strings
context.py    one pass: the names, the secrets found, how deep documents nest
text.py       ``key=value``, ``key: value``, ``"key": value`` in text that does not parse
xmlbody.py    XML elements, attributes and text (a tag scanner, checked with ElementTree)
jsonbody.py   JSON fields at any depth
form.py       form bodies and query strings, pair by pair
multipart.py  multipart parts by name, each part as a body of its own
bodies.py     the pre-check; bytes to text (BOM, charset, gzip) and to the right module
redactor.py   ``Redactor`` over one exchange; ``secret_values`` and ``scrub``
"""

from .bodies import may_hold_secrets
from .names import ALLOWED_HEADERS, DEFAULT_FIELDS, DEFAULT_HEADERS, Names
from .redactor import Redactor, copies, scrub, secret_values
from .shapes import PLACEHOLDER

__all__ = ["ALLOWED_HEADERS", "DEFAULT_FIELDS", "DEFAULT_HEADERS", "PLACEHOLDER", "Names",
           "Redactor", "copies", "may_hold_secrets", "scrub", "secret_values"]
