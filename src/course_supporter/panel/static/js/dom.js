// Building the page: every piece of data goes in as a text node or an attribute, never as HTML.
const SVG_NS = "http://www.w3.org/2000/svg";

function fill(element, attrs, children) {
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2), value);
    } else if (value === true) {
      element.setAttribute(name, "");
    } else {
      element.setAttribute(name, String(value));
    }
  }
  append(element, children);
  return element;
}

export function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

/** An HTML element: `h("button", {type: "button", onclick: f}, "Text")`. */
export function h(tag, attrs, ...children) {
  return fill(document.createElement(tag), attrs, children);
}

/** An SVG element, for the cost chart. */
export function svg(tag, attrs, ...children) {
  return fill(document.createElementNS(SVG_NS, tag), attrs, children);
}

export function replaceChildren(element, ...children) {
  element.replaceChildren();
  return append(element, children);
}

/** Tell screen readers about a change that happened away from the focus. */
export function announce(message) {
  const announcer = document.getElementById("announcer");
  announcer.textContent = "";
  window.setTimeout(() => {
    announcer.textContent = message;
  }, 50);
}

/** A link only for http(s) addresses; anything else (javascript:, data:) stays plain text. */
export function safeLink(url, text) {
  let parsed = null;
  try {
    parsed = new URL(url);
  } catch {
    parsed = null;
  }
  if (parsed && (parsed.protocol === "http:" || parsed.protocol === "https:")) {
    return h("a", { href: parsed.href, rel: "noopener noreferrer", target: "_blank" }, text);
  }
  return h("span", {}, text);
}

export function formatBytes(bytes) {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const shown = unit === 0 || Number.isInteger(value) ? String(value) : value.toFixed(1);
  return `${shown} ${units[unit]}`;
}

export function formatDate(iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" });
}

/** A message box: role=alert for errors (read at once), role=status otherwise. */
export function message(text, kind = "error") {
  return h("p", { class: `message ${kind}`, role: kind === "error" ? "alert" : "status" }, text);
}
