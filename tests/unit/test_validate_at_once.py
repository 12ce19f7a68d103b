"""``validate`` reports the cross-field rules of the datapoints that parse, in the same run as
the per-field errors of the others."""

from __future__ import annotations

BROKEN_AND_RULES = """
    partner: acme
    hosts: [api.acme.test]
    datapoints:
      - name: broken
        pattern: static
        endpoints:
          - method: GET
            path: /a
            response:
              status: 99
      - name: jobs
        pattern: polling
        typo_key: 1
        endpoints:
          - method: POST
            path: /jobs
            step: 1
            response: {status: 202, generates_id: true}
          - method: GET
            path: /jobs/result
            step: 2
            response: {status: 200, returns_payload: true}
      - name: again
        pattern: static
        endpoints:
          - {method: GET, path: /jobs/result}
    """


def test_rules_of_the_valid_datapoints_come_with_the_field_errors(tmp_path, load_text):
    result = load_text(BROKEN_AND_RULES, tmp_path)
    found = [(p.line, p.loc, p.severity) for p in result.problems]
    assert found == [
        (11, "datapoints.0.endpoints.0.response.status", "error"),
        (14, "datapoints.1.typo_key", "warning"),
        (19, "datapoints.1.endpoints.0.response", "error"),
        (21, "datapoints.1.endpoints.1.path", "error"),
        (27, "datapoints.2.endpoints.0.path", "error"),
    ]
    conflict = result.problems[-1].message
    assert "already defined by datapoint 'jobs' (datapoints.1.endpoints.1)" in conflict
    assert result.partners == []


def test_no_rules_when_the_partner_itself_is_broken(tmp_path, load_text):
    text = BROKEN_AND_RULES.replace("partner: acme", "partner: [not, a, name]")
    result = load_text(text, tmp_path)
    assert [p.loc for p in result.problems] == ["partner", "datapoints.0.endpoints.0.response.status",
                                                "datapoints.1.typo_key"]
