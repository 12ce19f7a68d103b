// Faults set at run time (GET/POST/DELETE /imnot/admin/faults): list them, turn one on for a
// partner, a datapoint or an endpoint, for every session or one, and turn them off. A proxy
// from before faults answers 404, and this section says so instead of offering a form that
// cannot work.

import {ApiError, call} from "./api.js";
import {$, confirmButton, fill, formatTime, h, refocus} from "./dom.js";
import {on, partner, state} from "./state.js";

const PATH = "/imnot/admin/faults";
const DELAYED = new Set(["latency", "callback_delay"]);
// what a fault's view holds besides its parameters
const FRAME = new Set(["id", "kind", "partner", "datapoint", "endpoint", "session", "when",
                       "created_at", "expires_at", "warnings"]);

export function init() {
  on("partners", partnerChoices);
  $("f-partner").addEventListener("change", datapointChoices);
  $("f-datapoint").addEventListener("change", endpointChoices);
  $("f-kind").addEventListener("change", kindFields);
  $("f-form").addEventListener("submit", add);
  $("f-refresh").addEventListener("click", () => load());
  $("f-all").appendChild(confirmButton(
    "Turn every fault off", "Really turn every fault off? Press again", () => remove(PATH)));
  kindFields();
}

export function show() {
  load();
}

function partnerChoices() {
  const select = $("f-partner");
  const chosen = select.value;
  fill(select, state.partners.map((p) =>
    h("option", {value: p.partner, selected: p.partner === chosen}, p.partner)));
  datapointChoices();
}

function datapointChoices() {
  const found = partner($("f-partner").value);
  fill($("f-datapoint"), h("option", {value: ""}, "every datapoint"),
       found ? found.datapoints.map((d) => h("option", {value: d.name}, d.name)) : []);
  endpointChoices();
}

function endpointChoices() {
  const found = partner($("f-partner").value);
  const name = $("f-datapoint").value;
  const endpoints = found ? found.datapoints.filter((d) => !name || d.name === name)
    .flatMap((d) => d.endpoints.map((e) => `${e.method} ${e.path}`)) : [];
  fill($("f-endpoint"), h("option", {value: ""}, "every endpoint"),
       endpoints.map((e) => h("option", {value: e}, e)));
}

function kindFields() {
  const kind = $("f-kind").value;
  $("f-status-field").hidden = kind !== "status";
  $("f-ms-field").hidden = !DELAYED.has(kind);
}

async function load(note = "") {
  $("f-error").textContent = "";
  try {
    const {data} = await call("GET", PATH);
    $("f-unavailable").hidden = true;
    $("f-body").hidden = false;
    render(Array.isArray(data) ? data : [], note);
  } catch (error) {
    if (error instanceof ApiError && (error.status === 404 || error.status === 405)) {
      $("f-unavailable").hidden = false;
      $("f-body").hidden = true;
    } else {
      $("f-error").textContent = error.message;
    }
  }
}

function text(value) {
  return typeof value === "string" ? value : JSON.stringify(value);
}

function describe(fault) {
  const params = Object.entries(fault).filter(([k]) => !FRAME.has(k))
    .map(([k, v]) => `${k} ${text(v)}`);
  if (fault.kind === "status" && fault.status === undefined) params.unshift("status 503");
  return params.length ? `${fault.kind} (${params.join(", ")})` : fault.kind;
}

function render(faults, note) {
  $("f-info").textContent = note + (faults.length
    ? `${faults.length} fault(s) in force, oldest first.` : "No faults: every mock answers normally.");
  fill($("f-table").tBodies[0], faults.map((f) => h("tr", {dataset: {fault: f.id}},
    h("td", {}, h("code", {}, describe(f))),
    h("td", {}, [f.partner, f.datapoint].filter(Boolean).join("/") + (f.endpoint ? ` ${f.endpoint}` : "")),
    h("td", {}, f.session ? h("code", {}, f.session) : "every session"),
    h("td", {}, f.when ? h("code", {}, JSON.stringify(f.when)) : "always"),
    h("td", {}, f.expires_at ? formatTime(f.expires_at) : "never"),
    h("td", {class: "actions"}, h("button", {type: "button", class: "small danger",
      "aria-label": `Turn fault ${f.id} off`,
      onclick: (event) => removeRow(f.id, event.currentTarget)}, "Turn off")))));
}

function json(id, what, check) {
  const value = $(id).value.trim();
  if (!value) return undefined;
  let parsed;
  try {
    parsed = JSON.parse(value);
  } catch (error) {
    throw new Error(`${what} must be JSON: ${error.message}`);
  }
  if (!check(parsed)) throw new Error(`${what} must be a JSON object`);
  return parsed;
}

function number(id) {
  const value = $(id).value.trim();
  return value === "" ? undefined : (Number.isFinite(Number(value)) ? Number(value) : value);
}

function body() {
  const kind = $("f-kind").value;
  const out = {kind, partner: $("f-partner").value};
  for (const [key, id] of [["datapoint", "f-datapoint"], ["endpoint", "f-endpoint"],
                           ["session", "f-session"]]) {
    const value = $(id).value.trim();
    if (value) out[key] = value;
  }
  if (kind === "status" && number("f-status") !== undefined) out.status = number("f-status");
  if (DELAYED.has(kind) && number("f-ms") !== undefined) out.ms = number("f-ms");
  if (number("f-expires") !== undefined) out.expires_in = number("f-expires");
  const when = json("f-when", "When", (v) => v && typeof v === "object");
  if (when !== undefined) out.when = when;
  const extra = json("f-extra", "More fields", (v) => v && typeof v === "object" && !Array.isArray(v));
  return extra ? {...out, ...extra} : out;
}

async function add(event) {
  event.preventDefault();
  $("f-error").textContent = "";
  let fault;
  try {
    fault = body();
  } catch (error) {
    $("f-error").textContent = error.message;
    return;
  }
  try {
    const {data} = await call("POST", PATH, {json: fault});
    const warnings = (data.warnings || []).join("; ");
    await load(`Turned on ${data.id}${warnings ? ` (${warnings})` : ""}. `);
  } catch (error) {
    $("f-error").textContent = error instanceof ApiError && error.problems.length
      ? `${error.message}: ${error.problems.join("; ")}` : error.message;
  }
}

async function removeRow(id, button) {
  const rows = $("f-table").tBodies[0];
  const index = [...rows.children].indexOf(button.closest("tr"));
  await remove(`${PATH}/${encodeURIComponent(id)}`);
  refocus(rows, index, "button.danger", $("faults-h"));
}

async function remove(path) {
  $("f-error").textContent = "";
  try {
    const {data} = await call("DELETE", path);
    await load(data.deleted !== undefined ? `Turned ${data.deleted} fault(s) off. `
      : `Turned ${data.id} off. `);
  } catch (error) {
    $("f-error").textContent = error.message;
  }
}
