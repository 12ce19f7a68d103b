"""``ca``: find or create the proxy's CA, export it, and print how each client trusts it.

The certificate work lives in ``imnot_proxy.ca``; this module only maps flags to it and
prints the outcome.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .output import err_console, fail


def cmd_ca(args: argparse.Namespace) -> int:
    from .. import ca

    try:
        files, created = ca.ensure_ca(args.confdir)
    except (OSError, ValueError) as exc:
        return fail(f"cannot create or read the CA in {ca.confdir_path(args.confdir)}: {exc}")
    if created:
        err_console.print(f"created a new CA in {files.confdir}", highlight=False)
    if args.path:
        print(files.cert)
        return 0
    written = []
    try:
        if args.out:
            written.append(ca.export(files.cert, Path(args.out)))
        if args.p12:
            written.append(ca.export(files.p12, Path(args.p12)))
        if args.bundle:
            base = Path(args.base) if args.base else None
            written.append(ca.write_bundle(files.cert, Path(args.bundle), base))
    except OSError as exc:
        return fail(str(exc))
    if args.recipes or not written:
        bundle = args.bundle or "imnot-bundle.pem"
        print(ca.recipes(files.cert, args.proxy, bundle))
    else:
        print(f"CA certificate: {files.cert}")
    print(f"SHA-256 fingerprint: {ca.fingerprint(files.cert)}")
    for path in written:
        print(f"wrote {path}")
    return 0
