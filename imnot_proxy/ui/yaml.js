// A small YAML writer for the Partner Builder: block mappings and lists, and scalars that
// read back as exactly the value written (anything not plainly safe is double-quoted with
// JSON escapes, which YAML reads the same way). No DOM here, so it runs under node too.

const PLAIN = /^[A-Za-z_/][A-Za-z0-9_\-./{} ]*$/;
const RESERVED = /^(true|false|yes|no|on|off|null|y|n)$/i;
// Characters YAML readers fold or refuse inside quotes, written as \u escapes.
const UNSAFE = /[\u007f-\u009f\u2028\u2029\ufeff\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

export function quote(text) {
  return JSON.stringify(text).replace(
    UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

export function scalar(value) {
  if (value === null || value === undefined) return "null";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number") {
    if (!Number.isFinite(value)) return quote(String(value));
    const text = String(value);
    return /e/.test(text) && !/\./.test(text) ? text.replace("e", ".0e") : text;
  }
  if (Array.isArray(value)) return "[]";
  if (typeof value === "object") return "{}";
  const text = String(value);
  if (PLAIN.test(text) && !RESERVED.test(text) && text === text.trim()) return text;
  return quote(text);
}

function isLeaf(value) {
  if (value === null || typeof value !== "object") return true;
  return Array.isArray(value) ? value.length === 0 : Object.keys(value).length === 0;
}

function lines(value, indent) {
  const pad = " ".repeat(indent);
  if (isLeaf(value)) return [pad + scalar(value)];
  const out = [];
  if (Array.isArray(value)) {
    for (const item of value) {
      if (isLeaf(item)) {
        out.push(`${pad}- ${scalar(item)}`);
      } else {
        const inner = lines(item, indent + 2);
        out.push(`${pad}- ${inner[0].slice(indent + 2)}`, ...inner.slice(1));
      }
    }
    return out;
  }
  for (const [key, item] of Object.entries(value)) {
    if (item === undefined) continue;
    if (isLeaf(item)) out.push(`${pad}${scalar(key)}: ${scalar(item)}`);
    else out.push(`${pad}${scalar(key)}:`, ...lines(item, indent + 2));
  }
  return out;
}

// YAML text for a JSON-like value, ending with a newline.
export function dump(value) {
  return lines(value, 0).join("\n") + "\n";
}
