// The Partner Builder: a form for a partner's datapoints, the partner file written beside
// it as you type, checked by the proxy's own loader (POST /imnot/admin/partners?dry_run=true)
// with each problem shown at its line, and registered through the same route as curl uses.

import {ApiError, call} from "./api.js";
import {$, clear, fill, h, options, whileBusy} from "./dom.js";
import {emptyDatapoint, emptyEndpoint, METHODS, PAGINATION_STYLES, PATTERN_HELP, PATTERNS,
        preset, problemLine, toDocument} from "./model.js";
import {emit, loadPartners} from "./state.js";
import {dump} from "./yaml.js";

const HEADER = "# Written with the imnot proxy admin page (Partner Builder).\n";
const form = {partner: "", description: "", hosts: [], datapoints: [emptyDatapoint("static", "hello")]};
let nav = null;
let handEdited = false;
let timer = null;
let checks = 0;
let badLines = new Set();

export function init(app) {
  nav = app;
  for (const [id, key] of [["b-partner", "partner"], ["b-description", "description"]]) {
    $(id).addEventListener("input", () => { form[key] = $(id).value.trim(); changed(); });
  }
  $("b-hosts").addEventListener("input", () => { form.hosts = $("b-hosts").value.split("\n"); changed(); });
  $("b-add-dp").addEventListener("click", () => {
    form.datapoints.push(emptyDatapoint("static", `datapoint${form.datapoints.length + 1}`));
    renderDatapoints(`b-dp${form.datapoints.length - 1}-name`);
    changed();
  });
  $("b-yaml").addEventListener("input", () => { setHandEdited(true); gutter(); schedule(); });
  $("b-yaml").addEventListener("scroll", () => { $("b-gutter").scrollTop = $("b-yaml").scrollTop; });
  $("b-rebuild").addEventListener("click", () => { setHandEdited(false); changed(); });
  $("b-validate").addEventListener("click", () => validate(true));
  $("b-register").addEventListener("click", register);
  renderDatapoints();
  write();
}

export function show() {}

function setHandEdited(value) {
  handEdited = value;
  $("b-rebuild").hidden = !value;
  $("b-yaml-state").textContent = value ? "edited by hand: the form no longer writes it" : "written from the form";
}

function changed() {
  if (!handEdited) write();
  schedule();
}

function write() {
  const {doc, notes} = toDocument(form);
  $("b-yaml").value = HEADER + dump(doc);
  gutter();
  if (!handEdited) $("b-yaml-state").textContent = "written from the form";
  $("b-check").textContent = notes.join("; ");
}

function gutter() {
  const count = $("b-yaml").value.split("\n").length;
  fill($("b-gutter"), Array.from({length: count}, (_, i) =>
    h("span", {class: badLines.has(i + 1) ? "bad" : ""}, String(i + 1))));
  $("b-gutter").scrollTop = $("b-yaml").scrollTop;
}

function schedule() {
  clearTimeout(timer);
  timer = setTimeout(() => validate(false), 700);
}

// --- the form ------------------------------------------------------------------

function control(kind, id, value, onValue, {choices, ...attrs} = {}) {
  const el = h(kind, {id, ...attrs});
  if (kind === "select") options(el, choices || [], value);
  else if (attrs.type === "checkbox") el.checked = Boolean(value);
  else el.value = value ?? "";
  el.addEventListener(kind === "select" || attrs.type === "checkbox" ? "change" : "input",
                      () => onValue(attrs.type === "checkbox" ? el.checked : el.value));
  return el;
}

function labelled(text, el, hint) {
  return h("div", {class: "field"}, h("label", {for: el.id}, text), el,
           hint ? h("small", {class: "hint"}, hint) : null);
}

function renderDatapoints(focusId) {
  fill($("b-datapoints"), form.datapoints.map(datapointView));
  if (focusId) document.getElementById(focusId)?.focus();
}

