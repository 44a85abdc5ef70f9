"""The author panel in headless Chromium against a real server on loopback.

The author's path end to end — sign in, create a course, upload two files with progress, watch
them reach done, generate, read the outline, publish it, answer an exercise, review it; correct
the structure in place (with a 412 from a change behind the panel's back), reorder lessons by drag
and drop and by keyboard, regenerate a module with instructions, read the history and a diff,
restore a version, see the stale banner, publish from the history; read the costs and the key —
with a `<script>` in every text field and a screenshot of every step at 1280 and 390 px in
PANEL_SCREENSHOTS (default var/screenshots/panel). Any dialog, any script run from
user text, any CSP violation or a request leaving the server fails the run. Chromium is
Debian's (`/usr/bin/chromium`); with REQUIRE_SERVICES=1 a missing Chromium fails.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Dialog, Page, Request, expect

from tests.api_server import PROJECT_ROOT, ApiServer, run_api_server
from tests.browser import SCREENSHOTS, WIDE, keep_on_server, record_errors, shoot_both_widths

pytestmark = pytest.mark.slow

MAX_UPLOAD_BYTES = 50_000
STEP_TIMEOUT_MS = 60_000
# Every field a person types into gets this; were it ever parsed as HTML, window.__xss is set.
XSS = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 1">'
TUTORIAL = PROJECT_ROOT / "tests" / "data" / "tutorial"
LECTURE = """WEBVTT

00:00:01.000 --> 00:00:09.000
A branch is a movable pointer to one commit in the history.

00:00:10.000 --> 00:00:19.000
To create a branch, run git branch with its name; git switch moves you onto it.

