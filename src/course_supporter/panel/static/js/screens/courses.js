// The tenant's courses: list, create, delete.
import * as api from "../api.js";
import { announce, formatDate, h, message, replaceChildren } from "../dom.js";

export function render(main) {
  const status = h("div", { class: "status-line" });
  const list = h("ul", { class: "course-list", "aria-labelledby": "courses-title" });
  const more = h("div");
  const title = h("input", { id: "course-title", name: "title", required: true, maxlength: 500 });
  const description = h("textarea", { id: "course-description", name: "description", rows: 2 });
  const formStatus = h("div");
  const form = h(
    "form",
    { class: "card", "aria-labelledby": "new-course-title" },
    h("h2", { id: "new-course-title" }, "New course"),
    h("label", { for: "course-title" }, "Title"),
    title,
    h("label", { for: "course-description" }, "Description (optional)"),
    description,
    h("button", { type: "submit" }, "Create course"),
    formStatus,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { title: title.value.trim() };
    if (description.value.trim()) body.description = description.value.trim();
    if (!body.title) {
      replaceChildren(formStatus, message("A course needs a title."));
      title.focus();
      return;
    }
    try {
      const created = await api.post("/courses", body);
      form.reset();
      replaceChildren(formStatus);
      announce(`Course ${created.title} created`);
      location.hash = `#/courses/${created.id}`;
    } catch (error) {
      replaceChildren(formStatus, message(error.message));
    }
  });

  function row(course) {
    const confirmBox = h("span", { class: "confirm", hidden: true });
    const deleteButton = h(
      "button",
      { type: "button", class: "danger secondary", "aria-label": `Delete ${course.title}` },
      "Delete",
    );
    const item = h(
      "li",
      { class: "course-item" },
      h(
        "div",
        { class: "course-main" },
        h("a", { href: `#/courses/${course.id}`, class: "course-link" }, course.title),
        course.description ? h("p", { class: "muted" }, course.description) : null,
        h("p", { class: "muted small" }, `Created ${formatDate(course.created_at)}`),
      ),
      h("div", { class: "actions" }, deleteButton, confirmBox),
    );
    deleteButton.addEventListener("click", () => {
      deleteButton.hidden = true;
      const yes = h("button", { type: "button", class: "danger" }, "Delete for good");
      const no = h("button", { type: "button", class: "secondary" }, "Keep");
      replaceChildren(confirmBox, h("span", {}, "Delete it, its materials and files? "), yes, no);
      confirmBox.hidden = false;
      no.focus();
      no.addEventListener("click", () => {
        confirmBox.hidden = true;
        deleteButton.hidden = false;
        deleteButton.focus();
      });
      yes.addEventListener("click", async () => {
        try {
          await api.remove(`/courses/${course.id}`);
          item.remove();
          announce(`Course ${course.title} deleted`);
          if (!list.children.length) replaceChildren(status, message("No courses yet.", "info"));
        } catch (error) {
          replaceChildren(confirmBox, message(error.message));
        }
      });
    });
    return item;
  }

  async function load(cursor) {
    try {
      const page = await api.get(`/courses?limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      if (!cursor) list.replaceChildren();
      for (const course of page.items) list.append(row(course));
      replaceChildren(status, list.children.length ? null : message("No courses yet.", "info"));
      replaceChildren(
        more,
        page.next_cursor
          ? h("button", { type: "button", class: "secondary", onclick: () => load(page.next_cursor) }, "More courses")
          : null,
      );
    } catch (error) {
      replaceChildren(status, message(error.message));
    }
  }

  replaceChildren(
    main,
    h("div", { class: "two-columns" },
      h("section", { class: "card", "aria-labelledby": "courses-title" },
        h("h1", { id: "courses-title" }, "Courses"), status, list, more),
      form,
    ),
  );
  load(null);
}
