// Text shown to the operator: control characters (ANSI escapes, NUL, ...) made visible and,
// for one-line cells, line breaks shown as a symbol so no record can break the layout.
// Everything is rendered by Vue as text, never as HTML.

const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u2028\u2029]/g;

// Caret notation (ESC is ^[) for C0 controls and DEL, \uXXXX for the rest: plain ASCII that
// every monospace and UI font can draw.
function visible(ch) {
  const code = ch.charCodeAt(0);
  if (code < 0x20) return "^" + String.fromCharCode(code + 0x40);
  if (code === 0x7f) return "^?";
  return "\\u" + code.toString(16).padStart(4, "0");
}

export function safeText(value) {
  if (value === null || value === undefined) return "";
  const text = typeof value === "string" ? value : String(value);
  return text.replace(CONTROL, visible);
}

export function oneLine(value, max = 400) {
  const text = safeText(value).replace(/\r\n|\r|\n/g, " \u23ce ").replace(/\t/g, " ");
  return text.length > max ? text.slice(0, max) + "\u2026" : text;
}

export function prettyJson(value) {
  if (value === null || value === undefined) return "";
  try {
    return safeText(JSON.stringify(value, null, 2));
  } catch {
    return safeText(String(value));
  }
}

export function shortTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return safeText(iso);
  return d.toISOString().slice(11, 23);
}

export function fullTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return safeText(iso);
  return d.toISOString().replace("T", " ").replace("Z", " UTC");
}
