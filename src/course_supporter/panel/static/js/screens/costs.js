// The cost report: totals, and calls with their cost by day and by action.
import * as api from "../api.js";
import { h, message, replaceChildren } from "../dom.js";
import { barChart } from "../chart.js";

function usd(value) {
  return `$${Number(value).toFixed(4)}`;
}

function rowsOf(groups) {
  return groups.map((group) => ({ label: group.key, value: group.calls, note: usd(group.cost_usd) }));
}

export function render(main) {
  const from = h("input", { id: "cost-from", type: "date" });
  const to = h("input", { id: "cost-to", type: "date" });
  const report = h("div", { class: "cost-report" });
  const form = h(
    "form",
    { class: "inline-form filters", "aria-label": "Period" },
    h("div", {}, h("label", { for: "cost-from" }, "From"), from),
    h("div", {}, h("label", { for: "cost-to" }, "To"), to),
    h("button", { type: "submit" }, "Show"),
  );

  async function load() {
    const query = new URLSearchParams();
    if (from.value) query.set("from", from.value);
    if (to.value) query.set("to", to.value);
    try {
      const data = await api.get(`/reports/cost${query.size ? `?${query}` : ""}`);
      const total = data.total;
      replaceChildren(
        report,
        h("p", { class: "totals" }, `${total.calls} calls (${total.failed_calls} failed), ${total.tokens_in} tokens in, ${total.tokens_out} tokens out, ${usd(total.cost_usd)} in all.`),
        data.by_day.length ? barChart("Calls by day (cost beside)", rowsOf(data.by_day), "calls") : message("No calls in this period.", "info"),
        data.by_action.length ? barChart("Calls by action (cost beside)", rowsOf(data.by_action), "calls") : null,
      );
    } catch (error) {
      replaceChildren(report, message(error.message));
    }
  }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  replaceChildren(
    main,
    h("section", { class: "card", "aria-labelledby": "costs-title" }, h("h1", { id: "costs-title" }, "Costs"), form, report),
  );
  load();
}
