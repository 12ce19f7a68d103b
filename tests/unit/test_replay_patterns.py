"""oauth and callback answers with more than the pattern's own fields, proved by the replay
check: the token answer's other keys, the callback's immediate reply and the partner's
call to the URL (with the new request id, the values sent and its time) — every step equal.
"""

from __future__ import annotations

from .fake_partners import Hooks, Recorder, Tokens, converted, table

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def test_a_token_answer_keeps_its_other_fields_and_stamps_its_time() -> None:
    rec = Recorder(lambda *a: (404, {}, b""))
    rec.partner = Tokens(lambda: rec.now)
    for scope in ("reports:read", "reports:write"):
        rec.send("POST", "/oauth/token", f"grant_type=client_credentials&client_id=c1&"
                 f"client_secret=s3cret-value&scope={scope}".encode(), headers=FORM)
        rec.now += 5
    result, rendered, fidelity = converted(rec.exchanges)
    assert fidelity.ok, table(fidelity)
    (dp,) = result.datapoints
    assert dp.pattern == "oauth" and not dp.gaps
    assert "s3cret-value" not in rendered.partner_yaml
    assert "request.form.get('scope')" in rendered.partner_yaml.replace("''", "'")


def test_a_callback_replies_as_recorded_and_calls_with_the_new_request() -> None:
    rec = Recorder(lambda *a: (404, {}, b""))
    rec.partner = hooks = Hooks(lambda: rec.now)
    for n, ref in enumerate(("EXP-1001", "EXP-2002")):
        rec.send("POST", "/exports", {"callbackUrl": "http://127.0.0.1:9/hooks/exports",
                                      "reference": ref, "format": ("csv", "xlsx")[n]})
        hooks.deliver(rec)
    result, rendered, fidelity = converted(rec.exchanges)
    assert fidelity.ok, table(fidelity)
    calls = [s for s in fidelity.steps if s.request.endswith("(the partner's call)")]
    assert len(calls) == 2 and all(s.equal for s in calls)
    (dp,) = result.datapoints
    assert dp.pattern == "callback" and not dp.gaps
