// One course: its materials (upload, add a URL, live status), generation, and the outline.
import * as api from "../api.js";
import { announce, formatBytes, h, message, replaceChildren } from "../dom.js";
import { watchJob, watchMaterials } from "../live.js";
import { exercisePanel, agreementSection } from "./mentoring.js";
import { conceptReferences, lessonReferences } from "../references.js";

const STATUS_TEXT = {
  pending: "Waiting",
  processing: "Reading",
  done: "Done",
  error: "Error",
};

export function render(main, context, courseId) {
  const stops = new Set();
  const materials = new Map();
  const heading = h("h1", { id: "course-title" }, "Course");
  const intro = h("div");
  const pageStatus = h("div");

  // ---------------------------------------------------------------- materials
  const materialRows = h("tbody");
  const materialsTable = h(
    "table",
    { class: "materials" },
    h("caption", { class: "visually-hidden" }, "Materials and their status"),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Material"), h("th", { scope: "col" }, "Type"), h("th", { scope: "col" }, "Status"))),
    materialRows,
  );
  const noMaterials = message("No materials yet: drop files above or add a web page.", "info");
  const uploads = h("ul", { class: "uploads", "aria-label": "Uploads" });
  const uploadStatus = h("div");
  const limit = context.me.limits.max_upload_bytes;
  const fileInput = h("input", { id: "material-files", type: "file", multiple: true, class: "file-input" });
  const dropZone = h(
    "div",
    { class: "drop-zone", id: "drop-zone" },
    h("p", {}, "Drop files here, or"),
    h("label", { for: "material-files", class: "button-like" }, "Choose files"),
    fileInput,
    h("p", { class: "help" }, `Text, Markdown, HTML, PDF, slides (PPTX), subtitles or video; up to ${formatBytes(limit)} each.`),
  );
  const urlInput = h("input", { id: "material-url", type: "url", required: true, placeholder: "https://…" });
  const urlStatus = h("div");
  const urlForm = h(
    "form",
    { class: "inline-form", "aria-label": "Add a web page" },
    h("label", { for: "material-url" }, "Web page address"),
    h("div", { class: "row" }, urlInput, h("button", { type: "submit" }, "Add page")),
    urlStatus,
  );

  function materialRow(material) {
    const name = material.filename || material.source_url || material.id;
    const state = h("span", { class: `badge status-${material.status}` }, STATUS_TEXT[material.status] || material.status);
    return h(
      "tr",
      { "data-material-id": material.id, "data-status": material.status },
      h("td", {}, name, material.error_message ? h("p", { class: "material-error" }, material.error_message) : null),
      h("td", {}, material.source_type),
      h("td", {}, state),
    );
  }

  function showMaterials(items) {
    for (const material of items) {
      const before = materials.get(material.id);
      if (before && before.status !== material.status && (material.status === "done" || material.status === "error")) {
        announce(`${material.filename || material.source_url}: ${STATUS_TEXT[material.status]}`);
      }
      materials.set(material.id, material);
    }
    replaceChildren(materialRows, items.map(materialRow));
    noMaterials.hidden = items.length > 0;
    materialsTable.hidden = items.length === 0;
  }

  let stopMaterials = null;
  function followMaterials() {
    if (stopMaterials) {
      stopMaterials();
      stops.delete(stopMaterials);
    }
    stopMaterials = watchMaterials(courseId, (page, error) => {
      if (error) replaceChildren(uploadStatus, message(error.message));
      else showMaterials(page.items);
    });
    stops.add(stopMaterials);
  }

  function uploadOne(file) {
    const bar = h("progress", { max: file.size || 1, value: 0, "aria-label": `Upload of ${file.name}` });
    const state = h("span", { class: "upload-state" }, "Uploading…");
    const item = h("li", { class: "upload" }, h("span", { class: "upload-name" }, file.name), bar, state);
    uploads.append(item);
    if (file.size > limit) {
      bar.replaceWith(h("span", { class: "upload-bar-placeholder" }));
      item.classList.add("refused");
      replaceChildren(state, `Not sent: ${formatBytes(file.size)} is over the ${formatBytes(limit)} limit per file.`);
      state.setAttribute("role", "alert");
      return Promise.resolve();
    }
    return api
      .uploadFile(`/courses/${courseId}/materials`, file, (loaded, total) => {
        bar.max = total || 1;
        bar.value = loaded;
        state.textContent = `${Math.round((100 * loaded) / (total || 1))} %`;
      })
      .then((created) => {
        item.classList.add("sent");
        state.textContent = "Uploaded";
        materials.set(created.id, created);
        followMaterials();
      })
      .catch((error) => {
        item.classList.add("refused");
        state.textContent = `Not uploaded: ${error.message}`;
        state.setAttribute("role", "alert");
      });
  }

  async function uploadAll(files) {
    for (const file of files) await uploadOne(file);
  }

  fileInput.addEventListener("change", () => {
    uploadAll([...fileInput.files]);
    fileInput.value = "";
  });
  for (const name of ["dragenter", "dragover"]) {
    dropZone.addEventListener(name, (event) => {
      event.preventDefault();
      dropZone.classList.add("dragging");
    });
  }
  dropZone.addEventListener("dragleave", () => dropZone.classList.remove("dragging"));
  dropZone.addEventListener("drop", (event) => {
    event.preventDefault();
    dropZone.classList.remove("dragging");
    uploadAll([...event.dataTransfer.files]);
  });
  urlForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const created = await api.post(`/courses/${courseId}/materials`, {
        source_type: "web",
        source_url: urlInput.value.trim(),
      });
      urlForm.reset();
      replaceChildren(urlStatus, message(`Added ${created.source_url}`, "info"));
      followMaterials();
    } catch (error) {
      replaceChildren(urlStatus, message(error.message));
    }
  });

  // ---------------------------------------------------------------- generation
  const strategy = h(
    "select",
    { id: "strategy" },
    h("option", { value: "default" }, "Default"),
    h("option", { value: "quality" }, "Quality"),
    h("option", { value: "budget" }, "Budget"),
  );
  const generateButton = h("button", { type: "submit" }, "Generate structure");
  const jobStatus = h("div", { class: "job-status" });
  const generateForm = h(
    "form",
    { class: "inline-form", "aria-label": "Generate the structure" },
    h("label", { for: "strategy" }, "Strategy"),
    h("div", { class: "row" }, strategy, generateButton),
    jobStatus,
  );
  generateForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    generateButton.disabled = true;
    try {
      const accepted = await api.post(`/courses/${courseId}/structure`, {
        strategy: strategy.value,
        wait_for_materials: true,
      });
      const stop = watchJob(accepted.job_id, (job, error) => {
        if (error) {
          replaceChildren(jobStatus, message(error.message));
          generateButton.disabled = false;
          return;
        }
        showJob(job);
        if (job.status === "succeeded") {
          generateButton.disabled = false;
          announce("The structure is ready");
          loadCourse();
        } else if (job.status === "failed") {
          generateButton.disabled = false;
        }
      });
      stops.add(stop);
    } catch (error) {
      replaceChildren(jobStatus, message(error.message));
      generateButton.disabled = false;
    }
  });

  function showJob(job) {
    const words = {
      queued: "Queued: waiting for the materials and a worker…",
      running: "Generating…",
      succeeded: "Done.",
      failed: `Failed: ${job.error || "no reason given"}`,
    };
    const progress = job.status === "running" ? job.progress : null;
    const bar = job.status === "queued" || job.status === "running"
      ? h("progress", progress && progress.total ? { "aria-label": "Generation progress", max: progress.total, value: progress.done } : { "aria-label": "Generation in progress" })
      : null;
    const step = progress
      ? h("p", { class: "job-progress-text", "data-job-progress": progress.phase }, `${progress.phase}${progress.total ? `: ${progress.done} of ${progress.total}` : ""}`)
      : null;
    const summary = job.status === "succeeded" && job.result
      ? ` ${job.result.modules} modules, ${job.result.lessons} lessons, ${job.result.concepts} concepts, ${job.result.exercises} exercises.`
      : "";
    replaceChildren(
      jobStatus,
      h("p", { class: `job job-${job.status}`, "data-job-status": job.status, role: job.status === "failed" ? "alert" : null }, words[job.status] + summary),
      step,
      bar,
    );
  }

  // ---------------------------------------------------------------- publication
  // Learners' platforms (check keys) read only the published version.
  const publication = h("div", { class: "publication" });

  function showPublication(course) {
    if (!course.structure) {
      replaceChildren(publication);
      return;
    }
    const published = course.published_version;
    const state = published === null || published === undefined
      ? "Nothing is published: learners cannot read this course yet."
      : `Version ${published} is published.`;
    const publishButton = h("button", { type: "button" }, `Publish version ${course.version}`);
    publishButton.disabled = published === course.version;
    publishButton.addEventListener("click", async () => {
      publishButton.disabled = true;
      try {
        await api.post(`/courses/${courseId}/publication`, { version: course.version });
        announce(`Version ${course.version} is published`);
        loadCourse();
      } catch (error) {
        replaceChildren(publication, message(error.message));
      }
    });
    const controls = [publishButton];
    if (published !== null && published !== undefined) {
      const unpublishButton = h("button", { type: "button", class: "secondary" }, "Unpublish");
      unpublishButton.addEventListener("click", async () => {
        unpublishButton.disabled = true;
        try {
          await api.remove(`/courses/${courseId}/publication`);
          announce("The course is unpublished");
          loadCourse();
        } catch (error) {
          replaceChildren(publication, message(error.message));
        }
      });
      controls.push(unpublishButton);
    }
    replaceChildren(
      publication,
      h("p", { "data-published-version": published ?? "none" }, state),
      h("div", { class: "row" }, ...controls),
    );
  }

  // ---------------------------------------------------------------- outline
  const agreement = agreementSection(courseId);
  const outline = h("div", { class: "outline" });

  function showOutline(structure) {
    if (!structure) {
      replaceChildren(outline, message("No structure yet: add materials, then generate.", "info"));
      return;
    }
    const modules = h("ol", { class: "modules" });
    for (const module of structure.modules) {
      const lessons = h("ol", { class: "lessons" });
      for (const lesson of module.lessons) {
        const concepts = h("dl", { class: "concepts" });
        for (const concept of lesson.concepts) {
          const refs = conceptReferences(materials, concept);
          concepts.append(
            h("dt", {}, concept.title),
            h("dd", {}, concept.definition, refs.length ? h("ul", { class: "refs", "aria-label": `Where ${concept.title} is explained` }, refs) : null),
          );
        }
        const exercises = h("ol", { class: "exercises" });
        for (const exercise of lesson.exercises) {
          exercises.append(h("li", { class: "exercise" }, h("p", {}, exercise.description), exercisePanel(exercise, materials, stops, agreement.refresh)));
        }
        const lessonRefs = lessonReferences(materials, lesson);
        lessons.append(
          h(
            "li",
            { class: "lesson" },
            h("h4", {}, lesson.title),
            lessonRefs.length ? h("ul", { class: "refs", "aria-label": `Sources of ${lesson.title}` }, lessonRefs) : null,
            lesson.concepts.length ? h("h5", {}, "Concepts") : null,
            concepts,
            lesson.exercises.length ? h("h5", {}, "Exercises") : null,
            exercises,
          ),
        );
      }
      modules.append(
        h(
          "li",
          { class: "module" },
          h("h3", {}, module.title),
          module.description ? h("p", { class: "muted" }, module.description) : null,
          lessons,
        ),
      );
    }
    replaceChildren(
      outline,
      h("p", { class: "muted" }, `Version ${structure.version}, ${structure.strategy} strategy`),
      modules,
    );
  }

  // ---------------------------------------------------------------- the page
  async function loadCourse() {
    try {
      const course = await api.get(`/courses/${courseId}`);
      heading.textContent = course.title;
      document.title = `${course.title} – Course Supporter`;
      replaceChildren(intro, course.description ? h("p", {}, course.description) : null);
      for (const material of course.materials) {
        materials.set(material.id, { ...materials.get(material.id), ...material });
      }
      showOutline(course.structure);
      showPublication(course);
    } catch (error) {
      replaceChildren(pageStatus, message(error.status === 404 ? "This course does not exist (or was deleted)." : error.message));
    }
  }

  replaceChildren(
    main,
    h("p", {}, h("a", { href: "#/courses" }, "← All courses")),
    heading,
    intro,
    pageStatus,
    h(
      "section",
      { class: "card", "aria-labelledby": "materials-title" },
      h("h2", { id: "materials-title" }, "Materials"),
      dropZone,
      uploads,
      uploadStatus,
      urlForm,
      noMaterials,
      h("div", { class: "table-scroll" }, materialsTable),
    ),
    h(
      "section",
      { class: "card", "aria-labelledby": "generate-title" },
      h("h2", { id: "generate-title" }, "Generate"),
      generateForm,
    ),
    h(
      "section",
      { class: "card", "aria-labelledby": "outline-title" },
      h("h2", { id: "outline-title" }, "Structure"),
      publication,
      outline,
    ),
    agreement.element,
  );
  loadCourse().then(followMaterials);
  return () => {
    for (const stop of stops) stop();
  };
}
