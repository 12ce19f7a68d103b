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

// A button that asks again before it acts: the first press arms it for a few seconds.
export function confirmButton(label, armedLabel, action, attrs = {}) {
  let timer = null;
  const button = h("button", {type: "button", class: "danger", ...attrs}, label);
  button.addEventListener("click", async () => {
    if (!button.classList.contains("armed")) {
      button.classList.add("armed");
      button.textContent = armedLabel;
      timer = setTimeout(() => { button.classList.remove("armed"); button.textContent = label; },
                         5000);
      return;
    }
    clearTimeout(timer);
    button.classList.remove("armed");
    button.textContent = label;
    button.disabled = true;
    try { await action(); } finally { button.disabled = false; }
  });
  return button;
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
