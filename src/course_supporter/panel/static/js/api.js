// Every call the panel makes: the public API with the signed-in key in X-API-Key.
import { storedKey } from "./session.js";

export const BASE = document.body.dataset.api;
let onUnauthorized = () => {};

export class ApiError extends Error {
  constructor(status, detail, retryAfter = null) {
    super(detail);
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

/** Called when a key stops being accepted mid-session (revoked, expired). */
export function whenUnauthorized(callback) {
  onUnauthorized = callback;
}

/** The signed-in key, for the one caller that cannot go through `call` (the event stream). */
export function currentKey() {
  return storedKey() || "";
}

/** The event stream was refused with 401: the session ends as for any other call. */
export function unauthorized(status) {
  onUnauthorized(new ApiError(status, "The key stopped being accepted"));
}

function describe(detail, fallback) {
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail
      .map((item) => {
        const where = (item.loc || []).filter((part) => part !== "body").join(".");
        return where ? `${where}: ${item.msg}` : item.msg;
      })
      .join("; ");
  }
  return fallback;
}

function failure(status, body, retryAfter, statusText) {
  const detail = describe(body && body.detail, statusText || `request failed (${status})`);
  return new ApiError(status, detail, retryAfter ? Number(retryAfter) : null);
}

/** The structure's ETag for If-Match: its version, quoted ("0" before any structure). */
export function structureTag(version) {
  return `"${version ?? 0}"`;
}

export async function call(method, path, { body, key, ifMatch } = {}) {
  const headers = { "X-API-Key": key || storedKey() || "" };
  if (ifMatch !== undefined) headers["If-Match"] = ifMatch;
  const init = { method, headers };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(BASE + path, init);
  } catch {
    throw new ApiError(0, "The server cannot be reached; check the connection and try again.");
  }
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    const error = failure(response.status, data, response.headers.get("Retry-After"));
    if (response.status === 401 && !key) onUnauthorized(error);
    throw error;
  }
  return data;
}

export const get = (path, options) => call("GET", path, options);
export const post = (path, body, options) => call("POST", path, { ...options, body });
export const put = (path, body) => call("PUT", path, { body });
export const patch = (path, body, options) => call("PATCH", path, { ...options, body });
export const remove = (path, options) => call("DELETE", path, options);

/** A multipart file upload through XMLHttpRequest, whose upload events report progress. */
export function uploadFile(path, file, onProgress) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", BASE + path);
    request.setRequestHeader("X-API-Key", storedKey() || "");
    request.responseType = "json";
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded, event.total);
    });
    request.addEventListener("load", () => {
      if (request.status >= 200 && request.status < 300) {
        onProgress(file.size, file.size);
        resolve(request.response);
        return;
      }
      const error = failure(request.status, request.response, request.getResponseHeader("Retry-After"));
      if (request.status === 401) onUnauthorized(error);
      reject(error);
    });
    request.addEventListener("error", () => reject(new ApiError(0, "The upload was interrupted.")));
    const form = new FormData();
    form.append("file", file, file.name);
    request.send(form);
  });
}