00:00:20.000 --> 00:00:29.000
A merge joins the history of two branches into one commit with two parents.
"""
RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    with run_api_server(
        tmp_path_factory.mktemp("panel"),
        EMBEDDED_WORKER="true",
        MAX_UPLOAD_BYTES=str(MAX_UPLOAD_BYTES),
    ) as running:
        yield running


@dataclass
class Watched:
    page: Page
    outside: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    material_posts: int = 0

    def csp_violations(self) -> list[str]:
        found: list[str] = self.page.evaluate("window.__cspViolations")
        return found + [line for line in self.console if "Content Security Policy" in line]

    def shoot(self, name: str) -> None:
        shoot_both_widths(self.page, name)


@pytest.fixture
def watched(browser: Browser, server: ApiServer) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": WIDE, "height": 900})
    context.add_init_script(RECORD_CSP_VIOLATIONS)
    page = context.new_page()
    page.set_default_timeout(STEP_TIMEOUT_MS)
    seen = Watched(page)

    def count(request: Request) -> None:
        seen.urls.append(request.url)
        if request.method == "POST" and re.search(r"/materials$", request.url):
            seen.material_posts += 1

    def refuse_dialog(dialog: Dialog) -> None:
        seen.dialogs.append(dialog.message)
        dialog.dismiss()

    keep_on_server(page, server.base_url, seen.outside, count)
    record_errors(page, seen.console)
    page.on("dialog", refuse_dialog)
    yield seen
    context.close()


def sign_in(page: Page, server: ApiServer, key: str) -> None:
    page.goto(server.base_url + "/app")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()


def test_the_page_and_its_assets_are_served_strictly(server: ApiServer) -> None:
    page = httpx.get(server.base_url + "/app")
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "http:" not in policy and "https:" not in policy
    assert page.headers["cache-control"] == "no-cache"
    assert "<script>" not in page.text and " style=" not in page.text
    assets = re.findall(r'(?:src|href)="(/app/assets/[^"]+)"', page.text)
    assert len(assets) == 3
    for asset in assets:
        served = httpx.get(server.base_url + asset)
        assert served.status_code == 200, asset
        assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
    stale = re.sub(r"/app/assets/[0-9a-f]+/", "/app/assets/0000000000000000/", assets[0])
    assert httpx.get(server.base_url + stale).status_code == 404


def test_a_wrong_key_shows_a_message_and_no_data(watched: Watched, server: ApiServer) -> None:
    page = watched.page
    server.new_key()  # a tenant with a key exists; the typed one is not it
    sign_in(page, server, "cs_live_" + "0" * 32)
    expect(page.get_by_role("alert")).to_contain_text("This key was not accepted")
    expect(page.get_by_role("navigation", name="Main")).to_be_hidden()
    assert page.evaluate("sessionStorage.length") == 0
    watched.shoot("00-wrong-key")
    sign_in(page, server, "not a key at all")
    expect(page.get_by_role("alert")).to_contain_text("This key was not accepted")
    assert watched.csp_violations() == []
    assert watched.outside == []


def test_the_authors_path(watched: Watched, server: ApiServer, tmp_path: Path) -> None:
    page = watched.page
    key = server.new_key("--rate-prep", "1000", "--rate-check", "1000")

    # Sign in: the key goes to sessionStorage only.
    page.goto(server.base_url + "/app")
    watched.shoot("01-sign-in")
    expect(page.get_by_label("API key")).to_be_focused()
    page.keyboard.type(key)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Courses")).to_be_visible()
    assert page.evaluate("document.cookie") == ""
    assert page.evaluate("localStorage.length") == 0
    watched.shoot("02-courses")

    # Create a course whose title and description are markup.
    page.get_by_label("Title").fill(f"Git {XSS}")
    page.get_by_label("Description (optional)").fill(f"About {XSS}")
    page.get_by_role("button", name="Create course").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Git {XSS}")
    watched.shoot("03-course")
    # The file input is reached by keyboard right after the way back to the list.
    page.get_by_role("link", name="All courses").focus()
    page.keyboard.press("Tab")
    expect(page.locator("#material-files")).to_be_focused()

    # Two files: a chapter chosen with the file input, a lecture's subtitles dropped on the drop
    # zone; both show a progress bar that reaches its end. A file over the limit is refused
    # before it is sent.
    first = TUTORIAL / "01-getting-started.md"
    second = tmp_path / f"lecture {XSS.replace('/', '-')}.vtt"
    second.write_text(LECTURE)
    page.locator("#material-files").set_input_files(str(first))
    drop_file(page, second.name, second.read_text(), "text/vtt")
    bars = page.locator(".uploads progress")
    expect(bars).to_have_count(2)
    expect(page.locator(".upload.sent")).to_have_count(2)
    for index in range(2):
        bar = bars.nth(index)
        assert bar.get_attribute("value") == bar.get_attribute("max")
    expect(page.locator(".upload-state").first).to_have_text("Uploaded")
    watched.shoot("04-uploaded")

    posts_before = watched.material_posts
    big = tmp_path / "too-big.md"
    big.write_text("# Big\n\n" + "word " * (MAX_UPLOAD_BYTES // 4))
    page.locator("#material-files").set_input_files(str(big))
    refused = page.locator(".upload.refused")
    expect(refused).to_contain_text("over the 48.8 KiB limit")
    assert watched.material_posts == posts_before, "the oversized file was sent"

    # A URL the server refuses to fetch (loopback) ends as an error with its reason.
    page.get_by_label("Web page address").fill(f"http://127.0.0.1:9/{XSS}")
    page.get_by_role("button", name="Add page").click()
    rows = page.locator("table.materials tbody tr")
    expect(rows).to_have_count(3)
    expect(page.locator("tr[data-status='done']")).to_have_count(2, timeout=120_000)
    expect(page.locator("tr[data-status='error']")).to_have_count(1, timeout=120_000)
    expect(page.locator("tr[data-status='error'] .material-error")).not_to_be_empty()
    watched.shoot("05-materials-done")

    # Generate and watch the job to the outline.
    page.get_by_role("button", name="Generate structure").click()
    expect(page.locator("[data-job-status='succeeded']")).to_be_visible(timeout=120_000)
    modules = page.locator(".outline .module")
    expect(modules.first).to_be_visible()
    assert page.locator(".outline .lesson").count() >= 2
    assert page.locator(".outline .concept").count() >= 2
    # The lecture's lesson and concepts name the video and the timecode.
    lecture = page.locator(".outline .lesson", has=page.locator(".ref-video")).first
    expect(lecture.locator(".refs .ref-video").first).to_contain_text(" at 00:00:")
    watched.shoot("06-outline")

    # Learners answer the published version: publish the generated one.
    expect(page.locator("[data-published-version='none']")).to_be_visible()
    page.locator(".publication").get_by_role(
        "button", name=re.compile(r"^Publish version \d+")
    ).click()
    expect(page.locator(".publication p")).to_contain_text("is published", timeout=30_000)
    watched.shoot("06b-published")

    # Answer the lecture's exercise as a learner, badly: the verdict comes back with its
    # criteria and where to review (the lecture at a timecode).
    lecture.locator(".try summary").first.click()
    exercise = lecture.locator(".try").first
    exercise.get_by_label("Learner reference").fill(f"learner {XSS}")
    exercise.get_by_label("Answer").fill(f"I am not sure. {XSS}")
    exercise.get_by_role("button", name="Submit answer").click()
    verdict = exercise.locator(".verdict")
    expect(verdict).to_be_visible(timeout=120_000)
    expect(verdict.locator(".verdict-score")).to_contain_text("points")
    assert verdict.locator(".criteria li").count() >= 1
    expect(verdict.locator(".review-links li").first).to_contain_text("lecture")
    expect(verdict.locator(".review-links li").first).to_contain_text(" at 00:00:")
    watched.shoot("07-verdict")

    # Review it as the teacher; the agreement report counts the review.
    exercise.get_by_label(re.compile(r"^Score")).fill("4")
    exercise.get_by_label("Comment (optional)").fill(f"Good start {XSS}")
    exercise.get_by_role("button", name="Save review").click()
    expect(exercise.locator(".review-form [role='status']")).to_contain_text("Saved: 4 points")
    overall = page.locator(".agreement-table tbody tr").first
    expect(overall).to_contain_text("Overall")
    expect(overall.locator("td").first).to_have_text("1")
    watched.shoot("08-review-agreement")

    author_the_structure(watched, server, key, tmp_path)

    # The cost report as charts by day and by action.
    page.get_by_role("link", name="Costs").click()
    expect(page.get_by_role("heading", name="Costs")).to_be_visible()
    charts = page.locator("figure.chart")
    expect(charts).to_have_count(2)
    assert page.locator("figure.chart svg .bar rect").count() >= 2
    expect(charts.nth(1)).to_contain_text("course_structuring")
    watched.shoot("09-costs")

    # The key's limits and expiry.
    page.get_by_role("link", name="Key").click()
    expect(page.locator(".facts")).to_contain_text("48.8 KiB")
    expect(page.locator(".facts")).to_contain_text("Never")
    watched.shoot("10-key")

    # Back on the course list, the markup is text; the course can be deleted from there.
    page.get_by_role("link", name="Courses").click()
    expect(page.locator(".course-link")).to_have_text(f"Git {XSS}")

    # Sign out forgets the key.
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("API key")).to_be_visible()
    assert page.evaluate("sessionStorage.length") == 0
    watched.shoot("11-signed-out")

    assert page.evaluate("window.__xss") is None, "user text ran as a script"
    assert watched.dialogs == []
    assert watched.csp_violations() == []
    assert watched.outside == []
    assert not any(key in url for url in watched.urls), "the key appeared in a URL"
    assert [line for line in watched.console if "status of 4" not in line] == []
    print(f"panel screenshots: {SCREENSHOTS}")


def drop_file(page: Page, name: str, text: str, content_type: str) -> None:
    """Drop a file on the drop zone as a person dragging it from the desktop would."""
    page.evaluate(
        """([name, text, type]) => {
            const transfer = new DataTransfer();
            transfer.items.add(new File([text], name, { type }));
            const zone = document.getElementById("drop-zone");
            for (const type of ["dragenter", "dragover", "drop"]) {
                zone.dispatchEvent(new DragEvent(type, { dataTransfer: transfer, bubbles: true }));
            }
        }""",
        [name, text, content_type],
    )


def test_the_course_list_deletes_after_a_confirmation(watched: Watched, server: ApiServer) -> None:
    page = watched.page
    sign_in(page, server, server.new_key())
    page.get_by_label("Title").fill("Short-lived")
    page.get_by_role("button", name="Create course").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Short-lived")
    page.get_by_role("link", name="All courses").click()
    page.get_by_role("button", name="Delete Short-lived").click()
    page.get_by_role("button", name="Keep").click()
    expect(page.locator(".course-link")).to_have_count(1)
    page.get_by_role("button", name="Delete Short-lived").click()
    page.get_by_role("button", name="Delete for good").click()
    expect(page.locator(".course-link")).to_have_count(0)
    expect(page.get_by_text("No courses yet.")).to_be_visible()
    page.reload()
    expect(page.get_by_text("No courses yet.")).to_be_visible()  # still signed in, still gone
    assert watched.dialogs == []


def author_the_structure(watched: Watched, server: ApiServer, key: str, tmp_path: Path) -> None:
    """The authoring loop in the panel, each step checked against the API behind it."""
    page = watched.page
    course_id = page.url.rsplit("/", 1)[-1]
    with httpx.Client(base_url=f"{server.base_url}/api/v1", headers={"X-API-Key": key}) as api:

        def structure() -> dict[str, Any]:
            found: dict[str, Any] = api.get(f"/courses/{course_id}").json()
            return found

        def lessons_of(module_index: int) -> list[dict[str, Any]]:
            found: list[dict[str, Any]] = structure()["structure"]["modules"][module_index][
                "lessons"
            ]
            return found

        module = page.locator(".outline .module").first
        lessons = module.locator(":scope > ol.lessons > li.lesson")
        lesson = lessons.first
        lesson_id = lessons_of(0)[0]["id"]
        title = lesson.locator(".lesson-title .editable")

        # Edit a lesson title in place: click, type, Save.
        title.click()
        editor = lesson.locator("form.editor")
        editor.get_by_label("Lesson title").fill("Branches, first try")
        editor.get_by_role("button", name="Save").click()
        expect(title).to_have_text("Branches, first try")
        expect(title).to_be_focused()
        expect(lesson.locator(":scope > .item-head .origin")).to_have_text("edited")

        # Someone changes the course behind the panel's back: the panel's next save is a 412,
        # the outline reloads and the typed text stays in the field; saving again applies it.
        behind = structure()["version"]
        changed = api.patch(
            f"/courses/{course_id}/lessons/{lesson_id}",
            json={"title": "Changed behind the panel"},
            headers={"If-Match": f'"{behind}"'},
        )
        assert changed.status_code == 200, changed.text
        title.click()
        mine = f"Branches by hand {XSS}"
        editor.get_by_label("Lesson title").fill(mine)
        editor.get_by_role("button", name="Save").click()
        expect(editor.get_by_role("alert")).to_contain_text(
            re.compile("someone else changed this course; reloaded", re.IGNORECASE)
        )
        expect(page.locator(".outline > p.muted")).to_contain_text(f"Version {behind + 1},")
        expect(editor.get_by_label("Lesson title")).to_have_value(mine)
        expect(editor.get_by_label("Lesson title")).to_be_focused()
        watched.shoot("08a-conflict")
        editor.get_by_role("button", name="Save").click()
        expect(title).to_have_text(mine)
        kept = next(item for item in lessons_of(0) if item["id"] == lesson_id)
        assert (kept["title"], kept["origin"]) == (mine, "edited")
        watched.shoot("08b-edited")

        # The keyboard: Enter opens a field, Escape leaves it unchanged; a concept's
        # definition gets markup; a refusal (an empty title) shows the API's message.
        definition = lesson.locator(".concept .concept-body .editable").first
        before = definition.inner_text()
        definition.focus()
        page.keyboard.press("Enter")
        concept_editor = lesson.locator(".concept form.editor").first
        expect(concept_editor.get_by_label("Definition")).to_be_focused()
        page.keyboard.type(" more")
        page.keyboard.press("Escape")
        expect(definition).to_have_text(before)
        expect(definition).to_be_focused()
        page.keyboard.press("Enter")
        concept_editor.get_by_label("Definition").fill(f"A pointer {XSS}")
        concept_editor.get_by_role("button", name="Save").click()
        expect(lesson.locator(".concept .concept-body .editable").first).to_have_text(
            f"A pointer {XSS}"
        )
        module.locator(":scope > .item-head .editable").click()
        module_editor = module.locator(":scope > .item-head form.editor")
        module_editor.get_by_label("Module title").fill("   ")
        module_editor.get_by_role("button", name="Save").click()
        expect(module_editor.get_by_role("alert")).to_contain_text("title")
        module_editor.get_by_role("button", name="Cancel").click()

        # Add a lesson to the module, then put it first by drag and drop, and back by keyboard.
        add = module.locator(":scope > details.add")
        add.locator("summary").click()
        add.get_by_label("Lesson title").fill(f"Practice {XSS}")
        add.locator("button[type=submit]").click()
        expect(lessons).to_have_count(len(lessons_of(0)))
        added = lessons.last
        expect(added.locator(".lesson-title .editable")).to_have_text(f"Practice {XSS}")
        expect(added.locator(":scope > .item-head .origin")).to_have_text("authored")
        count = lessons.count()
        assert count >= 2
        # Playwright cannot scroll in the middle of a drag: the whole page fits on the screen.
        tall = page.evaluate("document.documentElement.scrollHeight")
        page.set_viewport_size({"width": WIDE, "height": tall + 100})
        lessons.last.locator(".lesson-title .drag-handle").drag_to(
            lessons.first, target_position={"x": 40, "y": 4}
        )
        expect(lessons.first.locator(".lesson-title .editable")).to_have_text(f"Practice {XSS}")
        page.set_viewport_size({"width": WIDE, "height": 900})
        assert lessons_of(0)[0]["title"] == f"Practice {XSS}"
        watched.shoot("08c-dragged")
        down = lessons.first.locator(":scope > .item-head [data-move='down']")
        down.focus()
        page.keyboard.press("Enter")
        expect(lessons.nth(1).locator(".lesson-title .editable")).to_have_text(f"Practice {XSS}")
        assert lessons_of(0)[1]["title"] == f"Practice {XSS}"
        expect(lessons.nth(1).locator(":scope > .item-head [data-move='down']")).to_be_focused()
        page.keyboard.press("Alt+ArrowUp")
        expect(lessons.first.locator(".lesson-title .editable")).to_have_text(f"Practice {XSS}")
        page.keyboard.press("Alt+ArrowDown")
        expect(lessons.nth(1).locator(".lesson-title .editable")).to_have_text(f"Practice {XSS}")
        assert lessons_of(0)[0]["id"] == lesson_id

        # An exercise's criteria, one per line; a concept deleted after a second confirmation.
        criteria = lesson.locator(".exercise [data-field='criteria']").first
        criteria.click()
        criteria_editor = lesson.locator(".exercise form.editor").first
        criteria_editor.get_by_label("Criteria").fill(f"Names the command\nSays why {XSS}")
        criteria_editor.get_by_role("button", name="Save").click()
        expect(lesson.locator(".exercise [data-field='criteria'] li").first).to_have_text(
            "Names the command"
        )
        exercise = lessons_of(0)[0]["exercises"][0]
        assert exercise["criteria"] == ["Names the command", f"Says why {XSS}"]
        concepts = lesson.locator(".concept")
        before_delete = concepts.count()
        doomed = lessons_of(0)[0]["concepts"][-1]["title"]
        lesson.get_by_role("button", name=f"Delete concept {doomed}").click()
        lesson.get_by_role("button", name="Keep").click()
        expect(concepts).to_have_count(before_delete)
        lesson.get_by_role("button", name=f"Delete concept {doomed}").click()
        lesson.get_by_role("button", name="Delete for good").click()
        expect(concepts).to_have_count(before_delete - 1)
        assert doomed not in [item["title"] for item in lessons_of(0)[0]["concepts"]]

        # Regenerate the module with instructions: the offline structurer says it ignored them,
        # and the edited title is kept.
        regenerate = module.locator(":scope > details.regenerate")
        regenerate.locator("summary").click()
        instructions = regenerate.get_by_label("Instructions for the model (optional)")
        instructions.fill(f"Shorter lessons {XSS}")
        expect(regenerate).to_contain_text(f"{len('Shorter lessons ' + XSS)} / 2000 characters")
        regenerate.get_by_role("button", name="Regenerate module").click()
        done = page.locator(".regen-status [data-job-status='succeeded']")
        expect(done).to_be_visible(timeout=120_000)
        expect(page.locator(".regen-status")).to_contain_text(
            "ignored: the offline structurer takes no instructions"
        )
        expect(page.locator(".outline .lesson-title .editable", has_text=mine)).to_have_count(1)
        kept = next(item for item in lessons_of(0) if item["id"] == lesson_id)
        assert (kept["title"], kept["origin"]) == (mine, "edited")
        watched.shoot("08d-regenerated")

        # The history: every step is a version; the diff from the generated one names the
        # title change; any version reads back read-only; one is restored as a new version.
        history = page.locator("section[aria-labelledby='history-title']")
        rows = history.locator("table.versions tbody tr")
        expect(rows.first).to_have_attribute("data-kind", "regenerated")
        generated = int(
            history.locator("tr[data-kind='generated']").last.get_attribute("data-version") or 0
        )
        newest = int(rows.first.get_attribute("data-version") or 0)
        assert newest >= generated + 6
        history.get_by_label("From version").select_option(str(generated))
        history.get_by_label("To version").select_option(str(newest))
        history.get_by_role("button", name="Compare").click()
        changed_items = history.locator(".diff-changed")
        expect(changed_items).to_contain_text(f"lesson “{mine}”")
        expect(changed_items.locator("del").first).to_be_visible()
        expect(changed_items).to_contain_text(mine)
        expect(history.locator(".diff-added")).to_contain_text(f"Practice {XSS}")
        watched.shoot("08e-diff")
        history.get_by_role("button", name=f"View version {generated}", exact=True).click()
        expect(history.locator(f".version-view[data-version='{generated}']")).to_be_visible()
        expect(history.locator(".version-view .lesson").first).not_to_contain_text(mine)
        watched.shoot("08f-version")
        restore_from = newest - 1
        history.get_by_role("button", name=f"Restore version {restore_from}", exact=True).click()
        history.get_by_role("button", name=f"Restore version {restore_from} for good").click()
        expect(rows.first).to_have_attribute("data-kind", "restored")
        expect(history).to_contain_text(f"Version {restore_from} restored as version {newest + 1}")
        assert structure()["version"] == newest + 1
        watched.shoot("08g-restored")

        # A material added after the structure: the stale banner names it; Regenerate catches up.
        page.locator("#material-files").set_input_files(str(TUTORIAL / "02-recording-changes.md"))
        banner = page.locator(".stale-banner")
        expect(banner).to_be_visible(timeout=120_000)
        expect(banner.locator("[data-stale='added']")).to_contain_text("02-recording-changes.md")
        assert structure()["stale"] is True
        watched.shoot("08h-stale")
        banner.get_by_role("button", name="Regenerate").click()
        expect(banner).to_be_hidden(timeout=120_000)
        assert structure()["stale"] is False
        expect(page.locator(".outline .lesson-title .editable", has_text=mine)).to_have_count(1)

        # Publish the newest version from the history.
        latest = int(rows.first.get_attribute("data-version") or 0)
        history.get_by_role("button", name=f"Publish version {latest}", exact=True).click()
        expect(rows.first.locator(".published")).to_have_text("Published")
        expect(page.locator(".publication p")).to_contain_text(f"Version {latest} is published")
        assert api.get(f"/courses/{course_id}").json()["published_version"] == latest
        watched.shoot("08i-published")
