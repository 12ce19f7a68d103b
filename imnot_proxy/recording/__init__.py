"""Record mode: capture real partner exchanges (redacted) as HAR, and turn them into partner YAML.

exchange.py  the neutral record of one request/response (no mitmproxy types)
redact/      secrets out of recordings and inferred YAML; the live exchange is never touched
har.py       HAR 1.2 read/append (always valid JSON on disk), mitmproxy flow files
recorder.py  one HAR file per partner per run, appended as each flow completes
infer/       exchanges → a partner file that understands ids, polling, paging, tokens
yamlout.py   an inference → partner YAML and payload files, validated before writing
"""
