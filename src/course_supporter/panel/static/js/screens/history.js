// The structure's versions: who made each and when, which is published; read one, compare
// two (added, removed, changed field by field, moved), restore one as a new version, publish.
import * as api from "../api.js";
import { announce, formatDate, h, message, replaceChildren } from "../dom.js";

const KIND_TEXT = {
  generated: "Generated",
  regenerated: "Regenerated",
  edited: "Edited",
  restored: "Restored",
};
const FIELD_TEXT = {
  title: "title",
  description: "description",
  learning_goal: "learning goal",
  definition: "definition",
  examples: "examples",
  reference_solution: "reference solution",
  criteria: "criteria",
  difficulty: "difficulty",
  max_points: "points",
  origin: "origin",
};

function shownValue(value) {
  if (value === null || value === undefined || value === "") return "(empty)";
  if (Array.isArray(value)) {
    if (!value.length) return "(none)";
    return value.map((item) => (typeof item === "object" ? JSON.stringify(item) : String(item))).join("; ");
  }
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function itemName(item) {
  return `${item.kind} “${item.title}”`;
}

/** The diff as four lists a person reads; each change shows the old and the new value. */
export function renderDiff(diff, titles) {
  const section = (title, items, render) =>
    items.length
      ? h("section", { class: `diff-part diff-${title.toLowerCase()}` }, h("h4", {}, `${title} (${items.length})`), h("ul", {}, items.map(render)))
      : null;
  const parentName = (id) => (id && titles.get(id) ? `“${titles.get(id)}”` : "another place");
  const parts = [
    section("Added", diff.added, (item) => h("li", {}, itemName(item))),
    section("Removed", diff.removed, (item) => h("li", {}, itemName(item))),
    section("Changed", diff.changed, (item) =>
      h(
        "li",
        {},
        itemName(item),
        h(
          "dl",
          { class: "diff-fields" },
          item.changes.map((change) => [
            h("dt", {}, FIELD_TEXT[change.field] || change.field.replaceAll("_", " ")),
            h("dd", {}, h("del", { "aria-label": "was" }, shownValue(change.old)), " → ", h("ins", { "aria-label": "now" }, shownValue(change.new))),
          ]),
        ),
      ),
    ),
    section("Moved", diff.moved, (item) =>
      h(
        "li",
        {},
        itemName(item),
        item.old_parent_id !== item.new_parent_id
          ? `: from ${parentName(item.old_parent_id)} to ${parentName(item.new_parent_id)}, position ${item.new_position}`
          : `: from position ${item.old_position} to ${item.new_position}`,
      ),
    ),
  ].filter(Boolean);
  return h(
    "div",
    { class: "diff", "aria-live": "polite" },
    h("h3", {}, `From version ${diff.from_version} to version ${diff.to_version}`),
    parts.length ? parts : h("p", {}, "No differences."),
  );
}

function titlesOf(structure) {
  const titles = new Map();
  for (const module of structure.modules || []) {
    titles.set(module.id, module.title);
    for (const lesson of module.lessons || []) titles.set(lesson.id, lesson.title);
  }
  return titles;
}

/** A version's structure, read-only: modules, lessons, concepts and exercises. */
function readOnlyOutline(structure) {
  return h(
    "ol",
    { class: "modules read-only" },
    (structure.modules || []).map((module) =>
      h(
        "li",
        { class: "module" },
        h("h4", {}, module.title),
        h(
          "ol",
          { class: "lessons" },
          (module.lessons || []).map((lesson) =>
            h(
              "li",
              { class: "lesson" },
              h("h5", {}, lesson.title),
              lesson.concepts && lesson.concepts.length
                ? h("ul", { "aria-label": `Concepts of ${lesson.title}` }, lesson.concepts.map((concept) => h("li", {}, h("strong", {}, concept.title), ": ", concept.definition)))
                : null,
              lesson.exercises && lesson.exercises.length
                ? h("ul", { "aria-label": `Exercises of ${lesson.title}` }, lesson.exercises.map((exercise) => h("li", {}, `Exercise: ${exercise.description}`)))
                : null,
            ),
          ),
        ),
      ),
    ),
  );
}

/** `historySection(courseId, changed)` → {element, refresh()}; `changed()` reloads the course. */
export function historySection(courseId, changed) {
  const rows = h("tbody");
  const status = h("div");
  const fromSelect = h("select", { id: "diff-from" });
  const toSelect = h("select", { id: "diff-to" });
  const compareButton = h("button", { type: "submit" }, "Compare");
  const result = h("div", { class: "version-result", tabindex: -1 });
  const table = h(
    "table",
    { class: "versions" },
    h("caption", { class: "visually-hidden" }, "Versions of the structure, newest first"),
    h(
      "thead",
      {},
      h("tr", {}, ["Version", "Kind", "By", "When", "Published", "Actions"].map((name) => h("th", { scope: "col" }, name))),
    ),
    rows,
  );
  const diffForm = h(
    "form",
    { class: "diff-form", "aria-label": "Compare two versions" },
    h("div", { class: "row" },
      h("span", {}, h("label", { for: "diff-from" }, "From version"), fromSelect),
      h("span", {}, h("label", { for: "diff-to" }, "To version"), toSelect),
      compareButton,
    ),
  );
  diffForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const a = fromSelect.value;
    const b = toSelect.value;
    try {
      const [diff, newer] = await Promise.all([
        api.get(`/courses/${courseId}/versions/${a}/diff/${b}`),
        api.get(`/courses/${courseId}/versions/${b}`),
      ]);
      replaceChildren(result, renderDiff(diff, titlesOf(newer.structure)));
      result.focus();
    } catch (error) {
      replaceChildren(result, message(error.message));
    }
  });

  async function view(number) {
    try {
      const version = await api.get(`/courses/${courseId}/versions/${number}`);
      const close = h("button", { type: "button", class: "secondary" }, "Close");
      close.addEventListener("click", () => replaceChildren(result));
      replaceChildren(
        result,
        h(
          "div",
          { class: "version-view", "data-version": number },
          h("h3", {}, `Version ${number} (${KIND_TEXT[version.kind] || version.kind}), read-only`),
          readOnlyOutline(version.structure),
          close,
        ),
      );
      result.focus();
    } catch (error) {
      replaceChildren(result, message(error.message));
    }
  }

  function actions(version) {
    const box = h("span", { class: "confirm" });
    const viewButton = h("button", { type: "button", class: "secondary small-button", "aria-label": `View version ${version.number}` }, "View");
    const restoreButton = h("button", { type: "button", class: "secondary small-button", "aria-label": `Restore version ${version.number}` }, "Restore");
    const publishButton = h("button", { type: "button", class: "secondary small-button", "aria-label": `Publish version ${version.number}` }, "Publish");
    publishButton.disabled = version.published;
    viewButton.addEventListener("click", () => view(version.number));
    publishButton.addEventListener("click", async () => {
      publishButton.disabled = true;
      try {
        await api.post(`/courses/${courseId}/publication`, { version: version.number });
        announce(`Version ${version.number} is published`);
        await changed();
      } catch (error) {
        replaceChildren(status, message(error.message));
        publishButton.disabled = false;
      }
    });
    restoreButton.addEventListener("click", () => {
      const yes = h("button", { type: "button", class: "small-button" }, `Restore version ${version.number} for good`);
      const no = h("button", { type: "button", class: "secondary small-button" }, "Keep the draft");
      replaceChildren(box, h("span", {}, "The draft becomes this version again (as a new version). "), yes, no);
      no.focus();
      no.addEventListener("click", () => {
        replaceChildren(box);
        restoreButton.focus();
      });
      yes.addEventListener("click", async () => {
        yes.disabled = true;
        try {
          const restored = await api.post(`/courses/${courseId}/versions/${version.number}/restore`);
          replaceChildren(status, message(`Version ${version.number} restored as version ${restored.number}.`, "info"));
          announce(`Version ${version.number} restored`);
          await changed();
        } catch (error) {
          replaceChildren(box, message(error.message));
        }
      });
    });
    return h("td", { class: "version-actions" }, h("span", { class: "row" }, viewButton, restoreButton, publishButton), box);
  }

  async function refresh() {
    let page;
    try {
      page = await api.get(`/courses/${courseId}/versions?limit=100`);
    } catch (error) {
      replaceChildren(status, message(error.message));
      return;
    }
    const versions = page.items;
    element.hidden = versions.length === 0;
    replaceChildren(
      rows,
      versions.map((version) =>
        h(
          "tr",
          { "data-version": version.number, "data-kind": version.kind },
          h("td", {}, String(version.number)),
          h("td", {}, KIND_TEXT[version.kind] || version.kind),
          h("td", {}, version.key_prefix ? `${version.key_prefix}…` : "—"),
          h("td", {}, formatDate(version.created_at)),
          h("td", {}, version.published ? h("span", { class: "badge published" }, "Published") : ""),
          actions(version),
        ),
      ),
    );
    const options = (selected) =>
      versions.map((version) => {
        const option = h("option", { value: version.number }, `${version.number} · ${KIND_TEXT[version.kind] || version.kind}`);
        option.selected = version.number === selected;
        return option;
      });
    const newest = versions[0] ? versions[0].number : null;
    const previous = versions[1] ? versions[1].number : newest;
    replaceChildren(fromSelect, options(previous));
    replaceChildren(toSelect, options(newest));
    compareButton.disabled = versions.length < 2;
  }

  const element = h(
    "section",
    { class: "card", "aria-labelledby": "history-title", hidden: true },
    h("h2", { id: "history-title" }, "Version history"),
    status,
    h("div", { class: "table-scroll" }, table),
    diffForm,
    result,
  );
  return { element, refresh };
}
