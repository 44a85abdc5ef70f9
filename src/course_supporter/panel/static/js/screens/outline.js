// The course's structure as an outline the author corrects: fields edited in place, lessons,
// concepts and exercises added and deleted, modules, lessons and concepts reordered by drag and
// drop or with Move up / Move down (Alt+Arrow), one module or lesson regenerated with
// instructions. Every write carries the structure's ETag; a 412 reloads and keeps the text.
import * as api from "../api.js";
import { announce, append, h, message, replaceChildren } from "../dom.js";
import { deleteButton, editHint, editable, keepOpenEditors, originBadge } from "../editing.js";
import { watchJob } from "../live.js";
import { conceptReferences, lessonReferences } from "../references.js";
import { exercisePanel } from "./mentoring.js";

const PLURAL = { module: "modules", lesson: "lessons", concept: "concepts", exercise: "exercises" };
const PARENT_KIND = { lesson: "module", concept: "lesson" };
const PARENT_FIELD = { lesson: "module_id", concept: "lesson_id" };
const MAX_INSTRUCTIONS = 2000;
let formNumber = 0;

/**
 * `outlineEditor({courseId, materials, stops, onReviewed, reload})` → {element, show(course)}.
 * `reload()` fetches the course again and calls `show` with it.
 */
export function outlineEditor({ courseId, materials, stops, onReviewed, reload }) {
  const drafts = new Map();
  const status = h("div", { class: "outline-status" });
  const jobStatus = h("div", { class: "job-status regen-status" });
  const tree = h("div", { class: "outline" });
  let course = null;
  let dragging = null;
  let focusAfter = null;

  const etag = () => api.structureTag(course && course.version);

  async function write(method, path, body) {
    const options = { ifMatch: etag() };
    if (method === "DELETE") return api.remove(path, options);
    if (method === "PATCH") return api.patch(path, body, options);
    return api.post(path, body, options);
  }

  /** A write of the outline's own (a move, an add, a delete): its refusal shows above it. */
  async function change(method, path, body, done) {
    try {
      await write(method, path, body);
      replaceChildren(status);
      if (done) announce(done);
    } catch (error) {
      if (error.status === 412) {
        replaceChildren(status, message("Someone else changed this course; reloaded. Try again on what is there now."));
      } else {
        replaceChildren(status, message(error.message));
      }
    }
    await reload();
  }

  function field(item, kind, name, label, options = {}) {
    return editable({
      key: `${item.id}/${name}`,
      field: name,
      label,
      value: item[name],
      drafts,
      ...options,
      save: (value) => write("PATCH", `/courses/${courseId}/${PLURAL[kind]}/${item.id}`, { [name]: value }),
      onSaved: () => {
        focusAfter = `[data-edit-key="${item.id}/${name}"]`;
        reload();
      },
      onConflict: () => {
        focusAfter = `[data-editor-key="${item.id}/${name}"] input, [data-editor-key="${item.id}/${name}"] textarea`;
        reload();
      },
    });
  }

  // ------------------------------------------------------------ moving items
  function siblingsOf(kind, parent) {
    if (kind === "module") return course.structure.modules;
    if (kind === "lesson") return parent.lessons;
    return parent.concepts;
  }

  function parentOf(kind, id) {
    for (const module of course.structure.modules) {
      if (kind === "module" && module.id === id) return null;
      for (const lesson of module.lessons) {
        if (kind === "lesson" && lesson.id === id) return module;
        if (kind === "concept" && lesson.concepts.some((concept) => concept.id === id)) return lesson;
      }
    }
    return null;
  }

  /** Move an item to `position` (1 = first) under `parent`; the focus then goes to `focus`. */
  function move(kind, id, parent, position, title, focus = `[data-move-id="${id}"]`) {
    const body = { position };
    const current = parentOf(kind, id);
    if (parent && current && parent.id !== current.id) body[PARENT_FIELD[kind]] = parent.id;
    focusAfter = focus;
    return change("PATCH", `/courses/${courseId}/${PLURAL[kind]}/${id}`, body, `${title} moved`);
  }

  /** Up or down by one; a lesson at the edge of its module goes to the neighbouring module. */
  function step(kind, item, parent, delta) {
    const siblings = siblingsOf(kind, parent);
    const index = siblings.findIndex((sibling) => sibling.id === item.id);
    const title = item.title;
    const focus = delta < 0 ? `[data-move-id="${item.id}"]` : `[data-move-id="${item.id}"] ~ [data-move="down"]`;
    if (index + delta >= 0 && index + delta < siblings.length) {
      return move(kind, item.id, parent, index + delta + 1, title, focus);
    }
    if (kind !== "lesson") return Promise.resolve();
    const modules = course.structure.modules;
    const neighbour = modules[modules.indexOf(parent) + delta];
    if (!neighbour) return Promise.resolve();
    return move(kind, item.id, neighbour, delta < 0 ? neighbour.lessons.length + 1 : 1, title, focus);
  }

  function canStep(kind, item, parent, delta) {
    const siblings = siblingsOf(kind, parent);
    const index = siblings.findIndex((sibling) => sibling.id === item.id);
    if (index + delta >= 0 && index + delta < siblings.length) return true;
    if (kind !== "lesson") return false;
    const modules = course.structure.modules;
    return Boolean(modules[modules.indexOf(parent) + delta]);
  }

  function moveControls(kind, item, parent) {
    const name = item.title;
    const up = h("button", { type: "button", class: "secondary small-button", "aria-label": `Move ${kind} ${name} up`, "data-move-id": item.id, "data-move": "up" }, "Move up");
    const down = h("button", { type: "button", class: "secondary small-button", "aria-label": `Move ${kind} ${name} down`, "data-move": "down" }, "Move down");
    up.disabled = !canStep(kind, item, parent, -1);
    down.disabled = !canStep(kind, item, parent, 1);
    up.addEventListener("click", () => step(kind, item, parent, -1));
    down.addEventListener("click", () => step(kind, item, parent, 1));
    return h("span", { class: "move-controls" }, up, down);
  }

  /** The drag handle and the drop logic of one movable item (module, lesson or concept). */
  function movable(element, kind, item, parent) {
    element.dataset.kind = kind;
    element.dataset.id = item.id;
    const handle = h("span", { class: "drag-handle", draggable: "true", "aria-hidden": "true", title: `Drag to move this ${kind}`, "data-drag-id": item.id }, "⠿");
    handle.addEventListener("dragstart", (event) => {
      dragging = { kind, id: item.id, title: item.title };
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", item.title);
      event.dataTransfer.setDragImage(element, 12, 12);
      element.classList.add("dragged");
    });
    handle.addEventListener("dragend", () => {
      element.classList.remove("dragged");
      dragging = null;
      clearDropMarks();
    });
    element.addEventListener("keydown", (event) => {
      if (!event.altKey || (event.key !== "ArrowUp" && event.key !== "ArrowDown")) return;
      if (event.target.closest("[data-kind]") !== element || event.target.closest("form")) return;
      event.preventDefault();
      event.stopPropagation();
      step(kind, item, parent, event.key === "ArrowUp" ? -1 : 1);
    });
    const target = (event) => {
      if (!dragging) return null;
      if (dragging.kind === kind && dragging.id !== item.id) {
        const box = element.getBoundingClientRect();
        return { before: event.clientY < box.top + box.height / 2 };
      }
      if (PARENT_KIND[dragging.kind] === kind) return { into: true };
      return null;
    };
    element.addEventListener("dragover", (event) => {
      const place = target(event);
      if (!place) return;
      event.preventDefault();
      event.stopPropagation();
      event.dataTransfer.dropEffect = "move";
      clearDropMarks();
      element.classList.add(place.into ? "drop-into" : place.before ? "drop-before" : "drop-after");
    });
    element.addEventListener("drop", (event) => {
      const place = target(event);
      if (!place) return;
      event.preventDefault();
      event.stopPropagation();
      const moving = dragging;
      clearDropMarks();
      if (place.into) {
        const children = siblingsOf(moving.kind, item).filter((child) => child.id !== moving.id);
        move(moving.kind, moving.id, item, children.length + 1, moving.title);
        return;
      }
      const siblings = siblingsOf(kind, parent).filter((sibling) => sibling.id !== moving.id);
      const index = siblings.findIndex((sibling) => sibling.id === item.id);
      move(kind, moving.id, parent, index + (place.before ? 1 : 2), moving.title);
    });
    return handle;
  }

  function clearDropMarks() {
    for (const marked of tree.querySelectorAll(".drop-before, .drop-after, .drop-into")) {
      marked.classList.remove("drop-before", "drop-after", "drop-into");
    }
  }

  // ------------------------------------------------------------ adding and regenerating
  function addForm(summary, fields, submit) {
    formNumber += 1;
    const inputs = fields.map(([name, label, multiline]) => {
      const id = `add-${formNumber}-${name}`;
      const input = multiline
        ? h("textarea", { id, name, rows: 3, required: true })
        : h("input", { id, name, required: true, maxlength: 300 });
      return [name, h("label", { for: id }, label), input];
    });
    const formStatus = h("div");
    const form = h(
      "form",
      { class: "add-form" },
      inputs.map(([, label, input]) => [label, input]),
      h("button", { type: "submit" }, summary),
      formStatus,
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const values = Object.fromEntries(inputs.map(([name, , input]) => [name, input.value.trim()]));
      try {
        await submit(values);
        announce(`${summary}: done`);
        await reload();
      } catch (error) {
        if (error.status === 412) {
          replaceChildren(formStatus, message("Someone else changed this course; reloaded. Try again on what is there now."));
          await reload();
        } else {
          replaceChildren(formStatus, message(error.message));
        }
      }
    });
    return h("details", { class: "add" }, h("summary", {}, summary), form);
  }

  function regenerateForm(part, item) {
    formNumber += 1;
    const id = `instructions-${formNumber}`;
    const instructions = h("textarea", { id, rows: 3, maxlength: MAX_INSTRUCTIONS, "aria-describedby": `${id}-count` });
    const count = h("p", { id: `${id}-count`, class: "help small" }, `0 / ${MAX_INSTRUCTIONS} characters`);
    const button = h("button", { type: "submit" }, `Regenerate ${part}`);
    instructions.addEventListener("input", () => {
      const used = [...instructions.value].length;
      count.textContent = `${used} / ${MAX_INSTRUCTIONS} characters`;
      button.disabled = used > MAX_INSTRUCTIONS;
    });
    const form = h(
      "form",
      { class: "regenerate-form" },
      h("label", { for: id }, "Instructions for the model (optional)"),
      instructions,
      count,
      h("p", { class: "help small" }, "Only this " + part + " is generated again; edited and authored items are kept."),
      button,
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      button.disabled = true;
      await regenerate(part, item, instructions.value);
      button.disabled = false;
    });
    return h("details", { class: "regenerate" }, h("summary", {}, `Regenerate this ${part}…`), form);
  }

  async function regenerate(part, item, instructions) {
    const name = `${part} “${item.title}”`;
    replaceChildren(jobStatus, h("p", { class: "job job-queued", "data-job-status": "queued" }, `Regenerating the ${name}: queued…`));
    jobStatus.scrollIntoView({ block: "nearest" });
    let accepted;
    try {
      accepted = await api.post(`/courses/${courseId}/${PLURAL[part]}/${item.id}/regenerate`, { instructions });
    } catch (error) {
      replaceChildren(jobStatus, message(error.message));
      return;
    }
    await new Promise((resolve) => {
      const stop = watchJob(accepted.job_id, (job, error) => {
        if (error) {
          replaceChildren(jobStatus, message(error.message));
          resolve();
          return;
        }
        showRegeneration(name, job);
        if (job.status === "succeeded" || job.status === "failed") {
          if (job.status === "succeeded") announce(`The ${name} is regenerated`);
          reload().then(resolve);
        }
      });
      stops.add(stop);
    });
  }

  function showRegeneration(name, job) {
    const progress = job.progress;
    const running = job.status === "queued" || job.status === "running";
    const words = {
      queued: `Regenerating the ${name}: queued…`,
      running: `Regenerating the ${name}${progress && progress.phase ? ` (${progress.phase})` : ""}…`,
      succeeded: `The ${name} is regenerated`,
      failed: `Regenerating the ${name} failed: ${job.error || "no reason given"}`,
    };
    const result = job.result || {};
    const notes = [];
    if (job.status === "succeeded") {
      notes.push(`Version ${result.version}: ${result.lessons} lessons, ${result.concepts} concepts, ${result.exercises} exercises in the course.`);
      if (result.instructions) notes.push(`The instructions were ${result.instructions}.`);
      else notes.push("No instructions were given.");
    }
    const bar = running
      ? progress && progress.total
        ? h("progress", { max: progress.total, value: progress.done, "aria-label": `Regeneration of the ${name}` })
        : h("progress", { "aria-label": `Regeneration of the ${name}` })
      : null;
    replaceChildren(
      jobStatus,
      h("p", { class: `job job-${job.status}`, "data-job-status": job.status, role: job.status === "failed" ? "alert" : null }, words[job.status] + "."),
      notes.map((note) => h("p", { class: "job-note" }, note)),
      bar,
    );
  }

  // ------------------------------------------------------------ the items
  function itemHeader(kind, item, parent, title, extra) {
    return h(
      "div",
      { class: "item-head" },
      title,
      originBadge(item.origin),
      h("span", { class: "item-actions" }, moveControls(kind, item, parent), extra),
    );
  }

  function conceptItem(concept, lesson) {
    const element = h("li", { class: "concept", "data-origin": concept.origin });
    const handle = movable(element, "concept", concept, lesson);
    const refs = conceptReferences(materials, concept);
    const remove = deleteButton(`concept ${concept.title}`, "Delete this concept? ", () =>
      change("DELETE", `/courses/${courseId}/concepts/${concept.id}`, undefined, `Concept ${concept.title} deleted`),
    );
    append(element, [
      itemHeader("concept", concept, lesson, h("span", { class: "concept-title-line" }, handle, field(concept, "concept", "title", "Concept title", { className: "concept-title" })), remove),
      h("div", { class: "concept-body" }, field(concept, "concept", "definition", "Definition", { kind: "text", tag: "p" })),
      h("div", { class: "concept-examples" }, h("span", { class: "field-name" }, "Examples"), field(concept, "concept", "examples", "Examples", { kind: "list", tag: "div" })),
      refs.length ? h("ul", { class: "refs", "aria-label": `Where ${concept.title} is explained` }, refs) : null,
    ]);
    return element;
  }

  function exerciseItem(exercise, lesson) {
    const remove = deleteButton(`exercise ${exercise.description.slice(0, 60)}`, "Delete this exercise? ", () =>
      change("DELETE", `/courses/${courseId}/exercises/${exercise.id}`, undefined, "Exercise deleted"),
    );
    return h(
      "li",
      { class: "exercise", "data-id": exercise.id, "data-origin": exercise.origin },
      h("div", { class: "item-head" }, field(exercise, "exercise", "description", "Exercise description", { kind: "text", tag: "p", className: "exercise-description" }), originBadge(exercise.origin), h("span", { class: "item-actions" }, remove)),
      h(
        "dl",
        { class: "exercise-fields" },
        h("dt", {}, "Reference solution"),
        h("dd", {}, field(exercise, "exercise", "reference_solution", "Reference solution", { kind: "text", tag: "p" })),
        h("dt", {}, "Criteria"),
        h("dd", {}, field(exercise, "exercise", "criteria", "Criteria", { kind: "list", tag: "div" })),
        h("dt", {}, "Difficulty (1–5)"),
        h("dd", {}, field(exercise, "exercise", "difficulty", "Difficulty (1–5)", { kind: "number" })),
      ),
      exercisePanel(exercise, materials, stops, onReviewed),
    );
  }

  function lessonItem(lesson, module) {
    const element = h("li", { class: "lesson", "data-origin": lesson.origin });
    const handle = movable(element, "lesson", lesson, module);
    const lessonRefs = lessonReferences(materials, lesson);
    const remove = deleteButton(`lesson ${lesson.title}`, "Delete this lesson with its concepts and exercises? ", () =>
      change("DELETE", `/courses/${courseId}/lessons/${lesson.id}`, undefined, `Lesson ${lesson.title} deleted`),
    );
    append(element, [
      itemHeader("lesson", lesson, module, h("h4", { class: "lesson-title" }, handle, field(lesson, "lesson", "title", "Lesson title")), remove),
      lessonRefs.length ? h("ul", { class: "refs", "aria-label": `Sources of ${lesson.title}` }, lessonRefs) : null,
      h("h5", {}, "Concepts"),
      h("ol", { class: "concepts" }, lesson.concepts.map((concept) => conceptItem(concept, lesson))),
      addForm("Add a concept", [["title", "Concept title"], ["definition", "Definition", true]], (values) =>
        write("POST", `/courses/${courseId}/concepts`, { lesson_id: lesson.id, ...values }),
      ),
      h("h5", {}, "Exercises"),
      h("ol", { class: "exercises" }, lesson.exercises.map((exercise) => exerciseItem(exercise, lesson))),
      addForm("Add an exercise", [["description", "Exercise description", true]], (values) =>
        write("POST", `/courses/${courseId}/exercises`, { lesson_id: lesson.id, ...values }),
      ),
      regenerateForm("lesson", lesson),
    ]);
    return element;
  }

  function moduleItem(module) {
    const element = h("li", { class: "module", "data-origin": module.origin });
    const handle = movable(element, "module", module, null);
    append(element, [
      itemHeader("module", module, null, h("h3", { class: "module-title" }, handle, field(module, "module", "title", "Module title"))),
      h("div", { class: "module-fields" },
        h("span", { class: "field-name" }, "Description"),
        field(module, "module", "description", "Module description", { kind: "text", tag: "p", className: "muted" }),
        h("span", { class: "field-name" }, "Learning goal"),
        field(module, "module", "learning_goal", "Learning goal", { kind: "text", tag: "p", className: "muted" }),
      ),
      h("ol", { class: "lessons" }, module.lessons.map((lesson) => lessonItem(lesson, module))),
      addForm("Add a lesson", [["title", "Lesson title"]], (values) =>
        write("POST", `/courses/${courseId}/lessons`, { module_id: module.id, ...values }),
      ),
      regenerateForm("module", module),
    ]);
    return element;
  }

  function show(shownCourse) {
    course = shownCourse;
    keepOpenEditors(tree, drafts);
    const structure = course.structure;
    if (!structure) {
      replaceChildren(tree, message("No structure yet: add materials, then generate.", "info"));
      return;
    }
    replaceChildren(
      tree,
      h("p", { class: "muted" }, `Version ${structure.version}, ${structure.strategy} strategy. Click a text (or press Enter on it) to edit it; drag ⠿ or use Move up / Move down (Alt+↑ / Alt+↓) to reorder.`),
      h("ol", { class: "modules" }, structure.modules.map(moduleItem)),
    );
    const pending = [...drafts.keys()].filter((key) => drafts.get(key).notice).map((key) => `[data-editor-key="${key}"] :is(input, textarea)`);
    const focusOn = focusAfter || pending[0];
    focusAfter = null;
    let target = focusOn ? tree.querySelector(focusOn) : null;
    // A move button that the move disabled (now first or last) hands the focus to its twin.
    if (target && target.disabled) target = target.parentElement.querySelector("button:not(:disabled)");
    if (target) target.focus();
  }

  const element = h("div", { class: "outline-editor" }, editHint(), status, jobStatus, tree);
  return { element, show };
}
