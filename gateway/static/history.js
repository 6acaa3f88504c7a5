// This tab's results: remembered in sessionStorage (ids and words, no pictures), shown as a strip of
// thumbnails, and the shown job's id kept in the URL (#job=<id>), so a reload or a shared link shows the
// picture again, or follows its job if unfinished, while the server keeps it. This module, progress.js,
// result.js and api-key.js call one another (a finished job is remembered and shown, the strip and a link
// show or follow a job, a key once given opens the link that waited for it): functions only, called
// after the page has loaded, so the import cycle among them is harmless.

import { askForKey } from "./api-key.js";
import { api } from "./api.js";
import { explainFailure, explainProblem } from "./messages.js";
import { $, clearMessages, showError, showInfo } from "./page.js";
import { describePlacement } from "./placement.js";
import { explain, runJob } from "./progress.js";
import { showResult, updateOutput } from "./result.js";
import { state } from "./state.js";

const HISTORY_ITEM = "sitter.history"; // this tab's results (sessionStorage): ids and words, no pictures
const HISTORY_SIZE = 12;

// A finished job as the page keeps it: what people read in the history strip, and what naming needs.
export function remember(job) {
  const painting = state.paintings.find((item) => item.id === job.params.painting);
  const { box, width, height, format } = job.result;
  const many = Array.isArray(job.result.people);
  const entry = {
    id: job.id,
    painting: job.params.painting || null,
    paintingTitle: painting ? painting.title : job.params.painting || "Your own painting",
    styleWords: styleWords(job.params.style, job),
    placement: many ? peopleWords(job) : box ? describePlacement(box, box.w, width, height) : "",
    people: many ? job.result.people.length : 1,
    format,
    width,
    height,
    created: job.created_at || new Date().toISOString(),
  };
  state.history = [entry, ...state.history.filter((item) => item.id !== entry.id)];
  for (const dropped of state.history.splice(HISTORY_SIZE)) {
    forgetPicture(dropped.id);
  }
  saveHistory();
  return entry;
}

// "in its own style", "in the style of Built-in: mosaic": a style id of the job (the stored id: the
// painting's own id, or `custom` for an uploaded painting's).
function styleWords(id, job, ownWords = "in its own style") {
  if (id === job.params.painting || id === "custom") {
    return ownWords;
  }
  return `in the style of ${state.styles.find((item) => item.id === id)?.title || id}`;
}

// "2 people: person 1 standing at the bottom left, ...; person 2 (in the style of ..., 50% strength) ..."
// (a group photo's people are named as found in it, left to right).
function peopleWords(job) {
  const { people: placed, width, height } = job.result;
  const group = job.params.group?.every_person ? " from your group photo" : "";
  const own = job.params.group?.people || {};
  const each = placed.map((person) => {
    const { style, strength } = own[String(person.person)] || {};
    const words = [
      style && style !== job.params.style ? styleWords(style, job, "in the painting's own style") : "",
      strength != null && strength !== job.params.strength ? `${Math.round(100 * strength)}% strength` : "",
    ].filter(Boolean);
    const styled = words.length ? ` (${words.join(", ")})` : "";
    return `person ${person.person}${styled} ${describePlacement(person.box, person.box.w, width, height)}`;
  });
  return `${placed.length} ${placed.length === 1 ? "person" : "people"}${group}: ${each.join("; ")}`;
}

function saveHistory() {
  try {
    sessionStorage.setItem(HISTORY_ITEM, JSON.stringify(state.history));
  } catch {
    // storage full or disabled: the strip still works until the tab closes
  }
}

export function loadHistory() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(HISTORY_ITEM) || "[]");
    state.history = Array.isArray(saved) ? saved.filter((entry) => entry && entry.id && entry.created) : [];
  } catch {
    state.history = [];
  }
}

function forgetPicture(id) {
  const picture = state.pictures.get(id);
  if (picture) {
    URL.revokeObjectURL(picture.url);
    state.pictures.delete(id);
  }
  if (state.thumbs.has(id)) {
    URL.revokeObjectURL(state.thumbs.get(id));
    state.thumbs.delete(id);
  }
}

// The strip after a reload: the result's small JPEG (a few kB), not the whole picture; a job from before
// thumbnails existed shows its picture instead.
async function thumbnailOf(entry) {
  const known = state.thumbs.get(entry.id) || state.pictures.get(entry.id)?.url;
  if (known) {
    return known;
  }
  let url;
  try {
    url = URL.createObjectURL(await api.image(`/v1/jobs/${entry.id}/artifacts/thumbnail`));
  } catch {
    return (await pictureOf(entry)).url;
  }
  state.thumbs.set(entry.id, url);
  return url;
}