function datapointView(dp, i) {
  const id = (key) => `b-dp${i}-${key}`;
  const set = (key, rerender) => (value) => {
    dp[key] = value;
    if (rerender) renderDatapoints(id(key));
    changed();
  };
  const parts = [
    h("legend", {}, `Datapoint ${i + 1}`),
    h("div", {class: "row"},
      labelled("Name", control("input", id("name"), dp.name, set("name"), {required: true})),
      labelled("Pattern", control("select", id("pattern"), dp.pattern, (value) => {
        dp.pattern = value;
        dp.endpoints = preset(value, dp.name);
        renderDatapoints(id("pattern"));
        changed();
      }, {choices: PATTERNS})),
      labelled("Description", control("input", id("description"), dp.description, set("description")))),
    h("p", {class: "hint"}, `${dp.pattern}: ${PATTERN_HELP[dp.pattern]}`),
  ];
  if (dp.pattern === "paginated") {
    parts.push(h("div", {class: "row"},
      labelled("Pagination style", control("select", id("pagination_style"), dp.pagination_style,
                                           set("pagination_style", true), {choices: PAGINATION_STYLES})),
      labelled("Items field", control("input", id("items_field"), dp.items_field, set("items_field")),
               "the list in the uploaded payload"),
      dp.pagination_style === "cursor"
        ? labelled("Cursor field", control("input", id("cursor_field"), dp.cursor_field, set("cursor_field")))
        : null));
  }
  if (dp.pattern === "polling") {
    parts.push(h("label", {class: "inline"},
      control("input", id("strict_order"), dp.strict_order, set("strict_order"), {type: "checkbox"}),
      " Reject calls made out of order (strict_order)"));
  }
  parts.push(h("ol", {class: "endpoints"}, dp.endpoints.map((ep, j) => endpointView(dp, i, ep, j))));
  parts.push(h("div", {class: "row"},
    h("button", {type: "button", class: "small", id: id("add-ep"), onclick: () => {
      const step = dp.pattern === "polling" ? String(dp.endpoints.length + 1) : "";
      dp.endpoints.push(emptyEndpoint({path: dp.endpoints[0]?.path || "/", step}));
      renderDatapoints(id(`ep${dp.endpoints.length - 1}-method`));
      changed();
    }}, "Add an endpoint"),
    form.datapoints.length > 1 ? h("button", {type: "button", class: "small danger", id: id("remove"),
      onclick: () => {
        form.datapoints.splice(i, 1);
        renderDatapoints("b-add-dp");
        changed();
      }}, "Remove this datapoint") : null));
  return h("fieldset", {class: "dp"}, parts);
}

function endpointView(dp, i, ep, j) {
  const id = (key) => `b-dp${i}-ep${j}-${key}`;
  const set = (key, rerender) => (value) => {
    ep[key] = value;
    if (rerender) renderDatapoints(id(key));
    changed();
  };
  const input = (key, label, attrs = {}, hint) =>
    labelled(label, control("input", id(key), ep[key], set(key), attrs), hint);
  const select = (key, label, choices) =>
    labelled(label, control("select", id(key), ep[key], set(key, true), {choices}));
  const area = (key, label, hint) =>
    labelled(label, control("textarea", id(key), ep[key], set(key), {class: "code", rows: 3,
                                                                       spellcheck: "false"}), hint);
  const rows = [h("div", {class: "row"},
    select("method", "Method", METHODS),
    input("path", "Path", {class: "code", spellcheck: "false"}, "{id} marks a path parameter"),
    dp.pattern === "polling" ? input("step", "Step", {inputmode: "numeric", size: 3}) : null,
    input("status", "Status", {inputmode: "numeric", size: 4}))];
  if (dp.pattern === "polling") {
    rows.push(h("div", {class: "row"},
      select("role", "Role", [["submit", "submit: generates the id"], ["status", "status check"],
                              ["result", "result: returns the payload"]]),
      ep.role === "submit" ? select("id_from", "The id goes in", [["header", "a header"], ["body", "a body field"]]) : null,
      ep.role === "submit" && ep.id_from === "header" ? input("id_header", "Header") : null,
      ep.role === "submit" && ep.id_from === "header"
        ? input("id_header_value", "Header value", {class: "code"}, "with {id} where the id goes") : null,
      ep.role === "submit" && ep.id_from === "body" ? input("id_body_field", "Body field") : null));
  }
  if (dp.pattern === "callback") {
    rows.push(h("div", {class: "row"},
      select("callback_via", "Callback URL comes in", [["field", "a body field"], ["header", "a header"]]),
      input("callback_name", ep.callback_via === "header" ? "Header name" : "Field name"),
      input("callback_delay", "Delay (s)", {inputmode: "decimal", size: 4})));
  }
  if (dp.pattern === "oauth") {
    rows.push(h("div", {class: "row"}, input("token_type", "Token type"),
      input("expires_in", "Expires in (s)", {inputmode: "numeric", size: 6})));
  }
  if (dp.pattern === "static" || (dp.pattern === "polling" && ep.role !== "result")) {
    rows.push(area("body", "Body", "JSON, or text sent as is with a non-JSON Content-Type header"));
  }
  rows.push(area("headers", "Headers", "Name: value, one per line"));
  if (dp.endpoints.length > 1) {
    rows.push(h("button", {type: "button", class: "small danger", id: id("remove"), onclick: () => {
      dp.endpoints.splice(j, 1);
      renderDatapoints(`b-dp${i}-add-ep`);
      changed();
    }}, "Remove this endpoint"));
  }
  return h("li", {}, h("fieldset", {class: "ep"}, h("legend", {}, `Endpoint ${j + 1}`), rows));
}

