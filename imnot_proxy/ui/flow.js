// The flow tester's plan: a datapoint's endpoints in the order a client calls them, and
// path templates filled with the values earlier steps produced. No DOM here.

// Endpoints by step (those without a step keep their place, after the numbered ones).
export function orderedSteps(datapoint) {
  const endpoints = (datapoint && datapoint.endpoints) || [];
  return endpoints
    .map((ep, index) => ({...ep, index}))
    .sort((a, b) => (a.step ?? 1e9) - (b.step ?? 1e9) || a.index - b.index);
}

export function placeholders(template) {
  return [...String(template).matchAll(/\{([^{}/]+)\}/g)].map((m) => m[1]);
}

// "/r/{id}" with {id: "a b"} -> "/r/a%20b"; unknown names stay as they are.
export function fillPath(template, values) {
  return String(template).replace(/\{([^{}/]+)\}/g, (whole, name) =>
    Object.prototype.hasOwnProperty.call(values, name) ? encodeURIComponent(values[name])
                                                       : whole);
}

// A first body for a step that sends one, so the user sees where it goes.
export function sampleBody(datapoint, endpoint) {
  if (!["POST", "PUT", "PATCH"].includes(endpoint.method)) return "";
  if (datapoint.pattern === "oauth") return "grant_type=client_credentials";
  if (datapoint.pattern === "callback" && datapoint.callback_url_field) {
    return JSON.stringify({[datapoint.callback_url_field]: CALLBACK_EXAMPLE});
  }
  return "{}";
}

export function sampleHeaders(datapoint) {
  if (datapoint.pattern === "oauth") return "Content-Type: application/x-www-form-urlencoded";
  if (datapoint.pattern === "callback" && datapoint.callback_url_header) {
    return `${datapoint.callback_url_header}: ${CALLBACK_EXAMPLE}`;
  }
  return "";
}

// Where a callback goes unless the user says otherwise (loopback: always allowed).
export const CALLBACK_EXAMPLE = "http://127.0.0.1:8000/callback";

