// Trying the mentoring service from the outline: answer an exercise as a learner, read the
// verdict with where to review, score it as the teacher, and see how grader and teachers agree.
import * as api from "../api.js";
import { announce, h, message, replaceChildren } from "../dom.js";
import { watchSubmission } from "../live.js";
import { reference } from "../references.js";

const LABELS = {
  correct: "Correct",
  partially_correct: "Partly correct",
  incorrect: "Not yet correct",
};
const CRITERION = { met: "met", partial: "partly met", missed: "missed" };

let formNumber = 0;

function verdictView(submission, materials) {
  const verdict = submission.verdict;
  const review = verdict.review.map((location) => reference(materials, location));
  return h(
    "div",
    { class: "verdict", "data-label": verdict.label },
    h("p", { class: "verdict-score" }, h("strong", {}, LABELS[verdict.label] || verdict.label), ` — ${verdict.score} of ${verdict.max_points} points`),
    h("p", {}, verdict.feedback),
    h("ul", { class: "criteria", "aria-label": "Criteria" }, verdict.criteria.map((item) => h("li", { class: `criterion-${item.status}` }, `${CRITERION[item.status]}: ${item.criterion}`))),
    review.length
      ? [h("p", {}, "Review:"), h("ul", { class: "refs review-links", "aria-label": "Where to review" }, review)]
      : h("p", { class: "muted" }, "No review locations for this answer."),
    h("p", { class: "muted small" }, `Grader ${verdict.grader.name} ${verdict.grader.version}, confidence ${Math.round(verdict.confidence * 100)} %${verdict.needs_review ? ", asks for a teacher's review" : ""}`),
  );
}

function reviewForm(submission, onReviewed) {
  const n = formNumber;
  const score = h("input", { id: `review-score-${n}`, type: "number", min: 0, max: submission.verdict.max_points, step: 0.5, required: true, value: submission.verdict.score });
  const comment = h("textarea", { id: `review-comment-${n}`, rows: 2, maxlength: 5000 });
  const status = h("div");
  const form = h(
    "form",
    { class: "review-form", "aria-label": "Teacher's review" },
    h("h6", {}, "Review as the teacher"),
    h("label", { for: `review-score-${n}` }, `Score (0–${submission.verdict.max_points})`),
    score,
    h("label", { for: `review-comment-${n}` }, "Comment (optional)"),
    comment,
    h("button", { type: "submit" }, "Save review"),
    status,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { score: Number(score.value) };
    if (comment.value.trim()) body.comment = comment.value.trim();
    try {
      const saved = await api.put(`/submissions/${submission.id}/review`, body);
      replaceChildren(
        status,
        message(`Saved: ${saved.review.score} points${saved.review.comment ? ` — “${saved.review.comment}”` : ""}`, "info"),
      );
      onReviewed();
    } catch (error) {
      replaceChildren(status, message(error.message));
    }
  });
  return form;
}

/** The "try this exercise" disclosure under an exercise of the outline. */
export function exercisePanel(exercise, materials, stops, onReviewed) {
  formNumber += 1;
  const n = formNumber;
  const learner = h("input", { id: `learner-${n}`, required: true, maxlength: 128, value: "panel-learner" });
  const answer = h("textarea", { id: `answer-${n}`, rows: 4, required: true });
  const submitButton = h("button", { type: "submit" }, "Submit answer");
  const result = h("div", { class: "submission-result" });
  const form = h(
    "form",
    { class: "answer-form" },
    h("label", { for: `learner-${n}` }, "Learner reference"),
    learner,
    h("label", { for: `answer-${n}` }, "Answer"),
    answer,
    submitButton,
    result,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submitButton.disabled = true;
    replaceChildren(result, message("Grading…", "info"));
    try {
      const accepted = await api.post(`/exercises/${exercise.id}/submissions`, {
        learner_ref: learner.value.trim(),
        answer: answer.value,
      });
      const stop = watchSubmission(accepted.id, (submission, error) => {
        if (error) {
          replaceChildren(result, message(error.message));
          submitButton.disabled = false;
          return;
        }
        if (submission.status === "queued") return;
        submitButton.disabled = false;
        if (submission.status === "failed") {
          replaceChildren(result, message(`Grading failed: ${submission.error || "no reason given"}`));
          return;
        }
        announce("The answer is graded");
        replaceChildren(result, verdictView(submission, materials), reviewForm(submission, onReviewed));
      });
      stops.add(stop);
    } catch (error) {
      submitButton.disabled = false;
      replaceChildren(result, message(error.message));
    }
  });
  return h("details", { class: "try" }, h("summary", {}, "Try this exercise"), form);
}

function figure(value, digits = 2) {
  return value === null || value === undefined ? "–" : Number(value).toFixed(digits);
}

/** The course's agreement report between the grader and the teachers' reviews. */
export function agreementSection(courseId) {
  const body = h("div", { class: "agreement" });
  async function refresh() {
    try {
      const report = await api.get(`/courses/${courseId}/grading/agreement`);
      if (!report.overall.reviewed) {
        replaceChildren(body, message("No reviewed answers yet: review one under an exercise.", "info"));
        return;
      }
      const rows = [["Overall", report.overall], ...report.exercises.map((item, i) => [`Exercise ${i + 1}`, item])];
      replaceChildren(
        body,
        h("div", { class: "table-scroll", tabindex: 0, "aria-label": "Agreement figures" }, h(
          "table",
          { class: "agreement-table" },
          h("caption", {}, "Grader against teachers"),
          h("thead", {}, h("tr", {}, ["", "Reviewed", "Pearson r", "RMSE", "Same label", "QWK"].map((name) => h("th", { scope: "col" }, name)))),
          h(
            "tbody",
            {},
            rows.map(([name, figures]) =>
              h("tr", {}, h("th", { scope: "row" }, name), h("td", {}, figures.reviewed), h("td", {}, figure(figures.pearson_r)), h("td", {}, figure(figures.rmse)), h("td", {}, figures.label_agreement === null ? "–" : `${Math.round(figures.label_agreement * 100)} %`), h("td", {}, figure(figures.qwk))),
            ),
          ),
        )),
      );
    } catch (error) {
      replaceChildren(body, message(error.message));
    }
  }
  const element = h(
    "section",
    { class: "card", "aria-labelledby": "agreement-title" },
    h("h2", { id: "agreement-title" }, "Grading agreement"),
    h("button", { type: "button", class: "secondary", onclick: refresh }, "Refresh"),
    body,
  );
  refresh();
  return { element, refresh };
}
