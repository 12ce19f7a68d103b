// The page's start: theme, sections (one shown at a time, chosen by the URL's #hash),
// sign-in, the status line, and the partner list the sections share.

import {call, onUnauthorized, setAdminKey, adminKey} from "./api.js";
import {$, plural} from "./dom.js";
import {loadPartners, on, state} from "./state.js";
import * as partners from "./partners.js";
import * as payloads from "./payloads.js";
import * as sessions from "./sessions.js";
import * as tester from "./tester.js";
import * as builder from "./builder.js";
import * as journal from "./journal.js";
import * as faults from "./faults.js";

const PANELS = {partners, payloads, sessions, tester, builder, journal, faults};
const THEME_KEY = "imnot.theme";
let current = null;
let signedIn = false;

function setupTheme() {
  const root = document.documentElement;
  const saved = localStorage.getItem(THEME_KEY);
  if (["dark", "light", "system"].includes(saved)) root.dataset.theme = saved;
  const select = $("theme");
  select.value = root.dataset.theme;
  select.addEventListener("change", () => {
    root.dataset.theme = select.value;
    localStorage.setItem(THEME_KEY, select.value);
  });
}

function panelName() {
  const name = location.hash.replace(/^#/, "").split("/")[0];
  return Object.hasOwn(PANELS, name) ? name : "partners";
}

// focus: the section was chosen (a link, a button, signing in), so the keyboard goes with it
// to its heading; what was pressed is left behind, or hidden with the section it was in.
function show(name, {focus = false} = {}) {
  if (!signedIn) return;
  if (current && current !== name && PANELS[current].hide) PANELS[current].hide();
  for (const key of Object.keys(PANELS)) $(`panel-${key}`).hidden = key !== name;
  $("panel-login").hidden = true;
  for (const link of document.querySelectorAll(".tabs a")) {
    if (link.dataset.panel === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const changed = current !== name;
  current = name;
  if (PANELS[name].show) PANELS[name].show(location.hash.split("/").slice(1));
  if (changed) document.title = `${$(`panel-${name}`).querySelector("h2").textContent} · imnot proxy`;
  if (focus) $(`${name}-h`).focus();
}

export function go(name, ...args) {
  const hash = `#${[name, ...args.map(encodeURIComponent)].join("/")}`;
  if (location.hash === hash) show(name, {focus: true});
  else location.hash = hash;
}

function askForKey(message) {
  signedIn = false;
  if (current && PANELS[current].hide) PANELS[current].hide();
  current = null;
  for (const key of Object.keys(PANELS)) $(`panel-${key}`).hidden = true;
  $("panel-login").hidden = false;
  $("login-error").textContent = message || "";
  $("sign-out").hidden = true;
  $("status-line").textContent = "Sign in to manage this proxy.";
  $("login-key").focus();
}

export async function refreshStatus() {
  try {
    const {data} = await call("GET", "/imnot/admin/status");
    state.status = data;
    const last = data.last_reload;
    const reload = last ? ` · last load ${new Date(last.at).toLocaleTimeString()} (${last.status})` : "";
    $("status-line").textContent = `imnot_proxy ${data.version} · ${plural(data.partners.length, "partner")}`
      + ` · ${plural(data.routes, "route")} · ${plural(data.sessions, "session")}${reload}`;
    return true;
  } catch (error) {
    if (error.status !== 401) $("status-line").textContent = error.message;
    return false;
  }
}

async function start({focus = false} = {}) {
  if (!(await refreshStatus())) return;
  signedIn = true;
  $("sign-out").hidden = !adminKey();
  try {
    await loadPartners();
  } catch (error) {
    $("partners-error").textContent = error.message;
  }
  show(panelName(), {focus});
}

function setupLogin() {
  $("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const key = $("login-key").value;
    try {
      await call("GET", "/imnot/admin/status", {key});
    } catch (error) {
      $("login-error").textContent = error.status === 401
        ? "Wrong key: the proxy answered 401 Unauthorized." : error.message;
      return;
    }
    setAdminKey(key);
    $("login-key").value = "";
    $("login-error").textContent = "";
    await start({focus: true});
  });
  $("sign-out").addEventListener("click", () => {
    setAdminKey("");
    askForKey("The key was forgotten in this tab.");
  });
  onUnauthorized(() => askForKey(adminKey()
    ? "The proxy refused the key (401 Unauthorized): it may have changed. Enter it again."
    : "This proxy needs its admin key."));
}

function init() {
  setupTheme();
  // Not through the URL: #main names no section, and would leave the one on screen.
  document.querySelector(".skip").addEventListener("click", (event) => {
    event.preventDefault();
    $("main").focus();
  });
  setupLogin();
  for (const panel of Object.values(PANELS)) panel.init({go, refreshStatus});
  on("changed", () => refreshStatus());
  window.addEventListener("hashchange", () => show(panelName(), {focus: true}));
  document.addEventListener("visibilitychange", () => {
    if (current && PANELS[current].visibility) PANELS[current].visibility(!document.hidden);
  });
  start();
}

init();
