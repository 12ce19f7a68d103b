// Faults per partner, datapoint, endpoint or session, when the proxy has them
// (GET/POST/DELETE /imnot/admin/faults); a proxy without them answers 404, and this section
// says so instead of offering a form that cannot work.

import {ApiError, call} from "./api.js";
import {$, confirmButton, fill, h} from "./dom.js";
import {on, partner, state} from "./state.js";

const PATH = "/imnot/admin/faults";

export function init() {
  on("partners", partnerChoices);
  $("f-partner").addEventListener("change", datapointChoices);
  $("f-form").addEventListener("submit", add);
  $("f-refresh").addEventListener("click", load);
}

export function show() {
  load();
}

function partnerChoices() {
  const select = $("f-partner");
  const chosen = select.value;
  fill(select, h("option", {value: ""}, "any"), state.partners.map((p) =>
    h("option", {value: p.partner, selected: p.partner === chosen}, p.partner)));
  datapointChoices();
}

function datapointChoices() {
  const found = partner($("f-partner").value);
  fill($("f-datapoint"), h("option", {value: ""}, "any"),
       found ? found.datapoints.map((d) => h("option", {value: d.name}, d.name)) : []);
}

async function load() {
  $("f-error").textContent = "";
  try {
    const {data} = await call("GET", PATH);
    $("f-unavailable").hidden = true;
    $("f-body").hidden = false;
    render(Array.isArray(data) ? data : (data && data.faults) || []);
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

function render(faults) {
  const list = $("f-list");
  if (!faults.length) {
    fill(list, h("p", {class: "muted"}, "No faults: every mock answers normally."));
    return;
  }
  fill(list,
    h("ul", {class: "cards"}, faults.map((fault) => h("li", {class: "card"},
      h("dl", {class: "facts"}, Object.entries(fault).map(([k, v]) => [h("dt", {}, k), h("dd", {}, text(v))])),
      fault.id !== undefined ? h("button", {type: "button", class: "small danger",
        onclick: () => remove(`${PATH}/${encodeURIComponent(fault.id)}`)}, "Turn off") : null))),
    confirmButton("Turn every fault off", "Really turn every fault off? Press again", () => remove(PATH)));
}

async function add(event) {
  event.preventDefault();
  $("f-error").textContent = "";
  const body = {};
  for (const [key, id] of [["kind", "f-kind"], ["partner", "f-partner"], ["datapoint", "f-datapoint"],
                           ["endpoint", "f-endpoint"], ["session", "f-session"], ["when", "f-when"]]) {
    const value = $(id).value.trim();
    if (value) body[key] = value;
  }
  const expires = $("f-expires").value.trim();
  if (expires) body.expires_in = Number.isFinite(Number(expires)) ? Number(expires) : expires;
  const extra = $("f-extra").value.trim();
  if (extra) {
    try {
      const parsed = JSON.parse(extra);
      if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("not an object");
      Object.assign(body, parsed);
    } catch (error) {
      $("f-error").textContent = `More fields must be a JSON object: ${error.message}`;
      return;
    }
  }
  try {
    await call("POST", PATH, {json: body});
    await load();
  } catch (error) {
    $("f-error").textContent = error instanceof ApiError && error.problems.length
      ? `${error.message}: ${error.problems.join("; ")}` : error.message;
  }
}

async function remove(path) {
  $("f-error").textContent = "";
  try {
    await call("DELETE", path);
    await load();
  } catch (error) {
    $("f-error").textContent = error.message;
  }
}