export async function pictureOf(entry) {
  let picture = state.pictures.get(entry.id);
  if (!picture) {
    const blob = await api.image(`/v1/jobs/${entry.id}/result`);
    picture = { blob, url: URL.createObjectURL(blob) };
    state.pictures.set(entry.id, picture);
  }
  return picture;
}

// A result gone from the server (expired, deleted): out of the strip, and said kindly if it was asked for.
export function dropEntry(id) {
  state.history = state.history.filter((entry) => entry.id !== id);
  forgetPicture(id);
  saveHistory();
  renderHistory();
}

export const GONE =
  "That picture is no longer on the server: pictures are kept only for a while, then deleted. Make a new one below, it only takes a moment.";

// A thumbnail is fetched only once its place in the strip is on screen (a long history costs nothing more).
const pendingThumbs = new Map();
const thumbs = new IntersectionObserver((seen) => {
  for (const { target, isIntersecting } of seen) {
    const entry = pendingThumbs.get(target);
    if (!isIntersecting || !entry) {
      continue;
    }
    thumbs.unobserve(target);
    pendingThumbs.delete(target);
    thumbnailOf(entry)
      .then((url) => {
        target.src = url;
      })
      .catch((error) => {
        if (error.status === 404 || error.status === 410) {
          dropEntry(entry.id);
        }
      });
  }
});

// Rebuilt only when the entries change; otherwise only which one is shown moves (keeping the focus).
export function renderHistory() {
  const list = $("history-list");
  const ids = state.history.map((entry) => entry.id).join(" ");
  if (list.dataset.ids === ids) {
    for (const button of list.querySelectorAll(".history-item")) {
      button.toggleAttribute("aria-current", button.dataset.job === state.shown?.id);
      if (button.hasAttribute("aria-current")) {
        button.setAttribute("aria-current", "true");
      }
    }
    return;
  }
  list.dataset.ids = ids;
  for (const img of pendingThumbs.keys()) {
    thumbs.unobserve(img);
  }
  pendingThumbs.clear();
  list.replaceChildren();
  for (const entry of state.history) {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "history-item";
    button.dataset.job = entry.id;
    if (state.shown && state.shown.id === entry.id) {
      button.setAttribute("aria-current", "true");
    }
    const img = document.createElement("img");
    img.alt = "";
    img.width = 96;
    img.height = Math.max(1, Math.round((96 * entry.height) / entry.width)) || 64;
    const shown = state.pictures.get(entry.id)?.url || state.thumbs.get(entry.id);
    if (shown) {
      img.src = shown;
    } else {
      pendingThumbs.set(img, entry);
      thumbs.observe(img); // after a reload: fetched when seen, not all twelve at once
    }
    const words = document.createElement("span");
    words.className = "history-words";
    for (const [tag, text] of [
      ["strong", entry.paintingTitle],
      ["span", entry.styleWords],
      ["span", entry.placement],
    ]) {
      const line = document.createElement(tag);
      line.textContent = text;
      words.append(line);
    }
    button.append(img, words);
    button.addEventListener("click", () => {
      clearMessages();
      showResult(entry).catch(explain);
    });
    item.append(button);
    list.append(item);
  }
  $("history").hidden = state.history.length < 2; // one picture is the result itself
  updateOutput();
}

export function jobFromUrl() {
  const match = location.hash.match(/^#job=([0-9a-f]{32})$/);
  return match ? match[1] : null;
}

export function setJobInUrl(id) {
  const url = id ? `#job=${id}` : location.pathname + location.search;
  if ((id && location.hash !== url) || (!id && location.hash)) {
    history.replaceState(null, "", url);
  }
}

// A reload or a shared link: show the job again while the server keeps it, follow it if unfinished.
export async function restore(id) {
  state.pendingRestore = null;
  let job;
  try {
    job = await api.job(id);
  } catch (error) {
    if (error.status === 401) {
      state.pendingRestore = id;
      showError("submit", "This server needs an API key to show that picture. Enter yours below.");
      askForKey();
      return;
    }
    setJobInUrl(null);
    showInfo("restore", error.status === 404 ? GONE : explainProblem(error));
    dropEntry(id);
    return;
  }
  if (job.status === "succeeded") {
    state.job = job;
    await showResult(remember(job)).catch(explain);
  } else if (job.status === "failed") {
    showInfo("restore", `That picture could not be made. ${explainFailure(job.error)}`);
  } else if (job.status === "canceled") {
    showInfo("restore", "That picture was cancelled before it was finished. Make a new one below.");
  } else {
    state.runMany = false; // the job document says (its plan stage) whether it has several people
    await runJob(async () => job);
  }
}
