// Building the page's elements. Text always goes in as text (textContent or a text node),
// never as markup: nothing from a partner file, a payload or a request can become HTML.

export function $(id) {
  const found = document.getElementById(id);
  if (!found) throw new Error(`no element #${id}`);
  return found;
}

// h("button", {class: "x", onclick: fn, disabled: true}, "text", child, [more children])
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2), value);
    } else if (name === "class") {
      el.className = value;
    } else if (name === "for") {
      el.htmlFor = value;
    } else if (name === "dataset") {
      Object.assign(el.dataset, value);
    } else if (name === "value") {
      el.value = value;
    } else if (name === "checked" || name === "selected") {
      el[name] = Boolean(value);
    } else {
      el.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function fill(el, ...children) {
  clear(el);
  append(el, children);
  return el;
}

// A labelled form control: h("label") around the text and the control.
export function field(label, control, hint) {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 10)}`;
  control.id = id;
  return h("div", {class: "field"}, h("label", {for: id}, label), control,
           hint ? h("small", {class: "hint"}, hint) : null);
}

export function options(select, values, selected) {
  clear(select);
  for (const item of values) {
    const [value, text] = Array.isArray(item) ? item : [item, item];
    select.appendChild(h("option", {value, selected: value === selected}, text));
  }
  return select;
}

// "1 route", "2 routes"
export function plural(n, noun) {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

export function formatTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleString();
}

// A button that asks again before it acts: the first press arms it for a few seconds;
// Escape (or the time running out) disarms it.
export function confirmButton(label, armedLabel, action, attrs = {}) {
  let timer = null;
  const button = h("button", {type: "button", class: "danger", ...attrs}, label);
  const disarm = () => {
    clearTimeout(timer);
    button.classList.remove("armed");
    button.textContent = label;
  };
  button.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && button.classList.contains("armed")) {
      event.preventDefault();
      disarm();
    }
  });
  button.addEventListener("click", async () => {
    if (!button.classList.contains("armed")) {
      button.classList.add("armed");
      button.textContent = armedLabel;
      timer = setTimeout(disarm, 5000);
      return;
    }
    disarm();
    await whileBusy(button, action);
  });
  return button;
}

// Disable a button while its action runs. A disabled button loses focus, and the keyboard
// would start again from the top of the page: the button gets it back when it is done.
export async function whileBusy(button, action) {
  const focused = document.activeElement === button;
  button.disabled = true;
  try {
    return await action();
  } finally {
    button.disabled = false;
    if (focused && button.isConnected && focusLost()) button.focus();
  }
}

export function focusLost() {
  return !document.activeElement || document.activeElement === document.body;
}

// After a row or card was removed (and the list drawn again), the keyboard goes on from
// there: to the same control in the item now at its place (or the last one), else to
// `fallback`. Nothing moves if focus is somewhere already.
export function refocus(list, index, selector, fallback) {
  if (!focusLost()) return;
  const items = list.children;
  const item = items.length ? items[Math.min(index, items.length - 1)] : null;
  const target = item && item.querySelector(selector);
  (target || fallback).focus();
}

// Copy text to the clipboard where the page may (HTTPS or localhost); else select it.
export function copyButton(getText, target) {
  return h("button", {type: "button", class: "small", onclick: async (event) => {
    const button = event.currentTarget;
    try {
      await navigator.clipboard.writeText(getText());
      button.textContent = "Copied";
    } catch {
      const range = document.createRange();
      range.selectNodeContents(target);
      const selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      button.textContent = "Selected: press Ctrl+C";
    }
    setTimeout(() => { button.textContent = "Copy"; }, 2500);
  }}, "Copy");
}
