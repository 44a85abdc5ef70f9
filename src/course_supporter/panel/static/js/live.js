// How the panel learns that something changed: for now it polls the API about once a second.
// Every screen watches through these functions only, so GET /api/v1/events (SSE) can replace
// the polling here without touching a screen.
import * as api from "./api.js";

export const POLL_INTERVAL_MS = 1000;
const FINISHED_MATERIAL = new Set(["done", "error"]);
const FINISHED_JOB = new Set(["succeeded", "failed"]);

/**
 * Call `load` until `settled(value)`; `onUpdate(value, error)` after each call. Returns `stop`.
 * A 429 waits for its Retry-After; a 401 ends the watch (the session ends with it).
 */
export function watch(load, settled, onUpdate) {
  let stopped = false;
  let timer = null;
  async function tick() {
    let delay = POLL_INTERVAL_MS;
    try {
      const value = await load();
      if (stopped) return;
      onUpdate(value, null);
      if (settled(value)) return;
    } catch (error) {
      if (stopped) return;
      onUpdate(null, error);
      if (error.status === 401 || error.status === 404) return;
      if (error.status === 429 && error.retryAfter) delay = error.retryAfter * 1000;
    }
    timer = window.setTimeout(tick, delay);
  }
  tick();
  return () => {
    stopped = true;
    window.clearTimeout(timer);
  };
}

export function watchMaterials(courseId, onUpdate) {
  return watch(
    () => api.get(`/courses/${courseId}/materials?limit=100`),
    (page) => page.items.every((material) => FINISHED_MATERIAL.has(material.status)),
    onUpdate,
  );
}

export function watchJob(jobId, onUpdate) {
  return watch(() => api.get(`/jobs/${jobId}`), (job) => FINISHED_JOB.has(job.status), onUpdate);
}

export function watchSubmission(submissionId, onUpdate) {
  return watch(
    () => api.get(`/submissions/${submissionId}`),
    (submission) => submission.status !== "queued",
    onUpdate,
  );
}
