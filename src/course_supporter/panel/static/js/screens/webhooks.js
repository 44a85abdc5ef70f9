// The tenant's webhook endpoints: register one (its secret shown once), list them with their
// state, delete, and read each one's delivery log.
import * as api from "../api.js";
import { announce, formatDate, h, message, replaceChildren } from "../dom.js";
import { onEvents } from "../live.js";

const EVENT_TYPES = [
  ["job.queued", "A job was queued"],
  ["job.running", "A job runs (with progress)"],
  ["job.succeeded", "A job succeeded"],
  ["job.failed", "A job failed"],
  ["material.done", "A material was read"],
  ["material.error", "A material could not be read"],
  ["structure.version_created", "A structure version was made"],
  ["submission.graded", "An answer was graded"],
  ["webhook.disabled", "An endpoint was disabled"],
];
// A delivery is sent from the job queue after its event: read the log again a little later.
const REREAD_AFTER_EVENT_MS = [0, 1500, 5000];

export function render(main) {
  const status = h("div");
  const list = h("ul", { class: "webhook-list", "aria-labelledby": "webhooks-title" });
  const openLogs = new Map(); // webhook id → reload function of its open delivery log
  const timers = new Set();

  // ---------------------------------------------------------------- register
  const url = h("input", { id: "webhook-url", type: "url", required: true, placeholder: "https://…", maxlength: 2048 });
  const description = h("input", { id: "webhook-description", maxlength: 500 });
  const boxes = EVENT_TYPES.map(([type, label]) => {
    const id = `event-${type.replace(".", "-")}`;
    const box = h("input", { type: "checkbox", id, value: type });
    return [box, h("label", { for: id }, box, `${label} (${type})`)];
  });
  const formStatus = h("div");
  const secretBox = h("div", { "aria-live": "polite" });
  const form = h(
    "form",
    { class: "card", "aria-labelledby": "new-webhook-title" },
    h("h2", { id: "new-webhook-title" }, "Register an endpoint"),
    h("label", { for: "webhook-url" }, "URL"),
    url,
    h("fieldset", { class: "checkboxes" }, h("legend", {}, "Events to send"), boxes.map(([, label]) => label)),
    h("label", { for: "webhook-description" }, "Description (optional)"),
    description,
    h("button", { type: "submit" }, "Register endpoint"),
    formStatus,
    secretBox,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const eventTypes = boxes.filter(([box]) => box.checked).map(([box]) => box.value);
    if (!eventTypes.length) {
      replaceChildren(formStatus, message("Choose at least one event to send."));
      return;
    }
    const body = { url: url.value.trim(), event_types: eventTypes };
    if (description.value.trim()) body.description = description.value.trim();
    replaceChildren(secretBox);
    try {
      const created = await api.post("/webhooks", body);
      form.reset();
      replaceChildren(formStatus, message(`Registered ${created.url}`, "info"));
      showSecret(created);
      announce("Endpoint registered; copy its signing secret now");
      load();
    } catch (error) {
      const text =
        error.status === 422
          ? `This URL was refused: ${error.message}`
          : error.status === 409
            ? `No more endpoints: ${error.message}`
            : error.message;
      replaceChildren(formStatus, message(text));
      url.focus();
    }
  });

  function showSecret(created) {
    const code = h("code", { id: "webhook-secret" }, created.secret);
    const copied = h("span", { role: "status" });
    const copy = h("button", { type: "button", class: "secondary" }, "Copy secret");
    copy.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(created.secret);
        copied.textContent = " Copied.";
      } catch {
        window.getSelection().selectAllChildren(code);
        copied.textContent = " Selected: press Ctrl+C (⌘C) to copy.";
      }
    });
    const done = h("button", { type: "button" }, "I have stored it");
    done.addEventListener("click", () => {
      replaceChildren(secretBox);
      url.focus();
    });
    replaceChildren(
      secretBox,
      h(
        "div",
        { class: "secret-once", role: "alert" },
        h("p", {}, h("strong", {}, "Signing secret — you will not see it again."), " Store it with the receiver now; it verifies every delivery (Standard Webhooks)."),
        h("p", {}, code),
        h("div", { class: "row" }, copy, done, copied),
      ),
    );
    copy.focus();
  }

  // ---------------------------------------------------------------- the list
  function deliveryLog(webhook) {
    const region = h("div", { id: `deliveries-${webhook.id}` });
    async function reload() {
      try {
        const page = await api.get(`/webhooks/${webhook.id}/deliveries?limit=50`);
        if (!page.items.length) {
          replaceChildren(region, message("Nothing sent yet.", "info"));
          return;
        }
        const rows = page.items.map((delivery) => {
          const last = delivery.attempts[delivery.attempts.length - 1];
          return h(
            "tr",
            { "data-delivery-status": delivery.status },
            h("td", {}, formatDate(last ? last.at : delivery.created_at)),
            h("td", {}, delivery.event_type),
            h("td", {}, delivery.status),
            h("td", {}, String(delivery.attempts.length)),
            h("td", {}, last ? (last.status_code ?? last.error ?? "no answer") : "—"),
          );
        });
        replaceChildren(
          region,
          h(
            "div",
            { class: "table-scroll" },
            h(
              "table",
              { class: "deliveries" },
              h("caption", { class: "visually-hidden" }, `Deliveries to ${webhook.url}`),
              h("thead", {}, h("tr", {}, ["Time", "Event", "Status", "Attempts", "Response"].map((name) => h("th", { scope: "col" }, name)))),
              h("tbody", {}, rows),
            ),
          ),
        );
      } catch (error) {
        replaceChildren(region, message(error.message));
      }
    }
    return { region, reload };
  }

  function row(webhook) {
    const state = webhook.is_active
      ? h("span", { class: "badge status-done" }, "Enabled")
      : h("span", { class: "badge status-error" }, "Disabled");
    const why = webhook.is_active
      ? null
      : h("p", { class: "material-error" }, `${webhook.disabled_reason || "Disabled after failing deliveries"}. Once the receiver works, delete this endpoint and register it again.`);
    const log = deliveryLog(webhook);
    log.region.hidden = true;
    const toggle = h("button", { type: "button", class: "secondary", "aria-expanded": "false", "aria-controls": log.region.id }, "Show deliveries");
    const refresh = h("button", { type: "button", class: "secondary", hidden: true }, "Refresh");
    toggle.addEventListener("click", () => {
      const open = log.region.hidden;
      log.region.hidden = !open;
      refresh.hidden = !open;
      toggle.setAttribute("aria-expanded", String(open));
      toggle.textContent = open ? "Hide deliveries" : "Show deliveries";
      if (open) {
        openLogs.set(webhook.id, log.reload);
        log.reload();
      } else {
        openLogs.delete(webhook.id);
      }
    });
    refresh.addEventListener("click", log.reload);
    const remove = h("button", { type: "button", class: "danger secondary", "aria-label": `Delete the endpoint ${webhook.url}` }, "Delete");
    const confirmBox = h("span", { class: "confirm", hidden: true });
    const item = h(
      "li",
      { class: "webhook", "data-webhook-id": webhook.id },
      h("p", { class: "webhook-url" }, webhook.url, " ", state),
      webhook.description ? h("p", { class: "muted" }, webhook.description) : null,
      h("p", { class: "muted small" }, `Events: ${webhook.event_types.join(", ")} · registered ${formatDate(webhook.created_at)}`),
      why,
      h("div", { class: "row" }, toggle, refresh, remove, confirmBox),
      log.region,
    );
    remove.addEventListener("click", () => {
      remove.hidden = true;
      const yes = h("button", { type: "button", class: "danger" }, "Delete for good");
      const no = h("button", { type: "button", class: "secondary" }, "Keep");
      replaceChildren(confirmBox, h("span", {}, "Delete it and its delivery log? "), yes, no);
      confirmBox.hidden = false;
      no.focus();
      no.addEventListener("click", () => {
        confirmBox.hidden = true;
        remove.hidden = false;
        remove.focus();
      });
      yes.addEventListener("click", async () => {
        try {
          await api.remove(`/webhooks/${webhook.id}`);
          openLogs.delete(webhook.id);
          item.remove();
          announce(`Endpoint ${webhook.url} deleted`);
          if (!list.children.length) replaceChildren(status, message("No endpoints yet.", "info"));
        } catch (error) {
          replaceChildren(confirmBox, message(error.message));
        }
      });
    });
    return item;
  }

  async function load() {
    try {
      const page = await api.get("/webhooks");
      openLogs.clear();
      replaceChildren(list, page.items.map(row));
      replaceChildren(status, page.items.length ? null : message("No endpoints yet.", "info"));
    } catch (error) {
      replaceChildren(status, message(error.status === 403 ? "Webhooks need a key with the prep scope." : error.message));
    }
  }

  // An event may mean a new delivery (or a disabled endpoint): read again what is open.
  const stopEvents = onEvents((event) => {
    if (event.type === "webhook.disabled") load();
    for (const delay of REREAD_AFTER_EVENT_MS) {
      const timer = window.setTimeout(() => {
        timers.delete(timer);
        for (const reload of openLogs.values()) reload();
      }, delay);
      timers.add(timer);
    }
  });

  replaceChildren(
    main,
    h(
      "div",
      { class: "two-columns" },
      h(
        "section",
        { class: "card", "aria-labelledby": "webhooks-title" },
        h("h1", { id: "webhooks-title" }, "Webhooks"),
        h("p", { class: "muted" }, "Each endpoint receives the chosen events as signed POSTs, retried for a day; one that keeps failing is disabled."),
        status,
        list,
      ),
      form,
    ),
  );
  load();
  return () => {
    stopEvents();
    for (const timer of timers) window.clearTimeout(timer);
  };
}
