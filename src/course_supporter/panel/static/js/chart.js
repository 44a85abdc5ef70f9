// A horizontal bar chart in SVG, drawn with attributes only (the CSP allows no inline style).
import { h, svg } from "./dom.js";

const BAR = 22;
const GAP = 8;
const LABEL_WIDTH = 150;
const WIDTH = 560;

// Room for about 20 characters left of the bars; the full label is in the bar's <title>.
function shortLabel(label) {
  return label.length > 20 ? `${label.slice(0, 19)}…` : label;
}

/** rows: [{label, value, note}]; the SVG is labelled for screen readers, a table repeats it. */
export function barChart(title, rows, unit) {
  const largest = Math.max(0, ...rows.map((row) => row.value));
  const height = rows.length * (BAR + GAP) + GAP;
  const room = WIDTH - LABEL_WIDTH - 90;
  const bars = rows.map((row, index) => {
    const y = GAP + index * (BAR + GAP);
    const width = largest > 0 ? Math.max(2, (room * row.value) / largest) : 2;
    return svg(
      "g",
      { class: "bar" },
      svg("title", {}, `${row.label}: ${row.value} ${unit}${row.note ? `, ${row.note}` : ""}`),
      svg("text", { x: LABEL_WIDTH - 6, y: y + BAR / 2, "text-anchor": "end", "dominant-baseline": "middle", class: "bar-label" }, shortLabel(row.label)),
      svg("rect", { x: LABEL_WIDTH, y, width, height: BAR, rx: 3, class: "bar-fill" }),
      svg("text", { x: LABEL_WIDTH + width + 6, y: y + BAR / 2, "dominant-baseline": "middle", class: "bar-value" }, `${row.value}${row.note ? ` · ${row.note}` : ""}`),
    );
  });
  return h(
    "figure",
    { class: "chart" },
    h("figcaption", {}, title),
    svg(
      "svg",
      { viewBox: `0 0 ${WIDTH} ${Math.max(height, BAR + 2 * GAP)}`, role: "img", "aria-label": `${title}: ${rows.map((row) => `${row.label} ${row.value}`).join(", ") || "no data"}`, class: "chart-svg" },
      bars,
    ),
  );
}
