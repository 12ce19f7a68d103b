// Sessions, newest first, a page at a time (the API's Link header leads to the next page),
// with delete: one, or all after a second press.

import {call, nextLink} from "./api.js";
import {$, confirmButton, fill, formatTime, h, refocus} from "./dom.js";
import {emit} from "./state.js";

const PAGE = 50;
let nav = null;
let cursors = [null];  // the "after" of each page seen so far
let page = 0;
let next = null;

export function init(app) {
  nav = app;
  $("sessions-refresh").addEventListener("click", () => load(page));
  $("sessions-first").addEventListener("click", () => load(0));
  $("sessions-next").addEventListener("click", () => {
    if (next === null) return;
    cursors[page + 1] = next;
    load(page + 1);
  });
  $("sessions-actions").appendChild(confirmButton(
    "Delete all sessions", "Really delete every session? Press again", clearAll));
}

export function show() {
  load(page);
}

async function load(index, note = "") {
  $("sessions-error").textContent = "";
  try {
    const {data, headers} = await call("GET", "/imnot/admin/sessions",
                                       {query: {limit: PAGE, after: cursors[index]}});
    page = index;
    cursors = cursors.slice(0, index + 1);
    const link = nextLink(headers);
    next = link ? new URL(link, location.origin).searchParams.get("after") : null;
    const total = Number(headers.get("x-total-count") || data.length);
    render(data, total, note);
  } catch (error) {
    $("sessions-error").textContent = error.message;
  }
}

function render(rows, total, note) {
  const first = page * PAGE;
  $("sessions-info").textContent = note + (total === 0 ? "No sessions."
    : `Sessions ${first + (rows.length ? 1 : 0)}–${first + rows.length} of ${total}, newest first.`);
  $("sessions-next").disabled = next === null;
  $("sessions-first").disabled = page === 0;
  fill($("sessions-table").tBodies[0], rows.map((s) => h("tr", {dataset: {session: s.session_id}},
    h("td", {}, h("code", {}, s.session_id)),
    h("td", {}, `${s.partner}/${s.datapoint}`),
    h("td", {}, formatTime(s.created_at)),
    h("td", {}, formatTime(s.last_used)),
    h("td", {}, s.outcome || ""),
    h("td", {class: "actions"},
      h("button", {type: "button", class: "small",
        onclick: () => nav.go("tester", s.partner, s.datapoint, s.session_id)}, "Test with it"),
      h("button", {type: "button", class: "small danger", "aria-label": `Delete session ${s.session_id}`,
        onclick: (event) => remove(s.session_id, event.currentTarget)}, "Delete")))));
}

async function remove(sessionId, button) {
  const rows = $("sessions-table").tBodies[0];
  const index = [...rows.children].indexOf(button.closest("tr"));
  button.disabled = true;
  $("sessions-error").textContent = "";
  try {
    await call("DELETE", `/imnot/admin/sessions/${encodeURIComponent(sessionId)}`);
    emit("changed");
    await load(page, `Deleted session ${sessionId}. `);
    refocus(rows, index, "button.danger", $("sessions-h"));
  } catch (error) {
    $("sessions-error").textContent = error.message;
    button.disabled = false;
  }
}

async function clearAll() {
  $("sessions-error").textContent = "";
  try {
    const {data} = await call("DELETE", "/imnot/admin/sessions");
    cursors = [null];
    emit("changed");
    await load(0, `Deleted ${data.deleted} sessions. `);
  } catch (error) {
    $("sessions-error").textContent = error.message;
  }
}
