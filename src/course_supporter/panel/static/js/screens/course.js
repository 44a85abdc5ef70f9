// One course: its materials (upload, add a URL, live status), generation, the stale banner, the
// outline the author edits (outline.js), version history (history.js) and publication.
import * as api from "../api.js";
import { announce, formatBytes, h, message, replaceChildren } from "../dom.js";
import { watchJob, watchMaterials } from "../live.js";
import { historySection } from "./history.js";
import { agreementSection } from "./mentoring.js";
import { outlineEditor } from "./outline.js";

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
    let finished = false;
    for (const material of items) {
      const before = materials.get(material.id);
      if (before && before.status !== material.status && (material.status === "done" || material.status === "error")) {
        announce(`${material.filename || material.source_url}: ${STATUS_TEXT[material.status]}`);
        finished = true;
      }
      materials.set(material.id, material);
    }
    // A material read (again) may leave the structure stale: the banner comes with the course.
    if (finished) loadCourse();
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
  /** Generate the whole structure (again) and follow the job; resolves once it has ended. */
  async function startGeneration() {
    generateButton.disabled = true;
    let accepted;
    try {
      accepted = await api.post(`/courses/${courseId}/structure`, {
        strategy: strategy.value,
        wait_for_materials: true,
      });
    } catch (error) {
      replaceChildren(jobStatus, message(error.message));
      generateButton.disabled = false;
      return;
    }
    await new Promise((resolve) => {
      const stop = watchJob(accepted.job_id, (job, error) => {
        if (error) {
          replaceChildren(jobStatus, message(error.message));
          generateButton.disabled = false;
          resolve();
          return;
        }
        showJob(job);
        if (job.status === "succeeded") {
          generateButton.disabled = false;
          announce("The structure is ready");
          loadCourse().then(resolve);
        } else if (job.status === "failed") {
          generateButton.disabled = false;
          resolve();
        }
      });
      stops.add(stop);
    });
  }

  generateForm.addEventListener("submit", (event) => {
    event.preventDefault();
    startGeneration();
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
  const outline = outlineEditor({ courseId, materials, stops, onReviewed: agreement.refresh, reload: loadCourse });
  const history = historySection(courseId, loadCourse);

  // ---------------------------------------------------------------- stale banner
  const staleBanner = h("div", { class: "stale-banner", role: "status", hidden: true });

  function showStale(course) {
    const stale = course.stale_materials || { added: [], changed: [], removed: [] };
    if (!course.structure || !course.stale) {
      staleBanner.hidden = true;
      replaceChildren(staleBanner);
      return;
    }
    const named = (id) => {
      const material = materials.get(id);
      return material ? material.filename || material.source_url || id : "a removed material";
    };
    const groups = [
      ["Added", stale.added],
      ["Changed", stale.changed],
      ["Removed", stale.removed],
    ].filter(([, ids]) => ids.length);
    const regenerateButton = h("button", { type: "button" }, "Regenerate");
    regenerateButton.addEventListener("click", () => {
      regenerateButton.disabled = true;
      startGeneration().then(() => {
        regenerateButton.disabled = false;
      });
      generateForm.scrollIntoView({ block: "nearest" });
    });
    replaceChildren(
      staleBanner,
      h("p", { class: "stale-title" }, "The materials changed since this structure was made; regenerate it to catch up (your edits are kept)."),
      h("ul", { class: "stale-list" }, groups.map(([label, ids]) => h("li", { "data-stale": label.toLowerCase() }, `${label}: `, ids.map(named).join(", ")))),
      regenerateButton,
    );
    staleBanner.hidden = false;
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
      outline.show(course);
      showPublication(course);
      showStale(course);
      await history.refresh();
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
      staleBanner,
      publication,
      outline.element,
    ),
    history.element,
    agreement.element,
  );
  loadCourse().then(followMaterials);
  return () => {
    for (const stop of stops) stop();
  };
}
