// How the panel learns that something changed: one Server-Sent Events stream per signed-in
// session (GET /api/v1/events), read with fetch() because EventSource cannot send X-API-Key
// (and the key never goes in a URL or a cookie). An event only says "look again": the screen
// re-GETs what it concerns. While the stream cannot be opened (503, a proxy that refuses it)
// the watches poll about once a second, as before, and the stream is tried again later.
// Every screen watches through the exported functions only.
import * as api from "./api.js";

export const POLL_INTERVAL_MS = 1000;
const FIRST_RETRY_MS = 1000;
const MAX_BACKOFF_MS = 30_000;
// After the stream could not be opened, watches poll and the stream is tried again this late.
const REOPEN_AFTER_REFUSAL_MS = 30_000;
const FINISHED_MATERIAL = new Set(["done", "error"]);
const FINISHED_JOB = new Set(["succeeded", "failed"]);

// "off" (signed out), "connecting", "live", "polling" (the stream is unavailable).
let state = "off";
let session = 0; // bumped on every start/stop, so a late answer of an old session is ignored
let controller = null;
let lastEventId = null;
let retryMs = FIRST_RETRY_MS;
let failures = 0;
let reconnectTimer = null;
const watchers = new Set();
const stateListeners = new Set();

/** `callback(state)` now and on every change; returns a function that stops listening. */
export function onLiveState(callback) {
  stateListeners.add(callback);
  callback(state);
  return () => stateListeners.delete(callback);
}

function setState(next) {
  if (next === state) return;
  state = next;
  for (const listener of stateListeners) listener(state);
  for (const watcher of watchers) {
    if (state === "live") watcher.refresh(); // whatever happened while the stream was down
    else if (state === "polling") watcher.poll();
  }
}

/** Open the session's stream (at sign-in). */
export function startLive() {
  stopLive();
  session += 1;
  lastEventId = null;
  retryMs = FIRST_RETRY_MS;
  failures = 0;
  setState("connecting");
  connect(session);
}

/** Close the stream and forget where it was (at sign-out). */
export function stopLive() {
  session += 1;
  window.clearTimeout(reconnectTimer);
  if (controller) controller.abort();
  controller = null;
  lastEventId = null;
  setState("off");
}

function reconnect(mine, delay) {
  window.clearTimeout(reconnectTimer);
  reconnectTimer = window.setTimeout(() => {
    if (mine === session) connect(mine);
  }, delay);
}

async function connect(mine) {
  controller = new AbortController();
  const headers = { "X-API-Key": api.currentKey(), Accept: "text/event-stream" };
  if (lastEventId !== null) headers["Last-Event-ID"] = lastEventId;
  let response;
  try {
    response = await fetch(api.BASE + "/events", { headers, signal: controller.signal, cache: "no-store" });
  } catch {
    if (mine !== session) return;
    failures += 1;
    if (state !== "polling") setState(failures > 1 ? "polling" : "connecting");
    reconnect(mine, backoff());
    return;
  }
  if (mine !== session) return;
  if (!response.ok || !response.body) {
    if (response.status === 401) {
      api.unauthorized(response.status);
      return;
    }
    if (response.status === 422 && lastEventId !== null) {
      // Our resume point is not the server's any more (its log was reset): start from now.
      lastEventId = null;
      reconnect(mine, 0);
      return;
    }
    failures += 1;
    setState("polling");
    const retryAfter = Number(response.headers.get("Retry-After"));
    reconnect(mine, retryAfter > 0 ? retryAfter * 1000 : REOPEN_AFTER_REFUSAL_MS);
    return;
  }
  failures = 0;
  setState("live");
  try {
    await readStream(response.body, mine);
  } catch {
    // A dropped connection: resume below from the last event seen.
  }
  if (mine !== session) return;
  setState("connecting");
  reconnect(mine, failures > 0 ? backoff() : retryMs);
}

function backoff() {
  return Math.min(MAX_BACKOFF_MS, retryMs * 2 ** Math.min(failures, 5));
}

