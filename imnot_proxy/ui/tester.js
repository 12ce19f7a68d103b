// The flow tester: a datapoint's endpoints in order, each sent through POST /imnot/admin/try
// (the engine that serves the proxy answers it), with the id a submit step generated carried
// into the later paths.

import {call} from "./api.js";
import {$, clear, fill, h, whileBusy} from "./dom.js";
import {fillPath, orderedSteps, sampleBody, sampleHeaders} from "./flow.js";
import {parseHeaders} from "./model.js";
import {bindPartnerSelects, datapoint} from "./state.js";

let selects = null;
let values = {};
let steps = [];

export function init() {
  selects = bindPartnerSelects($("t-partner"), $("t-datapoint"));
  $("t-datapoint").addEventListener("change", build);
  $("t-form").addEventListener("submit", (event) => { event.preventDefault(); runAll(); });
  $("t-reset").addEventListener("click", build);
}

export function show(args) {
  if (args.length >= 2) {
    selects.select(decodeURIComponent(args[0]), decodeURIComponent(args[1]));
    $("t-session").value = args[2] ? decodeURIComponent(args[2]) : "";
  }
}

function current() {
  return datapoint($("t-partner").value, $("t-datapoint").value);
}

function build() {
  values = {};
  $("t-error").textContent = "";
  const dp = current();
  steps = dp ? orderedSteps(dp).map((ep, i) => stepView(dp, ep, i)) : [];
  fill($("t-steps"), steps.map((s) => s.element));
  showValues();
}

function stepView(dp, ep, i) {
  const path = h("input", {value: ep.path, class: "code", spellcheck: "false",
                           "aria-label": `Path of step ${i + 1}`});
  const headers = h("textarea", {class: "code", rows: 2, spellcheck: "false",
                                 "aria-label": `Headers of step ${i + 1}, one per line`},
                    sampleHeaders(dp));
  const body = h("textarea", {class: "code", rows: 3, spellcheck: "false",
                              "aria-label": `Body of step ${i + 1}`}, sampleBody(dp, ep));
  const preview = h("p", {class: "sends"});
  const result = h("div", {class: "result", "aria-live": "polite"});
  const button = h("button", {type: "button", onclick: () => run(step)}, "Run this step");
  const label = ep.step !== null && ep.step !== undefined ? `Step ${ep.step}` : `Endpoint ${i + 1}`;
  const element = h("li", {class: "step", dataset: {step: String(i + 1)}},
    h("div", {class: "step-head"}, h("strong", {}, label), " ",
      h("span", {class: `method m-${ep.method}`}, ep.method), " ", h("code", {}, ep.path)),
    h("div", {class: "row"}, h("div", {class: "field grow"}, h("label", {}, "Path", path)), button),
    preview,
    h("details", {}, h("summary", {}, "Headers and body"),
      h("div", {class: "field"}, h("label", {}, "Headers (Name: value, one per line)", headers)),
      h("div", {class: "field"}, h("label", {}, "Body", body))),
    result);
  const step = {ep, path, headers, body, preview, result, button, element};
  path.addEventListener("input", () => showPreview(step));
  showPreview(step);
  return step;
}

// What the step will send, with the carried values marked.
function showPreview(step) {
  const parts = [];
  let last = 0;
  const template = step.path.value;
  for (const match of template.matchAll(/\{([^{}/]+)\}/g)) {
    parts.push(template.slice(last, match.index));
    const name = match[1];
    parts.push(Object.hasOwn(values, name)
      ? h("mark", {title: `{${name}} from an earlier step`}, encodeURIComponent(values[name]))
      : h("span", {class: "warn"}, match[0]));
    last = match.index + match[0].length;
  }
  parts.push(template.slice(last));
  const unfilled = [...template.matchAll(/\{([^{}/]+)\}/g)].some((m) => !Object.hasOwn(values, m[1]));
  fill(step.preview, "Sends ", h("code", {}, step.ep.method, " ", ...parts),
       unfilled ? h("span", {class: "muted"}, " (run the step that makes the id first, or type it)") : null);
}

function showValues() {
  const names = Object.keys(values);
  fill($("t-vars"), names.length
    ? ["Carried to the next steps: ", ...names.map((n) => h("code", {class: "chip"}, `${n} = ${values[n]}`))]
    : "");
}

async function run(step) {
  $("t-error").textContent = "";
  const [headers, problems] = parseHeaders(step.headers.value);
  if (problems.length) {
    $("t-error").textContent = problems.join("; ");
    return false;
  }
  clear(step.result);
  return whileBusy(step.button, async () => {
    try {
      const {data} = await call("POST", "/imnot/admin/try", {json: {
        method: step.ep.method, path: fillPath(step.path.value, values), headers,
        body: step.body.value, session: $("t-session").value.trim() || null,
        partner: $("t-partner").value}});
      Object.assign(values, data.captured || {});
      fill(step.result, answer(data));
      showValues();
      steps.forEach(showPreview);
      return data.status > 0 && data.status < 400;
    } catch (error) {
      fill(step.result, h("p", {class: "error"}, error.message));
      return false;
    }
  });
}

async function runAll() {
  values = {};
  showValues();
  steps.forEach((step) => { clear(step.result); showPreview(step); });
  for (const step of steps) {
    if (!(await run(step))) break;
  }
}

function pretty(text) {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

function answer(data) {
  const cls = data.status >= 500 || !data.status ? "s5" : data.status >= 400 ? "s4"
    : data.status >= 300 ? "s3" : "s2";
  const facts = [
    data.route ? `${data.partner}/${data.datapoint} · ${data.route}` : `no route (${data.kind})`,
    data.step, `${data.ms} ms`, data.request.session ? `session ${data.request.session}` : null,
  ].filter(Boolean);
  const captured = Object.entries(data.captured || {});
  const fault = data.fault;
  return h("div", {class: "answer"},
    h("p", {}, h("span", {class: `status ${cls}`}, data.status ? String(data.status) : "no answer"),
      " ", facts.join(" · ")),
    fault ? h("p", {class: "error"}, `Through the proxy: imnot fault ${fault.label}`,
      fault.notes.length ? ` (${fault.notes.join(", ")})` : "") : null,
    captured.length ? h("p", {class: "captured"}, "Generated: ",
      captured.map(([k, v]) => h("mark", {}, `${k} = ${v}`))) : null,
    data.closest && data.closest.length ? h("p", {}, "Closest routes: ",
      data.closest.map((c) => h("code", {class: "chip"}, c))) : null,
    h("details", {open: data.headers.length <= 4}, h("summary", {}, `Headers (${data.headers.length})`),
      h("dl", {class: "headers"}, data.headers.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]))),
    data.body ? h("pre", {class: "code body"}, pretty(data.body)) : h("p", {class: "muted"}, "No body."),
    data.truncated ? h("p", {class: "muted"}, `Shown: the first part of ${data.body_bytes} bytes.`) : null);
}
