// The admin API as the page uses it: every call carries the admin key kept in this tab
// (sessionStorage, never a cookie: no cookie means no cross-site request can act for you),
// and every failure becomes an ApiError whose text is the server's own "detail".

const KEY = "imnot.adminKey";

export class ApiError extends Error {
  constructor(status, detail, body) {
    super(ApiError.text(status, detail));
    this.status = status;
    this.detail = detail;
    this.body = body;
  }

  static text(status, detail) {
    if (status === 0) return String(detail);
    if (status === 401) return "401 Unauthorized: the admin key is missing or wrong.";
    if (Array.isArray(detail)) return `${status}: ${detail.length} problem(s)`;
    if (detail && typeof detail === "object") return `${status}: ${JSON.stringify(detail)}`;
    return `${status}: ${detail || "request failed"}`;
  }

  // The problems of a refused partner file or payload, one string each.
  get problems() {
    return Array.isArray(this.detail) ? this.detail.map(String) : [];
  }
}

export function adminKey() {
  return sessionStorage.getItem(KEY) || "";
}

export function setAdminKey(key) {
  if (key) sessionStorage.setItem(KEY, key);
  else sessionStorage.removeItem(KEY);
}

const listeners = new Set();

// Called with the failed call's error whenever the proxy answers 401.
export function onUnauthorized(listener) {
  listeners.add(listener);
}

// call("GET", "/imnot/admin/sessions", {query: {limit: 50}})
// call("POST", path, {body: "text", type: "application/xml"}) or {json: value}
export async function call(method, path, {query, body, json, type, key} = {}) {
  const url = new URL(path, location.origin);
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
  }
  const headers = {Accept: "application/json"};
  const secret = key === undefined ? adminKey() : key;
  if (secret) headers.Authorization = `Bearer ${secret}`;
  if (json !== undefined) {
    body = JSON.stringify(json);
    type = "application/json";
  }
  if (body !== undefined) headers["Content-Type"] = type || "application/json";
  let response;
  try {
    response = await fetch(url, {method, headers, body, cache: "no-store",
                                 credentials: "omit", redirect: "error"});
  } catch (error) {
    throw new ApiError(0, `The proxy did not answer (${error.message}).`);
  }
  const text = await response.text();
  let data = text;
  if ((response.headers.get("content-type") || "").includes("json")) {
    try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  }
  if (!response.ok) {
    const detail = data && typeof data === "object" && "detail" in data ? data.detail : text;
    const error = new ApiError(response.status, detail, data);
    if (response.status === 401 && key === undefined) listeners.forEach((fn) => fn(error));
    throw error;
  }
  return {status: response.status, data, headers: response.headers};
}

// The URL in a Link header's rel="next", if any.
export function nextLink(headers) {
  const link = headers.get("link") || "";
  const match = /<([^>]+)>;\s*rel="next"/.exec(link);
  return match ? match[1] : null;
}

export const PAYLOAD_PATTERNS = new Set(["fetch", "polling", "callback", "paginated"]);
