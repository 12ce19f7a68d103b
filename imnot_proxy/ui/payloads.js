// Upload, view and replace a datapoint's payload, globally or into a new session, with the
// curl lines and proxy settings that use that session.

import {ApiError, call} from "./api.js";
import {$, clear, copyButton, fill, h} from "./dom.js";
import {orderedSteps} from "./flow.js";
import {bindPartnerSelects, datapoint, emit, partner} from "./state.js";

const PROXY_KEY = "imnot.proxyAddress";
let selects = null;

export function init() {
  selects = bindPartnerSelects($("pl-partner"), $("pl-datapoint"), {payloadOnly: true});
  $("pl-datapoint").addEventListener("change", namedPayloads);
  $("pl-body").addEventListener("input", check);
  $("pl-type").addEventListener("change", check);
  $("pl-format").addEventListener("click", format);
  $("pl-load").addEventListener("click", loadGlobal);
  $("pl-form").addEventListener("submit", upload);
  $("pl-session-form").addEventListener("submit", loadSession);
  const proxy = $("pl-proxy");
  proxy.value = localStorage.getItem(PROXY_KEY) || defaultProxy();
  proxy.addEventListener("change", () => localStorage.setItem(PROXY_KEY, proxy.value.trim()));
}

export function show(args) {
  if (args.length >= 2) selects.select(decodeURIComponent(args[0]), decodeURIComponent(args[1]));
}

// Where the system under test reaches the proxy: this page's own address when it was
// opened on the proxy port, else the usual one.
function defaultProxy() {
  return location.port ? location.host : "127.0.0.1:8080";
}

function target() {
  return [$("pl-partner").value, $("pl-datapoint").value];
}

function base() {
  const [p, d] = target();
  return `/imnot/admin/${encodeURIComponent(p)}/${encodeURIComponent(d)}/payload`;
}

// The payloads a datapoint holds (GET .../payloads): the name field and the list appear
// on proxies that keep named payloads; an older proxy answers 404 and they stay hidden.
async function namedPayloads() {
  const [p, d] = target();
  const list = $("pl-stored");
  clear(list);
  if (!p || !d) return;
  try {
    const {data} = await call("GET", `${base()}s`);
    if (target().join("/") !== `${p}/${d}`) return;  // the choice changed meanwhile
    $("pl-name-field").hidden = false;
    fill($("pl-names"), data.filter((x) => x.name).map((x) => h("option", {value: x.name})));
    fill(list, data.length ? [`Stored for ${p}/${d}: `, data.map((x) => h("button", {
      type: "button", class: "small", title: `${x.content_type}, ${x.bytes} bytes`,
      onclick: () => { $("pl-name").value = x.name; loadGlobal(); },
    }, `${x.name || "default"} · ${x.content_type}`))] : `Nothing stored for ${p}/${d} yet.`);
  } catch (error) {
    $("pl-name-field").hidden = true;
    $("pl-name").value = "";
    if (error.status !== 404 && error.status !== 405) $("pl-error").textContent = error.message;
  }
}

function isJson() {
  return $("pl-type").value.includes("json");
}

function isXml() {
  return /xml/.test($("pl-type").value);
}

function check() {
  const text = $("pl-body").value;
  const hint = $("pl-check");
  hint.className = "hint";
  const size = `${new Blob([text]).size} bytes`;
  $("pl-format").disabled = !isJson();
  if (!text.trim()) {
    hint.textContent = "";
  } else if (isXml()) {
    const failed = new DOMParser().parseFromString(text, "application/xml")
      .querySelector("parsererror");
    const where = failed && (failed.textContent.match(/error on line[^\n]*/) || [failed.textContent])[0];
    hint.textContent = failed ? `Not well-formed XML yet: ${where}`
                              : `Well-formed XML, ${size}.`;
    hint.classList.add(failed ? "warn" : "ok");
  } else if (!isJson()) {
    hint.textContent = `${size} of ${$("pl-type").value}, stored as it is.`;
  } else {
    try {
      JSON.parse(text);
      hint.textContent = `Valid JSON, ${size}.`;
      hint.classList.add("ok");
    } catch (error) {
      hint.textContent = `Not valid JSON yet: ${error.message}`;
      hint.classList.add("warn");
    }
  }
}

function format() {
  try {
    $("pl-body").value = JSON.stringify(JSON.parse($("pl-body").value), null, 2);
    check();
  } catch (error) {
    $("pl-error").textContent = `Cannot format: ${error.message}`;
  }
}

function query() {
  return {outcome: $("pl-outcome").value, name: $("pl-name-field").hidden ? "" : $("pl-name").value};
}

