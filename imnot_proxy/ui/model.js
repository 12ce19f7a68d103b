// The Partner Builder's form state and the partner file it stands for. No DOM here (the
// page and node's tests use it alike): builder.js reads the form into this shape.

export const PATTERNS = ["static", "fetch", "polling", "oauth", "callback", "paginated"];
export const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"];
export const PAGINATION_STYLES = ["offset_limit", "cursor", "page_number", "page_number_url"];

export const PATTERN_HELP = {
  static: "a fixed answer from the file",
  fetch: "returns the uploaded payload",
  polling: "submit, check status, fetch the result on a generated id",
  oauth: "a token endpoint",
  callback: "accepts a request, then calls the client back with the payload",
  paginated: "serves the items of the uploaded payload a page at a time",
};

function slug(text, fallback) {
  const cleaned = String(text || "").trim().toLowerCase().replace(/[^a-z0-9_-]+/g, "-")
    .replace(/^-+|-+$/g, "");
  return cleaned || fallback;
}

export function emptyEndpoint(overrides = {}) {
  return {method: "GET", path: "/", step: "", status: "", body: "", headers: "",
          role: "status", id_from: "header", id_header: "Location", id_header_value: "",
          id_body_field: "id", callback_via: "field", callback_name: "callback_url",
          callback_delay: "", token_type: "", expires_in: "", ...overrides};
}

// Endpoints a new datapoint of this pattern starts with.
export function preset(pattern, name) {
  const base = `/${slug(name, "items")}`;
  switch (pattern) {
    case "oauth":
      return [emptyEndpoint({method: "POST", path: "/oauth/token", status: "200",
                             token_type: "Bearer", expires_in: "3600"})];
    case "fetch":
      return [emptyEndpoint({path: base, status: "200"})];
    case "polling":
      return [
        emptyEndpoint({method: "POST", path: base, step: "1", status: "202", role: "submit",
                       id_header_value: `${base}/{id}`}),
        emptyEndpoint({path: `${base}/{id}/status`, step: "2", status: "200", role: "status",
                       body: '{"status": "COMPLETED"}'}),
        emptyEndpoint({path: `${base}/{id}`, step: "3", status: "200", role: "result"}),
      ];
    case "callback":
      return [emptyEndpoint({method: "POST", path: base, status: "202"})];
    case "paginated":
      return [emptyEndpoint({path: base, status: "200"})];
    default:
      return [emptyEndpoint({path: base, status: "200", body: '{"ok": true}'})];
  }
}

export function emptyDatapoint(pattern = "static", name = "") {
  return {name, description: "", pattern, strict_order: false,
          pagination_style: "offset_limit", items_field: "items", cursor_field: "",
          endpoints: preset(pattern, name)};
}

// "Name: value" lines to a mapping; returns [headers, problems].
export function parseHeaders(text) {
  const headers = {};
  const problems = [];
  String(text || "").split("\n").forEach((line, index) => {
    if (!line.trim()) return;
    const at = line.indexOf(":");
    if (at <= 0) {
      problems.push(`header line ${index + 1} is not "Name: value"`);
      return;
    }
    headers[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  });
  return [headers, problems];
}

// A body field: JSON when it parses, else the text itself (sent as is with a non-JSON
// Content-Type), absent when empty.
export function parseBody(text) {
  const trimmed = String(text || "").trim();
  if (!trimmed) return undefined;
  try {
    return JSON.parse(trimmed);
  } catch {
    return String(text);
  }
}

function integer(text) {
  const value = String(text ?? "").trim();
  if (value === "") return undefined;
  return /^-?\d+$/.test(value) ? Number(value) : value;  // the loader names a bad value
}

function number(text) {
  const value = String(text ?? "").trim();
  if (value === "") return undefined;
  return Number.isFinite(Number(value)) ? Number(value) : value;
}

function response(pattern, ep, notes, where) {
  const out = {};
  const status = integer(ep.status);
  if (status !== undefined) out.status = status;
  if (pattern === "oauth") {
    if (ep.token_type) out.token_type = ep.token_type;
    const expires = integer(ep.expires_in);
    if (expires !== undefined) out.expires_in = expires;
  } else if (pattern === "polling") {
    if (ep.role === "submit") {
      out.generates_id = true;
      if (ep.id_from === "header") {
        out.id_header = ep.id_header || "Location";
        out.id_header_value = ep.id_header_value || "{id}";
      } else {
        out.id_body_field = ep.id_body_field || "id";
      }
    } else if (ep.role === "result") {
      out.returns_payload = true;
    }
  } else if (pattern === "callback") {
    const key = ep.callback_via === "header" ? "callback_url_header" : "callback_url_field";
    out[key] = ep.callback_name || (key === "callback_url_header" ? "X-Callback-Url"
                                                                    : "callback_url");
    const delay = number(ep.callback_delay);
    if (delay !== undefined) out.callback_delay_seconds = delay;
  }
  if (pattern === "static" || (pattern === "polling" && ep.role !== "result")) {
    const body = parseBody(ep.body);
    if (body !== undefined) out.body = body;
  }
  const [headers, problems] = parseHeaders(ep.headers);
  problems.forEach((p) => notes.push(`${where}: ${p}`));
  if (Object.keys(headers).length) out.headers = headers;
  return out;
}

// The partner file (as a plain value) for a form state, and notes about what the form
// could not express.
export function toDocument(form) {
  const notes = [];
  const doc = {partner: form.partner || ""};
  if (form.description) doc.description = form.description;
  const hosts = (form.hosts || []).map((h) => h.trim()).filter(Boolean);
  if (hosts.length) doc.hosts = hosts;
  doc.datapoints = (form.datapoints || []).map((dp, i) => {
    const out = {name: dp.name || "", pattern: dp.pattern};
    if (dp.description) out.description = dp.description;
    if (dp.pattern === "polling" && dp.strict_order) out.strict_order = true;
    if (dp.pattern === "paginated") {
      out.pagination = {style: dp.pagination_style, items_field: dp.items_field || "items"};
      if (dp.pagination_style === "cursor") out.pagination.cursor_field = dp.cursor_field || "next_cursor";
      if (dp.pagination_style === "page_number_url") {
        out.pagination.next_url_field = "next";
        out.pagination.previous_url_field = "previous";
      }
    }
    out.endpoints = dp.endpoints.map((ep, j) => {
      const endpoint = {};
      const step = integer(ep.step);
      if (dp.pattern === "polling" && step !== undefined) endpoint.step = step;
      endpoint.method = ep.method;
      endpoint.path = ep.path;
      const answer = response(dp.pattern, ep, notes, `datapoint ${i + 1}, endpoint ${j + 1}`);
      if (Object.keys(answer).length) endpoint.response = answer;
      return endpoint;
    });
    return out;
  });
  return {doc, notes};
}

// "<request body>:12 datapoints.0.name: message" -> 12 (0 when the problem names no line).
export function problemLine(problem) {
  const match = /^[^:\n]*:(\d+)\b/.exec(String(problem));
  return match ? Number(match[1]) : 0;
}
