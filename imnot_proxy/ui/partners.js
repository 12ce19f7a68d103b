// Partners and their routes, the reload button with its report, and deleting a partner.

import {call, PAYLOAD_PATTERNS} from "./api.js";
import {$, clear, confirmButton, fill, h, plural, refocus, whileBusy} from "./dom.js";
import {emit, loadPartners, on, state} from "./state.js";

let nav = null;

export function init(app) {
  nav = app;
  $("partners-filter").addEventListener("input", render);
  $("reload").addEventListener("click", reload);
  on("partners", render);
}

export function show() {
  if (state.loaded) render();
}

function matches(partner, words) {
  if (!words.length) return true;
  const text = [partner.partner, partner.description, ...(partner.hosts || []),
    ...partner.datapoints.flatMap((d) => [d.name, d.pattern, d.description,
      ...d.endpoints.map((e) => `${e.method} ${e.path}`)])].join(" ").toLowerCase();
  return words.every((w) => text.includes(w));
}

function render() {
  const words = $("partners-filter").value.toLowerCase().split(/\s+/).filter(Boolean);
  const shown = state.partners.filter((p) => matches(p, words));
  $("partners-count").textContent = words.length
    ? `${shown.length} of ${state.partners.length} partners match.`
    : `${plural(state.partners.length, "partner")}.`;
  const open = shown.length <= 3;
  fill($("partners-list"), shown.map((p) => card(p, open)));
}

function card(partner, open) {
  const routes = partner.datapoints.reduce((n, d) => n + d.endpoints.length, 0);
  return h("details", {class: "card", open, dataset: {partner: partner.partner}},
    h("summary", {},
      h("strong", {class: "name"}, partner.partner),
      h("span", {class: "muted"}, ` ${plural(partner.datapoints.length, "datapoint")} · ${plural(routes, "route")}`),
      partner.description ? h("span", {class: "description"}, partner.description) : null),
    h("p", {class: "hosts"}, partner.hosts && partner.hosts.length
      ? ["Hosts: ", ...partner.hosts.map((host) => h("code", {class: "chip"}, host))]
      : "No hosts: matches on the path alone."),
    h("div", {class: "table-wrap"}, h("table", {class: "routes"},
      h("caption", {class: "sr-only"}, `Datapoints of ${partner.partner}`),
      h("thead", {}, h("tr", {},
        ["Datapoint", "Pattern", "Endpoints", ""].map((t) => h("th", {scope: "col"}, t)))),
      h("tbody", {}, partner.datapoints.map((d) => row(partner, d))))),
    h("div", {class: "row end"},
      confirmButton(`Delete ${partner.partner}`, `Really delete ${partner.partner}? Press again`,
                    () => remove(partner.partner))));
}

function row(partner, datapoint) {
  const actions = [h("button", {type: "button", class: "small",
    onclick: () => nav.go("tester", partner.partner, datapoint.name)}, "Test the flow")];
  if (PAYLOAD_PATTERNS.has(datapoint.pattern)) {
    actions.unshift(h("button", {type: "button", class: "small",
      onclick: () => nav.go("payloads", partner.partner, datapoint.name)}, "Payload"));
  }
  return h("tr", {},
    h("th", {scope: "row"}, datapoint.name,
      datapoint.description ? h("small", {class: "description"}, datapoint.description) : null),
    h("td", {}, h("span", {class: `badge pattern-${datapoint.pattern}`}, datapoint.pattern)),
    h("td", {}, h("ul", {class: "endpoints"}, datapoint.endpoints.map((e) => h("li", {},
      h("span", {class: `method m-${e.method}`}, e.method), " ", h("code", {}, e.path),
      e.step !== null && e.step !== undefined ? h("span", {class: "muted"}, ` step ${e.step}`) : null,
      e.requests_per_minute ? h("span", {class: "muted"}, ` · ${e.requests_per_minute}/min`) : null)))),
    h("td", {class: "actions"}, actions));
}

async function remove(name) {
  const cards = $("partners-list");
  const index = [...cards.children].findIndex((c) => c.dataset.partner === name);
  $("partners-error").textContent = "";
  try {
    await call("DELETE", `/imnot/admin/partners/${encodeURIComponent(name)}`);
    await loadPartners();
    emit("changed");
    fill($("reload-report"), h("p", {class: "ok"}, `Deleted ${name}: its routes stopped answering.`));
    refocus(cards, index, "summary", $("partners-filter"));
  } catch (error) {
    $("partners-error").textContent = error.message;
  }
}

function reload() {
  return whileBusy($("reload"), reloadFiles);
}

async function reloadFiles() {
  $("partners-error").textContent = "";
  clear($("reload-report"));
  try {
    const {data} = await call("POST", "/imnot/admin/reload");
    fill($("reload-report"), report(data));
    await loadPartners();
    emit("changed");
  } catch (error) {
    $("partners-error").textContent = error.message;
    if (error.body && typeof error.body === "object" && error.body.problems) {
      fill($("reload-report"), report(error.body));
    }
  }
}

export function report(data) {
  const problems = data.problems || [];
  const list = (title, items, cls) => items && items.length
    ? [h("h4", {}, title), h("ul", {class: cls}, items.map((i) => h("li", {}, h("code", {}, i))))]
    : null;
  return h("div", {class: `report ${problems.length ? "partial" : "ok"}`},
    h("p", {}, h("strong", {}, `Reload: ${data.status}`),
      ` · ${(data.partners || []).length} partners loaded`,
      data.at ? ` · ${new Date(data.at).toLocaleTimeString()}` : ""),
    list("Problems (these files were skipped or keep their last good version)", problems, "problems"),
    list("Kept serving their last good version", data.kept),
    list("Routes added", data.routes_added),
    list("Routes removed", data.routes_removed));
}