// --- checking and registering ------------------------------------------------------

function showProblems(problems) {
  badLines = new Set(problems.map(problemLine).filter(Boolean));
  gutter();
  fill($("b-problems"), problems.map((problem) => {
    const line = problemLine(problem);
    return h("li", {}, line ? h("button", {type: "button", class: "link",
      onclick: () => selectLine(line)}, `line ${line}`) : null, line ? " " : null,
      String(problem).replace(/^<request body>:?\d*\s*/, ""));
  }));
}

function selectLine(line) {
  const area = $("b-yaml");
  const lines = area.value.split("\n");
  const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
  area.focus();
  area.setSelectionRange(start, start + (lines[line - 1] || "").length);
}

async function validate(explicit) {
  clearTimeout(timer);
  const mine = ++checks;
  $("b-error").textContent = "";
  if (explicit) clear($("b-result"));
  try {
    const {data} = await call("POST", "/imnot/admin/partners",
      {body: $("b-yaml").value, type: "application/yaml", query: {dry_run: "true", force: forceQuery()}});
    if (mine !== checks) return;
    showProblems([]);
    const warnings = data.warnings || [];
    fill($("b-check"), h("span", {class: "ok"}, `Valid: the proxy's loader accepts ${data.partner}`
      + ` (${data.datapoints.length} datapoints).`),
      warnings.length ? h("ul", {class: "warnings"}, warnings.map((w) => h("li", {}, w))) : null);
  } catch (error) {
    if (mine !== checks) return;
    report(error);
  }
}

function forceQuery() {
  return $("b-force").checked ? "true" : "";
}

function report(error) {
  if (error instanceof ApiError && error.status === 422 && error.problems.length) {
    $("b-check").textContent = `${error.problems.length} problem(s) the loader found:`;
    showProblems(error.problems);
  } else if (error instanceof ApiError && error.status === 409) {
    showProblems([]);
    $("b-check").textContent = `${error.detail} Tick "replace a partner of that name" to replace it.`;
  } else {
    $("b-check").textContent = "";
    $("b-error").textContent = error.message;
  }
}

async function register() {
  clearTimeout(timer);
  ++checks;
  $("b-error").textContent = "";
  clear($("b-result"));
  await whileBusy($("b-register"), async () => {
    try {
      const {data} = await call("POST", "/imnot/admin/partners",
        {body: $("b-yaml").value, type: "application/yaml", query: {force: forceQuery()}});
      showProblems([]);
      $("b-check").textContent = "";
      await loadPartners();
      emit("changed");
      const first = data.datapoints[0];
      fill($("b-result"), h("div", {class: "report ok"},
        h("p", {}, h("strong", {}, `${data.created ? "Registered" : "Replaced"} ${data.partner}`),
          ` in ${data.file}: it answers now.`),
        data.routes_added.length ? h("ul", {}, data.routes_added.map((r) => h("li", {}, h("code", {}, r)))) : null,
        first ? h("div", {class: "row"},
          h("button", {type: "button", onclick: () => nav.go("tester", data.partner, first.name)},
            "Try it in the flow tester"),
          first.admin_routes ? h("button", {type: "button",
            onclick: () => nav.go("payloads", data.partner, first.name)}, "Upload its payload") : null) : null));
    } catch (error) {
      report(error);
    }
  });
}
