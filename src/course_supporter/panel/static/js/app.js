// The panel's entry point: sign-in, the hash routes (#/courses, #/courses/ID, #/webhooks,
// #/costs, #/me), the header, and the session's live event stream with its indicator. A screen is `render(main, context, ...params)` returning an optional `stop`.
import * as api from "./api.js";
import { h, message, replaceChildren } from "./dom.js";
import { onLiveState, startLive, stopLive } from "./live.js";
import { forgetKey, storeKey, storedKey } from "./session.js";
import * as costs from "./screens/costs.js";
import * as course from "./screens/course.js";
import * as courses from "./screens/courses.js";
import * as me from "./screens/me.js";
import * as webhooks from "./screens/webhooks.js";

const ROUTES = [
  [/^#\/courses$/, courses.render],
  [/^#\/courses\/([0-9a-fA-F-]{36})$/, course.render],
  [/^#\/webhooks$/, webhooks.render],
  [/^#\/costs$/, costs.render],
  [/^#\/me$/, me.render],
];

const main = document.getElementById("main");
const nav = document.getElementById("main-nav");
const who = document.getElementById("who");
const signOutButton = document.getElementById("sign-out");
const liveState = document.getElementById("live-state");
const LIVE_TEXT = {
  off: ["", ""],
  connecting: ["Connecting…", "Opening the live event stream"],
  live: ["Live", "Changes appear as they happen (Server-Sent Events)"],
  polling: ["Offline", "The live event stream is unavailable: checking for changes every second"],
};
const context = { me: null };
let stopScreen = null;

function leaveScreen() {
  if (stopScreen) stopScreen();
  stopScreen = null;
}

function showSignedOut(notice) {
  leaveScreen();
  stopLive();
  context.me = null;
  nav.hidden = true;
  signOutButton.hidden = true;
  who.textContent = "";
  const input = h("input", {
    id: "api-key",
    name: "api-key",
    type: "password",
    autocomplete: "off",
    spellcheck: "false",
    required: true,
    "aria-describedby": "api-key-help",
  });
  const status = h("div", { id: "sign-in-status" });
  const form = h(
    "form",
    { class: "card sign-in", "aria-labelledby": "sign-in-title" },
    h("h1", { id: "sign-in-title" }, "Sign in"),
    h("label", { for: "api-key" }, "API key"),
    input,
    h(
      "p",
      { id: "api-key-help", class: "help" },
      "A key starting cs_live_, from `course-supporter keys create`. It stays in this tab only " +
        "and is forgotten when you sign out or close the tab.",
    ),
    h("button", { type: "submit" }, "Sign in"),
    status,
  );
  if (notice) replaceChildren(status, message(notice));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const key = input.value.trim();
    replaceChildren(status, message("Checking the key…", "info"));
    try {
      const caller = await api.get("/me", { key });
      storeKey(key);
      input.value = "";
      signedIn(caller);
    } catch (error) {
      const text =
        error.status === 401
          ? "This key was not accepted. Check that it was copied whole and has not been revoked or expired."
          : error.message;
      replaceChildren(status, message(text));
      input.focus();
    }
  });
  replaceChildren(main, form);
  input.focus();
}

function signedIn(caller) {
  context.me = caller;
  nav.hidden = false;
  signOutButton.hidden = false;
  who.textContent = `${caller.tenant_name} · ${caller.key_prefix}…`;
  startLive();
  if (!ROUTES.some(([pattern]) => pattern.test(location.hash))) {
    location.hash = "#/courses";
  } else {
    route();
  }
}

function route() {
  if (!context.me) return;
  const hash = location.hash;
  if (!hash.startsWith("#/")) return; // in-page links such as the skip link
  for (const [pattern, render] of ROUTES) {
    const match = pattern.exec(hash);
    if (!match) continue;
    leaveScreen();
    main.replaceChildren();
    for (const link of nav.querySelectorAll("a")) {
      const current = hash.startsWith(link.getAttribute("href"));
      if (current) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
    stopScreen = render(main, context, ...match.slice(1)) || null;
    main.focus();
    return;
  }
  location.hash = "#/courses";
}

function signOut() {
  forgetKey();
  showSignedOut();
}

api.whenUnauthorized(() => {
  forgetKey();
  showSignedOut("The key stopped being accepted (revoked or expired); sign in again.");
});
signOutButton.addEventListener("click", signOut);
onLiveState((state) => {
  const [text, title] = LIVE_TEXT[state];
  liveState.hidden = state === "off";
  liveState.dataset.state = state;
  liveState.textContent = text;
  liveState.title = title;
});
window.addEventListener("hashchange", route);

async function start() {
  const key = storedKey();
  if (!key) {
    showSignedOut();
    return;
  }
  try {
    signedIn(await api.get("/me"));
  } catch (error) {
    if (error.status !== 401) showSignedOut(error.message);
  }
}

start();