/** Parse text/event-stream: `id:`, `event:`, `data:`, `retry:` fields; `:` comments. */
async function readStream(body, mine) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let event = { type: "message", data: [], id: null };
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done || mine !== session) return;
      buffer += value;
      // A CR at the end may be the first half of a CRLF whose LF is in the next chunk.
      const held = buffer.endsWith("\r") ? "\r" : "";
      const lines = (held ? buffer.slice(0, -1) : buffer).split(/\r\n|\r|\n/);
      buffer = lines.pop() + held;
      for (const line of lines) {
        if (line === "") {
          if (event.id !== null) lastEventId = event.id;
          if (event.data.length) dispatch(event.type, event.data.join("\n"));
          event = { type: "message", data: [], id: null };
          continue;
        }
        if (line.startsWith(":")) continue; // a keep-alive or a note from the server
        const colon = line.indexOf(":");
        const name = colon === -1 ? line : line.slice(0, colon);
        let field = colon === -1 ? "" : line.slice(colon + 1);
        if (field.startsWith(" ")) field = field.slice(1);
        if (name === "data") event.data.push(field);
        else if (name === "event") event.type = field;
        else if (name === "id" && !field.includes("\0")) event.id = field;
        else if (name === "retry" && /^\d+$/.test(field)) retryMs = Number(field);
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

function dispatch(type, text) {
  let data;
  try {
    data = JSON.parse(text);
  } catch {
    return;
  }
  const event = { type, subjectId: data.subject_id, payload: data.payload || {} };
  for (const watcher of [...watchers]) {
    if (watcher.concerns(event)) watcher.refresh();
  }
}

/**
 * Call `load` now and again whenever an event `concerns(event, lastValue)` (or, without a
 * stream, about once a second) until `settled(value)`; `onUpdate(value, error)` after each
 * call. Returns `stop`. A 429 waits for its Retry-After; a 401 or 404 ends the watch.
 */
export function watch(load, settled, onUpdate, concerns = () => true) {
  let stopped = false;
  let loading = false;
  let again = false;
  let timer = null;
  let last = null;
  let delay = POLL_INTERVAL_MS;
  const watcher = {
    concerns: (event) => concerns(event, last),
    refresh,
    poll() {
      if (!stopped && !loading && timer === null) timer = window.setTimeout(refresh, delay);
    },
  };

  function finish() {
    stopped = true;
    watchers.delete(watcher);
    window.clearTimeout(timer);
  }

  async function refresh() {
    if (stopped) return;
    window.clearTimeout(timer);
    timer = null;
    if (loading) {
      again = true;
      return;
    }
    loading = true;
    delay = POLL_INTERVAL_MS;
    try {
      const value = await load();
      if (stopped) return;
      last = value;
      onUpdate(value, null);
      if (settled(value)) return finish();
    } catch (error) {
      if (stopped) return;
      onUpdate(null, error);
      if (error.status === 401 || error.status === 404) return finish();
      if (error.status === 429 && error.retryAfter) delay = error.retryAfter * 1000;
    } finally {
      loading = false;
    }
    if (again) {
      again = false;
      refresh();
    } else if (state !== "live") {
      watcher.poll();
    }
  }

  watchers.add(watcher);
  refresh();
  return finish;
}

export function watchMaterials(courseId, onUpdate) {
  return watch(
    () => api.get(`/courses/${courseId}/materials?limit=100`),
    (page) => page.items.every((material) => FINISHED_MATERIAL.has(material.status)),
    onUpdate,
    (event, page) =>
      (event.type.startsWith("material.") && event.payload.course_id === courseId) ||
      (event.type.startsWith("job.") &&
        Boolean(page) &&
        page.items.some((material) => material.id === event.payload.subject_id)),
  );
}

export function watchJob(jobId, onUpdate) {
  return watch(
    () => api.get(`/jobs/${jobId}`),
    (job) => FINISHED_JOB.has(job.status),
    onUpdate,
    (event) => event.type.startsWith("job.") && event.payload.job_id === jobId,
  );
}

export function watchSubmission(submissionId, onUpdate) {
  return watch(
    () => api.get(`/submissions/${submissionId}`),
    (submission) => submission.status !== "queued",
    onUpdate,
    (event) =>
      event.subjectId === submissionId ||
      (event.type.startsWith("job.") && event.payload.subject_id === submissionId),
  );
}

/** `onEvent(event)` for every event of the stream, until the returned `stop` is called. */
export function onEvents(onEvent) {
  const watcher = {
    concerns(event) {
      onEvent(event);
      return false;
    },
    refresh() {},
    poll() {},
  };
  watchers.add(watcher);
  return () => watchers.delete(watcher);
}