async function upload(event) {
  event.preventDefault();
  $("pl-error").textContent = "";
  clear($("pl-result"));
  const [p, d] = target();
  if (!p || !d) {
    $("pl-error").textContent = "Choose a partner and a datapoint that takes payloads.";
    return;
  }
  const scope = document.querySelector("input[name=pl-scope]:checked").value;
  const options = {body: $("pl-body").value, type: $("pl-type").value, query: query()};
  try {
    if (scope === "global") {
      await call("POST", base(), options);
      const name = options.query.name ? ` "${options.query.name}"` : "";
      fill($("pl-result"), h("p", {class: "ok"},
        `Saved the global payload${name} of ${p}/${d} (${options.type}). `
        + "Requests without a session get it now."));
      namedPayloads();
    } else {
      const {data} = await call("POST", `${base()}/session`, options);
      fill($("pl-result"), sessionHelp(p, d, data.session_id));
      $("pl-result").scrollIntoView({block: "nearest"});
      emit("changed");
    }
  } catch (error) {
    showError(error);
  }
}

function showError(error) {
  const box = $("pl-error");
  if (error instanceof ApiError && error.problems.length) {
    fill(box, error.message, h("ul", {}, error.problems.map((p) => h("li", {}, p))));
  } else {
    box.textContent = error.message;
  }
}

function shellQuote(text) {
  return /^[A-Za-z0-9_.:/@=-]+$/.test(text) ? text : `'${String(text).replace(/'/g, "'\\''")}'`;
}

function sessionHelp(p, d, sid) {
  const proxy = $("pl-proxy").value.trim() || defaultProxy();
  const owner = partner(p);
  const first = orderedSteps(datapoint(p, d))[0];
  const host = owner && owner.hosts && owner.hosts.find((x) => !x.startsWith("*."));
  const method = first ? first.method : "GET";
  const path = first ? first.path : "/";
  const url = host ? `http://${host}${path}` : `http://${proxy}${path}`;
  const verb = method === "GET" ? "" : ` -X ${method}`;
  const q = shellQuote;
  const lines = host ? [
    "# The session as the proxy user name: no header needed",
    `export HTTP_PROXY=${q(`http://${sid}@${proxy}`)} HTTPS_PROXY=${q(`http://${sid}@${proxy}`)}`,
    `curl -x ${q(`http://${sid}@${proxy}`)}${verb} ${q(url)}`,
    "",
    "# Or as a header",
    `curl -x ${q(`http://${proxy}`)} -H ${q(`X-Imnot-Session: ${sid}`)}${verb} ${q(url)}`,
    "",
    "# HTTPS works the same once the client trusts the proxy's CA (imnot-proxy ca)",
  ] : [
    "# Straight to the proxy port, as to the original imnot server",
    `curl -H ${q(`X-Imnot-Session: ${sid}`)}${verb} ${q(url)}`,
  ];
  const text = lines.join("\n");
  const pre = h("pre", {class: "code snippet"}, text);
  const code = h("code", {id: "pl-new-session"}, sid);
  return h("div", {class: "session-help"},
    h("p", {class: "ok"}, `New session for ${p}/${d}: `, code, " ", copyButton(() => sid, code)),
    h("p", {}, "Requests that name this session get this payload; everything else keeps the "
      + "global one. Use it from the system under test:"),
    pre, copyButton(() => text, pre));
}

function showPayload(data, label) {
  const payload = data.payload;
  const type = data.content_type || "application/json";
  const select = $("pl-type");
  if (![...select.options].some((o) => o.value === type)) select.appendChild(h("option", {value: type}, type));
  select.value = type;
  $("pl-body").value = data.content_type ? String(payload) : JSON.stringify(payload, null, 2);
  check();
  const facts = [`${label}`];
  if (data.updated_at) facts.push(`updated ${new Date(data.updated_at).toLocaleString()}`);
  if (data.created_at) facts.push(`created ${new Date(data.created_at).toLocaleString()}`);
  if (data.outcome) facts.push(`outcome ${data.outcome}`);
  facts.push(type);
  fill($("pl-result"), h("p", {}, `Showing ${facts.join(" · ")}. Edit it and upload to replace it.`));
}

async function loadGlobal() {
  $("pl-error").textContent = "";
  clear($("pl-result"));
  try {
    const {data} = await call("GET", base(), {query: query()});
    const name = data.name ? ` "${data.name}"` : "";
    showPayload(data, `the global payload${name} of ${target().join("/")}`);
  } catch (error) {
    if (error.status === 404) {
      fill($("pl-result"), h("p", {class: "muted"}, error.detail || "No global payload yet."));
    } else {
      showError(error);
    }
  }
}

async function loadSession(event) {
  event.preventDefault();
  $("pl-error").textContent = "";
  const sid = $("pl-session-id").value.trim();
  try {
    const {data} = await call("GET", `${base()}/session/${encodeURIComponent(sid)}`);
    showPayload(data, `session ${sid} of ${target().join("/")}`);
  } catch (error) {
    showError(error);
  }
}
