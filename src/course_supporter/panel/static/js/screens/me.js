// The signed-in key: tenant, scopes, rate limits, expiry, and the deployment's upload limit.
import * as api from "../api.js";
import { formatBytes, formatDate, h, message, replaceChildren } from "../dom.js";

function expiry(iso) {
  if (!iso) return "Never";
  const days = Math.floor((new Date(iso) - Date.now()) / 86_400_000);
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
    replaceChildren(body, h("dl", { class: "facts" }, entries.map(([term, value]) => [h("dt", {}, term), h("dd", {}, value)])));
  }
  replaceChildren(main, h("section", { class: "card", "aria-labelledby": "me-title" }, h("h1", { id: "me-title" }, "Your key"), body));
  show(context.me);
  api.get("/me").then((me) => {
    context.me = me;
    show(me);
  }, (error) => replaceChildren(body, message(error.message)));
}
