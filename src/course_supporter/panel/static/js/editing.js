// Editing in place: a piece of text that becomes a field (click it, or Enter on it), Save and
// Cancel (Escape); and a delete button that asks once more before it deletes.
import { announce, h, message, replaceChildren } from "./dom.js";

export const CONFLICT_NOTICE =
  "Someone else changed this course; reloaded. Your text is still in the field: check the outline and save again.";
const HINT_ID = "edit-hint";
let fieldNumber = 0;

/** The hidden hint every editable text points at; the page holds it once. */
export function editHint() {
  return h("p", { id: HINT_ID, class: "visually-hidden" }, "Click or press Enter to edit.");
}

function asValue(kind, text) {
  if (kind === "list") return text.split("\n").map((line) => line.trim()).filter(Boolean);
  if (kind === "number") return Number(text);
  return text.trim();
}

function asText(kind, value) {
  if (kind === "list") return (value || []).join("\n");
  if (value === null || value === undefined) return "";
  return String(value);
}

function shown(kind, value, placeholder) {
  if (kind === "list") {
    return value && value.length ? h("ul", { class: "edit-list" }, value.map((line) => h("li", {}, line))) : h("span", { class: "placeholder" }, placeholder);
  }
  const text = asText(kind, value);
  return text ? text : h("span", { class: "placeholder" }, placeholder);
}

/**
 * One field of a structure item, editable in place.
 *
 * spec: {key (unique per item and field), label, value, kind: "line" | "text" | "list" |
 * "number", tag, className, save(value) → Promise (the write), onSaved(), onConflict(),
 * drafts (a Map: text kept across a re-render)}. A 412 keeps the typed text in `drafts` with
 * a notice and calls onConflict (which reloads the outline; the field opens again with the
 * text and the notice); any other refusal shows the API's message next to the field. An open
 * field keeps its text through any re-render of the outline (`keepOpenEditors`).
 */
export function editable(spec) {
  const { key, label, kind = "line", tag = "span", drafts } = spec;
  const holder = h(tag === "span" ? "span" : "div", { class: "editable-holder" });
  const display = h(
    tag,
    {
      class: `editable ${spec.className || ""}`.trim(),
      tabindex: 0,
      role: "button",
      "aria-describedby": HINT_ID,
      "data-edit-key": key,
      "data-field": spec.field || null,
      title: `Edit ${label.toLowerCase()}`,
    },
    shown(kind, spec.value, spec.placeholder || `No ${label.toLowerCase()} yet`),
  );

  function close() {
    drafts.delete(key);
    replaceChildren(holder, display);
    display.focus();
  }

  function open(text, notice) {
    fieldNumber += 1;
    const id = `edit-${fieldNumber}`;
    const field =
      kind === "line"
        ? h("input", { id, value: text, maxlength: 300, "aria-describedby": `${id}-status` })
        : kind === "number"
          ? h("input", { id, type: "number", min: 1, max: 5, step: 1, value: text, "aria-describedby": `${id}-status` })
          : h("textarea", { id, rows: kind === "list" ? 4 : 3, "aria-describedby": `${id}-status` });
    if (field.tagName === "TEXTAREA") field.value = text;
    const status = h("div", { id: `${id}-status`, class: "editor-status" });
    const saveButton = h("button", { type: "submit" }, "Save");
    const cancelButton = h("button", { type: "button", class: "secondary" }, "Cancel");
    const form = h(
      "form",
      { class: "editor", "data-editor-key": key, "aria-label": `Edit ${label.toLowerCase()}` },
      h("label", { for: id }, label),
      kind === "list" ? h("p", { class: "help small" }, "One per line.") : null,
      field,
      h("div", { class: "row" }, saveButton, cancelButton),
      status,
    );
    if (notice) replaceChildren(status, message(notice));
    cancelButton.addEventListener("click", close);
    form.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        close();
      }
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      saveButton.disabled = true;
      replaceChildren(status, message("Saving…", "info"));
      try {
        await spec.save(asValue(kind, field.value));
      } catch (error) {
        saveButton.disabled = false;
        if (error.status === 412) {
          drafts.set(key, { text: field.value, notice: CONFLICT_NOTICE });
          spec.onConflict();
          return;
        }
        replaceChildren(status, message(error.message));
        field.focus();
        return;
      }
      form.dataset.saved = "true";
      drafts.delete(key);
      announce(`${label} saved`);
      spec.onSaved();
    });
    replaceChildren(holder, form);
    field.focus();
  }

  display.addEventListener("click", () => open(asText(kind, spec.value)));
  display.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      open(asText(kind, spec.value));
    }
  });
  const draft = drafts.get(key);
  if (draft) open(draft.text, draft.notice);
  else holder.append(display);
  return holder;
}

/** Before `root` is drawn again: the text of every field still open goes into `drafts`. */
export function keepOpenEditors(root, drafts) {
  for (const form of root.querySelectorAll("form[data-editor-key]")) {
    if (form.dataset.saved || drafts.has(form.dataset.editorKey)) continue;
    const field = form.querySelector("input, textarea");
    drafts.set(form.dataset.editorKey, { text: field.value, notice: null });
  }
}

/** A Delete button that turns into "Delete for good" / "Keep"; `remove()` does the deleting. */
export function deleteButton(label, question, remove) {
  const box = h("span", { class: "confirm" });
  const button = h("button", { type: "button", class: "danger secondary small-button", "aria-label": `Delete ${label}` }, "Delete");
  box.append(button);
  button.addEventListener("click", () => {
    const yes = h("button", { type: "button", class: "danger small-button" }, "Delete for good");
    const no = h("button", { type: "button", class: "secondary small-button" }, "Keep");
    replaceChildren(box, h("span", {}, question), yes, no);
    no.focus();
    no.addEventListener("click", () => {
      replaceChildren(box, button);
      button.focus();
    });
    yes.addEventListener("click", async () => {
      yes.disabled = true;
      try {
        await remove();
      } catch (error) {
        replaceChildren(box, message(error.message), button);
      }
    });
  });
  return box;
}

/** The item's origin, small: generated, edited (by hand) or authored (made by hand). */
export function originBadge(origin) {
  const words = { generated: "generated", edited: "edited", authored: "authored" };
  return h("span", { class: `origin origin-${origin}`, "data-origin": origin, title: `Origin: ${origin}` }, words[origin] || origin);
}
