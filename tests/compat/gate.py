"""The comparison of the original-suite gate (``scripts/original-suite``).

The original imnot 1.5.0's HTTP tests run against imnot_proxy; the tests that may fail are
listed in ``expected-differences.yaml``, each group with a reason:

* ``B<n>``: a bug of the original that imnot_proxy fixes (``imnot-behaviour.md`` §11);
* ``Differences: <row>``: a row of the "Differences from the original imnot 1.5.0" table
  in ``partners/README.md`` (checked: the row must exist);
* ``internals``: the test asserts on the original's objects (its store, its mocks, its
  loggers, its app state), which a proxy does not have;
* ``incompatible: <cause>``: a real incompatibility still to fix.

A failure that is not listed, a listed test that passes, and a listed test that did not
run all fail the gate, so the list always says exactly what differs.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import yaml

REASON = re.compile(r"B(?:[1-9]|1[0-7])|internals|incompatible: \S.*|Differences: \S.*")
DIFFERENCES_HEADING = "## Differences from the original imnot 1.5.0"


@dataclass(frozen=True)
class Expected:
    test: str
    reason: str
    note: str = ""

    @property
    def kind(self) -> str:
        """``bug fixed``, ``difference``, ``internals`` or ``incompatible``."""
        if self.reason.startswith("B"):
            return "bug fixed"
        return {"Differences": "difference"}.get(self.reason.split(":")[0],
                                                  self.reason.split(":")[0])


@dataclass(frozen=True)
class Outcome:
    outcome: str  # passed, failed or skipped
    message: str = ""


@dataclass
class Comparison:
    passed: list[str] = field(default_factory=list)
    expected: list[Expected] = field(default_factory=list)
    unexpected_failures: list[tuple[str, str]] = field(default_factory=list)
    unexpected_passes: list[Expected] = field(default_factory=list)
    not_run: list[Expected] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def ok(self, *, require_all: bool = True) -> bool:
        """No surprise; with ``require_all``, every listed test also ran."""
        return not (self.unexpected_failures or self.unexpected_passes
                    or (require_all and self.not_run))


def differences_rows(readme: str) -> set[str]:
    """First cells of the tables under the Differences heading, without Markdown quotes."""
    if DIFFERENCES_HEADING not in readme:
        return set()
    section = readme.split(DIFFERENCES_HEADING, 1)[1]
    section = re.split(r"\n## ", section, maxsplit=1)[0]
    rows = set()
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.lstrip().startswith("|") and cells and cells[0] and not set(cells[0]) <= set("-: "):
            rows.add(cells[0].replace("`", ""))
    return rows


def load_expected(text: str, rows: Iterable[str]) -> dict[str, Expected]:
    """Read ``expected-differences.yaml``: a list of ``{reason, note?, tests: [ids]}``.

    Raises ``ValueError`` naming the first problem: a bad shape, a reason that is not one
    of the four kinds, a ``Differences:`` row the README does not have, a test listed twice.
    """
    data = yaml.safe_load(text) or []
    if not isinstance(data, list):
        raise ValueError("expected differences: a list of groups {reason, note, tests}")
    known_rows = set(rows)
    found: dict[str, Expected] = {}
    for index, group in enumerate(data):
        where = f"group {index + 1}"
        if not isinstance(group, dict) or set(group) - {"reason", "note", "tests"}:
            raise ValueError(f"{where}: keys are reason, note and tests")
        reason = str(group.get("reason") or "")
        if not REASON.fullmatch(reason):
            raise ValueError(f"{where}: reason {reason!r} is not B<n>, 'Differences: <row>', "
                             "'internals' or 'incompatible: <cause>'")
        if reason.startswith("Differences: ") and reason[13:] not in known_rows:
            raise ValueError(f"{where}: {reason!r} is not a row of the Differences table")
        tests = group.get("tests")
        if not isinstance(tests, list) or not tests or not all(isinstance(t, str) for t in tests):
            raise ValueError(f"{where}: tests must be a non-empty list of test ids")
        for test in tests:
            if test in found:
                raise ValueError(f"{where}: {test} is listed twice")
            found[test] = Expected(test, reason, str(group.get("note") or ""))
    return found


def compare(outcomes: Mapping[str, Outcome], expected: Mapping[str, Expected]) -> Comparison:
    """Sort every test that ran, and every listed test, into the comparison's buckets."""
    result = Comparison()
    for test, outcome in outcomes.items():
        listed = expected.get(test)
        if outcome.outcome == "failed":
            if listed is None:
                result.unexpected_failures.append((test, outcome.message))
            else:
                result.expected.append(listed)
        elif listed is not None:
            result.unexpected_passes.append(listed)
        elif outcome.outcome == "skipped":
            result.skipped.append(test)
        else:
            result.passed.append(test)
    result.not_run = [e for test, e in expected.items() if test not in outcomes]
    return result


def summary(result: Comparison, *, collected: int, selected: int,
            require_all: bool = True) -> str:
    """The gate's report: counts, the expected differences by kind, then every surprise."""
    kinds = Counter(e.kind for e in result.expected)
    lines = [
        f"original suite: {collected} tests, {selected} selected (they drive the app over HTTP)",
        f"  passed                 {len(result.passed)}",
        f"  expected differences   {len(result.expected)}"
        + (f"  ({', '.join(f'{k} {n}' for k, n in sorted(kinds.items()))})" if kinds else ""),
        f"  unexpected             "
        f"{len(result.unexpected_failures) + len(result.unexpected_passes)}",
    ]
    if result.skipped:
        lines.append(f"  skipped                {len(result.skipped)}")
    for test, message in result.unexpected_failures:
        lines.append(f"UNEXPECTED FAILURE {test}\n    {message}")
    for e in result.unexpected_passes:
        lines.append(f"UNEXPECTED PASS {_label(e)}\n"
                     "    remove it from tests/compat/expected-differences.yaml")
    if not require_all:
        lines.insert(4, f"  listed, not run        {len(result.not_run)} (a partial run)")
    else:
        lines += [f"LISTED BUT NOT RUN {_label(e)}" for e in result.not_run]
    return "\n".join(lines)


def _label(e: Expected) -> str:
    return f"{e.test} (reason: {e.reason})"
