// The journal, live: the newest partner requests polled while this section is on screen
// (never in a hidden tab), filtered by partner, session and outcome. The view samples the
// newest rows; it never asks for more than the chosen page, however busy the proxy is.

import {call} from "./api.js";
import {$, fill, h} from "./dom.js";
import {on, state} from "./state.js";

let visible = false;
let paused = false;
let timer = null;
let polls = 0;
let shownKey = "";
let shown = new Map();  // entry key -> its row
let generation = 0;  // a poll started before the filters changed is dropped

export function init() {
  on("partners", partnerChoices);
  for (const id of ["j-partner", "j-kind", "j-limit"]) $(id).addEventListener("change", restart);
  $("j-session").addEventListener("change", restart);
  $("j-interval").addEventListener("change", restart);
  $("j-form").addEventListener("submit", (event) => { event.preventDefault(); restart(); });
  $("j-pause").addEventListener("click", () => {
    paused = !paused;
    $("j-pause").setAttribute("aria-pressed", String(paused));
    $("j-pause").textContent = paused ? "Resume" : "Pause";
    restart();
  });
}

export function show() {
  visible = true;
  restart();
}

export function hide() {
  visible = false;
  generation += 1;
  clearTimeout(timer);
}

export function visibility(pageVisible) {
  if (pageVisible && visible) {
    restart();
  } else {
    generation += 1;
    clearTimeout(timer);
  }
}

function partnerChoices() {
  const select = $("j-partner");
  const chosen = select.value;
  fill(select, h("option", {value: ""}, "all"),
       state.partners.map((p) => h("option", {value: p.partner, selected: p.partner === chosen}, p.partner)));
}

function filters() {
  return {partner: $("j-partner").value, session: $("j-session").value.trim(), kind: $("j-kind").value};
}

function restart() {
  clearTimeout(timer);
  generation += 1;
  shownKey = "";
  if (visible && !document.hidden) poll();
}

async function poll() {
  clearTimeout(timer);
  const mine = generation;
  const wanted = filters();
  try {
    const {data} = await call("GET", "/imnot/admin/journal",
                              {query: {limit: $("j-limit").value, ...wanted}});
    if (mine !== generation) return;
    polls += 1;
    $("j-table").dataset.polls = String(polls);
    $("j-error").textContent = "";
    render(data, wanted);
  } catch (error) {
    if (mine !== generation) return;
    $("j-error").textContent = error.message;
  }
  if (visible && !paused && !document.hidden) {
    timer = setTimeout(poll, Number($("j-interval").value));
  }
}

// The server may filter already (newer versions do); filtering again costs nothing.
function keep(entry, wanted) {
  return (!wanted.partner || entry.partner === wanted.partner)
    && (!wanted.kind || entry.kind === wanted.kind)
    && (!wanted.session || entry.session === wanted.session);
}

function entryKey(e) {
  return `${e.at}|${e.request_id}|${e.method}|${e.url}`;
}

// Rows already on screen are kept and moved, so a busy journal adds only its new rows.
function render(entries, wanted) {
  const rows = entries.filter((e) => keep(e, wanted));
  const key = `${rows.length}|${rows[0] ? entryKey(rows[0]) : ""}`;
  $("j-info").textContent = `${rows.length} of the newest ${entries.length} requests`
    + `${paused ? " · paused" : ""} · checked ${new Date().toLocaleTimeString()}`;
  if (key === shownKey) return;
  shownKey = key;
  const next = new Map();
  for (const e of rows) {
    const k = entryKey(e);
    next.set(k, shown.get(k) || row(e));
  }
  shown = next;
  $("j-table").tBodies[0].replaceChildren(...next.values());
}

function row(e) {
  const time = new Date(e.at);
  const status = e.status ?? "–";
  const cls = e.status >= 500 || e.status === null ? "s5" : e.status >= 400 ? "s4" : "s2";
  return h("tr", {dataset: {kind: e.kind}},
    h("td", {class: "nowrap"}, Number.isNaN(time.getTime()) ? e.at
      : `${time.toLocaleTimeString(undefined, {hour12: false})}.${String(time.getMilliseconds()).padStart(3, "0")}`),
    h("td", {}, h("span", {class: `badge kind-${e.kind}`}, e.kind)),
    h("td", {}, h("span", {class: `status ${cls}`}, String(status))),
    h("td", {class: "url"}, h("span", {class: `method m-${e.method}`}, e.method), " ", e.url),
    h("td", {}, e.partner ? `${e.partner}/${e.datapoint || ""}${e.step ? ` ${e.step}` : ""}` : ""),
    h("td", {}, e.session ? h("code", {}, e.session) : ""),
    h("td", {class: "num"}, String(e.ms)),
    h("td", {class: "note"}, e.note || "",
      e.closest && e.closest.length && !String(e.note).includes("closest") ? h("small", {}, ` closest: ${e.closest.join(", ")}`) : null));
}
