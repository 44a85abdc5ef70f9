// The signed-in key: tenant, scopes, rate limits, expiry, and the deployment's upload limit.
import * as api from "../api.js";
import { formatBytes, formatDate, h, message, replaceChildren } from "../dom.js";

// A key this close to its expiry gets a warning: time to rotate it.
const EXPIRY_WARNING_DAYS = 14;

function daysLeft(iso) {
  return Math.floor((new Date(iso) - Date.now()) / 86_400_000);
}

function expiryWarning(iso, prefix) {
  if (!iso) return null;
  const days = daysLeft(iso);
  if (days < 0) return message("This key has expired.");
  if (days > EXPIRY_WARNING_DAYS) return null;
  const when = days === 0 ? "today" : `in ${days} day${days === 1 ? "" : "s"}`;
  const warning = message(
    `This key expires ${when}. Make its successor before then: ` +
      `course-supporter keys rotate ${prefix} --grace 24h, then sign in with the new key.`,
  );
  warning.classList.add("expiry-warning");
  warning.id = "expiry-warning";
  return warning;
}

function expiry(iso) {
  if (!iso) return "Never";
  const days = daysLeft(iso);
  if (days < 0) return `${formatDate(iso)} (expired)`;
  return `${formatDate(iso)} (in ${days} day${days === 1 ? "" : "s"})`;
}

export function render(main, context) {
  const body = h("div");
  function show(me) {
    const entries = [
      ["Tenant", me.tenant_name],
      ["Key", `${me.key_prefix}…`],
      ["Scopes", me.scopes.join(", ")],
      ["prep requests a minute", me.rate_limits.prep],
      ["check requests a minute", me.rate_limits.check],
      ["Expires", expiry(me.expires_at)],
      ["Largest upload", formatBytes(me.limits.max_upload_bytes)],
    ];
    replaceChildren(
      body,
      h("dl", { class: "facts" }, entries.map(([term, value]) => [h("dt", {}, term), h("dd", {}, value)])),
      expiryWarning(me.expires_at, me.key_prefix),
    );
  }
  replaceChildren(main, h("section", { class: "card", "aria-labelledby": "me-title" }, h("h1", { id: "me-title" }, "Your key"), body));
  show(context.me);
  api.get("/me").then((me) => {
    context.me = me;
    show(me);
  }, (error) => replaceChildren(body, message(error.message)));
}
