// The Sitter page: four steps (photo, painting, style, placement), then submit, follow, and show the
// result, with this tab's earlier results in a strip and the shown job's id in the URL (#job=<id>), so a
// reload or a shared link shows it again while the server keeps it. State lives in `state`; handlers
// update it and call refresh() to sync the controls.

import { api, apiKey, follow } from "./api.js";
import { editor, onStage, orderOf, people, stackBoxes } from "./boxes.js";
import { ACCEPT, FIELD_STEP, FORMAT_WORDS, explainFailure, explainProblem, stepOf } from "./messages.js";
import { $, clearMessages, reveal, showError, showInfo, stepSection } from "./page.js";
import { choosePaintingFile, renderGallery } from "./painting-step.js";
import { addPeople, clearGroup, fillStrengths, relayout, showGroup } from "./people.js";
import { describePlacement } from "./placement.js";
import { ghostFromResult, removeFirst, setUpDropzone } from "./portrait-step.js";
import { markStale, refresh, showStale } from "./refresh.js";
import { showSpotsFor } from "./spots.js";
import { objectUrl, several, state } from "./state.js";
import { renderStyles, updateStyleThumb } from "./style-step.js";
import { TooLargeError, megabytes, photosToSend } from "./uploads.js";

const HISTORY_ITEM = "sitter.history"; // this tab's results (sessionStorage): ids and words, no pictures
const HISTORY_SIZE = 12;
const SLOW_QUEUE_S = 8; // queued longer than this: say the service is busy

// ---- Submit and progress --------------------------------------------------------------------------

// The request: `photos` are the files to upload for the people, in order (shrunk where large), or null
// to reuse the portrait already on the server (portrait_from, one person).
function buildForm(photos) {
  const form = new FormData();
  const many = several();
  if (photos) {
    // every photo is sent when there are several (portrait_from holds one photo only), person 1's first
    for (const photo of photos) {
      form.append("portrait", photo, photo.name);
    }
  } else {
    form.append("portrait_from", state.portraitJob);
  }
  if (state.paintingFile) {
    form.append("painting_file", state.paintingFile, state.paintingFile.name);
  } else {
    form.append("painting", state.paintingId);
  }
  form.append("style", $("style-select").value);
  form.append("strength", $("strength").value);
  form.append("keep_colors", String($("keep-colors").checked));
  form.append("harmonize", String($("harmonize").checked));
  form.append("format", $("format").value);
  form.append("output_scale", $("output-scale").value);
  if (!many) {
    for (const [name, value] of Object.entries(editor.values())) {
      form.append(name, value);
    }
  } else if (state.everyone) {
    // every person found in the photo; after a picture of it, what the user chose for its people (the
    // server checks the numbers against the people it finds), else everyone is placed automatically
    form.append("people", "all");
    appendPeople(form, state.group?.people || []);
    if (state.group?.front) {
      form.append("order", orderOf().join(","));
    }
  } else {
    appendPeople(form, people());
    const order = orderOf();
    if (order.at(-1) !== order.length) {
      form.append("order", order.join(","));
    }
  }
  return form;
}

// Only the boxes the user moved: the others are placed automatically, around them; and each person's own
// style and strength, where chosen (else the job's).
function appendPeople(form, everyone) {
  everyone.forEach((person, index) => {
    for (const [name, value] of Object.entries(person.editor.personValues(index + 1))) {
      form.append(name, value);
    }
    if (person.style.value) {
      form.append(`style.${index + 1}`, person.style.value);
    }
    if (person.strength.value) {
      form.append(`strength.${index + 1}`, person.strength.value);
    }
  });
}

const STATE_WORDS = { pending: "waiting", running: "working…", succeeded: "done", failed: "failed", canceled: "cancelled" };

// The stages in words: one person's three, or with several people the plan first and each stage for all.
const STAGE_WORDS = {
  one: { segment: "Cutting you out of the photo", stylize: "Repainting you in the style", composite: "Placing you in the painting" },
  many: {
    plan: "Planning where each of you stands",
    segment: "Cutting each of you out",
    stylize: "Repainting each of you",
    composite: "Placing you all in the painting",
  },
};

function stageList(many) {
  const list = $("stages");
  const kind = many ? "many" : "one";
  if (list.dataset.kind === kind) {
    return;
  }
  list.dataset.kind = kind;
  list.querySelector('[data-stage="plan"]')?.remove();
  if (many) {
    const plan = document.createElement("li");
    plan.dataset.stage = "plan";
    plan.innerHTML = '<span class="dot" aria-hidden="true"></span> <span class="stage-words"></span> <span class="state">waiting</span>';
    list.prepend(plan);
  }
  for (const item of list.children) {
    item.querySelector(".stage-words").textContent = STAGE_WORDS[kind][item.dataset.stage];
    item.querySelector(".person-states")?.remove();
  }
}

// Each person's state in a stage, one small numbered mark each (a phone has room for six on a line); in
// words, the count of those done.
function showPersonStates(item, stage) {
  const each = stage.people || [];
  let marks = item.querySelector(".person-states");
  if (!each.length) {
    marks?.remove();
    return "";
  }
  if (!marks) {
    marks = document.createElement("span");
    marks.className = "person-states";
    marks.setAttribute("aria-hidden", "true"); // the words after the stage say it
    item.append(marks);
  }
  marks.replaceChildren(
    ...each.map(({ person, state }) => {
      const mark = document.createElement("span");
      mark.className = "person-mark";
      mark.dataset.person = String(person);
      mark.dataset.state = state || "pending";
      mark.textContent = String(person);
      return mark;
    }),
  );
  const done = each.filter((person) => person.state === "succeeded").length;
  return stage.state === "running" ? `${done} of ${each.length} done` : "";
}

function showStages(job, since) {
  const many = Boolean(job.stages.plan) || state.runMany;
  stageList(many);
  for (const item of $("stages").children) {
    const stage = job.stages[item.dataset.stage] || {};
    item.dataset.state = stage.state || "pending";
    const duration = stage.state === "succeeded" && stage.duration_ms != null ? ` in ${(stage.duration_ms / 1000).toFixed(1)} s` : "";
    const counted = many ? showPersonStates(item, stage) : "";
    item.querySelector(".state").textContent = counted || (STATE_WORDS[stage.state] || stage.state || "waiting") + duration;
  }
  // While it waits, the job document says how many pictures were asked for before it and are not done
  // (`queue.ahead`). A running job between stages (one done, the next not started) waits for a painter too.
  const working = Object.values(job.stages).some((stage) => stage.state === "running");
  const status = job.status === "running" && !working ? "queued" : job.status;
  const waited = (performance.now() - since) / 1000;
  const ahead = job.queue?.ahead > 0 ? ` (${job.queue.ahead} ${job.queue.ahead === 1 ? "picture" : "pictures"} ahead of yours)` : "";
  const titles = {
    sending: many ? "Sending your photos…" : "Sending your photo…",
    queued:
      waited > SLOW_QUEUE_S
        ? `Waiting for a free painter${ahead}… it's busy right now; yours starts as soon as one is free.`
        : `Waiting for a free painter${ahead}…`,
    running: "Working on it…",
  };
  $("progress-title").textContent = titles[status] || "Working on it…";
}

// The request to send: the photos shrunk where they are large, so that they fit in one request; when they
// cannot, TooLargeError says which are too large and nothing is sent (uploads.js).
async function formToSend() {
  if (!several() && state.portraitJob) {
    return buildForm(null);
  }
  const painting = state.paintingFile;
  if (painting && state.uploads && painting.size > state.uploads.max_file_bytes) {
    const words = `“${painting.name}” is too large to send (${megabytes(painting.size)}): the server takes paintings up to ${megabytes(state.uploads.max_file_bytes)}. Choose a smaller image.`;
    throw Object.assign(new TooLargeError(words), { step: "painting" });
  }
  const originals = people().map((person) => person.file);
  $("progress-title").textContent = originals.length > 1 ? "Getting your photos ready…" : "Getting your photo ready…";
  const photos = await photosToSend(originals, state.uploads, (files) => requestSize(buildForm(files)), Boolean(painting));
  $("progress-title").textContent = originals.length > 1 ? "Sending your photos…" : "Sending your photo…";
  return buildForm(photos);
}

// The bytes the request will have, as the gateway counts them (its limit is on the whole body).
async function requestSize(form) {
  return (await new Response(form).blob()).size;
}

// Reuse the portrait already on the server; if it has expired or was deleted (a canceled job), upload
// the kept file again rather than bothering the user.
async function submitForm() {
  try {
    return await api.submit(await formToSend());
  } catch (error) {
    if (error.field !== "portrait_from") {
      throw error;
    }
    state.portraitJob = null;
    return api.submit(await formToSend());
  }
}

function submit() {
  const many = several();
  const files = people().map((person) => person.file);
  const painting = state.paintingId || state.paintingFile;
  state.runMany = many;
  return runJob(async () => {
    const job = await submitForm();
    // a job with several people holds several photos: the next one-person job uploads its photo again
    state.portraitJob = many ? null : job.id;
    state.sent = { id: job.id, files, painting };
    return job;
  });
}

// Follow a job (a new one, or one restored from the URL) to its end, with the progress view shown above
// any earlier result, which stays: a failed or cancelled run takes nothing away.
async function runJob(start) {
  clearMessages();
  const run = { stopped: false };
  state.run = run;
  state.job = null;
  refresh();
  const since = performance.now();
  $("progress").hidden = false;
  $("cancel-button").disabled = false;
  showStages({ status: "sending", stages: {} }, since);
  updateOutput();
  reveal($("progress"));
  const timer = setInterval(() => {
    $("elapsed").textContent = ((performance.now() - since) / 1000).toFixed(1);
  }, 100);
  try {
    const job = await start();
    state.job = job;
    if (run.stopped) {
      api.cancel(job.id).catch(() => {}); // cancelled while it was being sent
      return;
    }
    const final = await follow(job.id, (doc) => showStages(doc, since), run);
    if (run.stopped) {
      return;
    }
    $("progress").hidden = true;
    state.job = final;
    if (final.status === "succeeded") {
      await showResult(remember(final));
      ghostFromResult(final);
    } else if (final.status === "failed") {
      throw { failure: final.error };
    } else {
      showInfo("submit", "This picture was cancelled before it was finished.");
    }
  } catch (error) {
    explain(error);
  } finally {
    clearInterval(timer);
    $("elapsed").textContent = ((performance.now() - since) / 1000).toFixed(1);
    $("progress").hidden = true;
    if (state.run === run) {
      state.run = null;
    }
    refresh();
    updateOutput();
  }
}

function explain(error) {
  if (error instanceof TooLargeError) {
    // found before sending: the photos (or the painting) named, at the step where they are changed
    const step = error.step || "portrait";
    showError(step, error.words);
    reveal(stepSection(step));
    return;
  }
  if (error.failure) {
    // a photo without a person is the photo's problem: say so at the photo step
    const step = error.failure.code === "no-person" ? FIELD_STEP.portrait : stepOf(error.failure.field) || "submit";
    showError(step, explainFailure(error.failure));
    reveal(stepSection(step));
    return;
  }
  const step = stepOf(error.field) || "submit";
  showError(step, explainProblem(error));
  reveal(stepSection(step));
  if (error.status === 401) {
    askForKey();
  }
}

async function cancel() {
  if (!state.run) {
    return;
  }
  state.run.stopped = true;
  $("cancel-button").disabled = true;
  $("progress").hidden = true;
  updateOutput();
  try {
    if (state.job) {
      await api.cancel(state.job.id);
    }
    // not an error: the user asked for it, and an earlier result (if any) is still shown
    showInfo("submit", "Cancelled. Change anything you like and try again.");
  } catch (error) {
    showError("submit", explainProblem(error));
  }
}

// ---- Results: shown, kept in this tab's history, named in the URL ---------------------------------

function slug(text) {
  return (
    String(text || "")
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, "-")
      .replace(/^-+|-+$/g, "") || "painting"
  );
}

// sitter-<painting id>-<YYYY-MM-DD>.<ext>: the name the gateway gives the same file (the job's UTC day).
function downloadName(entry, suffix = "") {
  const extension = entry.format === "jpeg" ? "jpg" : entry.format;
  return `sitter-${slug(entry.painting || "own-painting")}-${entry.created.slice(0, 10)}${suffix}.${extension}`;
}

// A finished job as the page keeps it: what people read in the history strip, and what naming needs.
function remember(job) {
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

function loadHistory() {
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

async function pictureOf(entry) {
  let picture = state.pictures.get(entry.id);
  if (!picture) {
    const blob = await api.image(`/v1/jobs/${entry.id}/result`);
    picture = { blob, url: URL.createObjectURL(blob) };
    state.pictures.set(entry.id, picture);
  }
  return picture;
}

// A result gone from the server (expired, deleted): out of the strip, and said kindly if it was asked for.
function dropEntry(id) {
  state.history = state.history.filter((entry) => entry.id !== id);
  forgetPicture(id);
  saveHistory();
  renderHistory();
}

const GONE =
  "That picture is no longer on the server: pictures are kept only for a while, then deleted. Make a new one below, it only takes a moment.";

async function showResult(entry, { scroll = true } = {}) {
  let picture;
  try {
    picture = await pictureOf(entry);
  } catch (error) {
    if (error.status === 404 || error.status === 410) {
      dropEntry(entry.id);
      showInfo("restore", GONE);
      reveal($("restore-info"));
      return;
    }
    throw error;
  }
  state.shown = entry;
  state.stale.clear();
  showStale();
  const { width, height } = entry;
  $("result").dataset.job = entry.id;
  $("result-frame").style.aspectRatio = `${width} / ${height}`;
  // a tall painting is narrowed to fit the screen's height, like the placement stage
  $("result-frame").style.width = `min(100%, calc(70vh * ${width / height}))`;
  $("result-img").src = picture.url;
  $("result-img").alt = entry.people > 1 ? `${entry.people} people, placed into ${entry.paintingTitle}` : `You, placed into ${entry.paintingTitle}`;
  $("result-about").textContent = `${entry.paintingTitle}, ${entry.styleWords}; ${entry.placement}.`;
  const link = $("download-link");
  link.href = picture.url;
  link.download = downloadName(entry);
  offerShare(entry, picture);
  $("details").open = false;
  $("details").hidden = entry.people > 1; // no single cut-out mask for a picture of several people
  $("mask-img").removeAttribute("src");
  $("stylized-img").removeAttribute("src");
  $("result").hidden = false;
  setJobInUrl(entry.id);
  renderHistory();
  updateOutput();
  const made = state.job && state.job.id === entry.id ? state.job : null;
  if (made) {
    followPlacement(made);
  }
  performance.mark("sitter:result-shown");
  if (scroll) {
    reveal($("result"), "start");
  }
  $("result-title").focus({ preventScroll: true });
}

// After a result made from the photos and the painting this page still holds, each box stands where the
// server placed that person, with their real proportions, so "adjust and run again" starts from the
// picture. The result's boxes are in its own pixels: painting pixels times its output_scale. A box the
// user placed stays as they placed it; an automatic one moves there and is still sent as automatic
// (nothing for that person), so the next picture plans it again around what the user moved; a box on a
// suggested spot moves to where the spot put this person and still asks for that spot.
function followPlacement(job) {
  const sent = state.sent?.id === job.id ? state.sent : null;
  const everyone = people();
  const same =
    sent &&
    sent.painting === (state.paintingId || state.paintingFile) &&
    sent.files.length === everyone.length &&
    sent.files.every((file, index) => everyone[index].file === file);
  if (!same) {
    return;
  }
  const scale = Number(job.params.output_scale) || 1;
  if (job.params.group?.every_person) {
    if (state.everyone) {
      showGroup(job, sent.files, scale); // a group photo's people get boxes of their own
    }
    return;
  }
  const placed = job.result.people || [{ person: 1, box: job.result.box }];
  if (placed.length !== everyone.length) {
    return;
  }
  for (const { person, box } of placed) {
    if (box && box.w > 0 && box.h > 0) {
      everyone[person - 1].editor.follow(box, scale);
    }
  }
}

// The phone's share sheet, with the picture itself, where the browser can share files; else only the
// download (feature-detected: desktop Chromium on Linux, for one, has no navigator.share).
function offerShare(entry, picture) {
  const file = new File([picture.blob], downloadName(entry), { type: picture.blob.type || "image/png" });
  let can = false;
  try {
    can = typeof navigator.share === "function" && typeof navigator.canShare === "function" && navigator.canShare({ files: [file] });
  } catch {
    can = false;
  }
  state.share = can ? { file, title: `Me in ${entry.paintingTitle}` } : null;
  $("share-button").hidden = !can;
  $("download-link").classList.toggle("primary", !can);
}

async function share() {
  if (!state.share) {
    return;
  }
  try {
    await navigator.share({ files: [state.share.file], title: state.share.title });
  } catch (error) {
    if (error.name !== "AbortError") {
      showInfo("result", "Sharing didn't work in this browser. Use Download, then share the file.");
    }
  }
}

// A thumbnail is the result itself (the API has no smaller one), so it is fetched only once on screen.
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
function renderHistory() {
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

// Nothing to show yet: on a phone the output takes no room; on a wide screen it says what will come.
function updateOutput() {
  const empty = $("progress").hidden && $("result").hidden && $("history").hidden;
  $("step-make").classList.toggle("empty", empty);
  $("output-empty").hidden = !empty;
}

function jobFromUrl() {
  const match = location.hash.match(/^#job=([0-9a-f]{32})$/);
  return match ? match[1] : null;
}

function setJobInUrl(id) {
  const url = id ? `#job=${id}` : location.pathname + location.search;
  if ((id && location.hash !== url) || (!id && location.hash)) {
    history.replaceState(null, "", url);
  }
}

// A reload or a shared link: show the job again while the server keeps it, follow it if unfinished.
async function restore(id) {
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

async function showArtifacts() {
  const id = $("details").open && state.shown?.id;
  if (!id) {
    return;
  }
  try {
    for (const name of ["mask", "stylized"]) {
      const img = $(`${name}-img`);
      if (!img.getAttribute("src")) {
        img.src = objectUrl(name, await api.image(`/v1/jobs/${id}/artifacts/${name}`));
      }
    }
  } catch (error) {
    showInfo("result", explainProblem(error));
  }
}

function tryAgain() {
  reveal(stepSection("place"), "start");
  onStage()[0]?.box.focus({ preventScroll: true });
}

// ---- API key: asked for only when the server wants one (a 401) ----------------------------------

function showKeyState() {
  $("key-saved").hidden = !apiKey.get();
}

function askForKey() {
  $("key-form").hidden = false;
  $("api-key").value = apiKey.get();
  $("api-key").focus();
}

function saveKey(event) {
  event.preventDefault();
  apiKey.set($("api-key").value.trim());
  showKeyState();
  clearMessages();
  $("key-form").hidden = true;
  if (state.pendingRestore) {
    restore(state.pendingRestore);
  }
}

function forgetKey() {
  apiKey.set("");
  $("api-key").value = "";
  showKeyState();
}

// ---- Start ----------------------------------------------------------------------------------------

async function start() {
  for (const id of ["portrait-input", "painting-input", "add-person-input"]) {
    $(id).accept = ACCEPT;
  }
  for (const element of document.querySelectorAll(".formats")) {
    element.textContent = FORMAT_WORDS;
  }
  setUpDropzone();
  $("painting-input").addEventListener("change", (event) => choosePaintingFile(event.target.files[0]));
  $("style-select").addEventListener("change", () => {
    updateStyleThumb();
    markStale("style");
  });
  fillStrengths($("first-strength"));
  for (const id of ["first-style", "first-strength"]) {
    $(id).addEventListener("change", () => markStale("style"));
  }
  $("strength").addEventListener("input", () => {
    $("strength-out").textContent = `${Math.round(100 * Number($("strength").value))}%`;
    markStale("style");
  });
  for (const id of ["keep-colors", "harmonize", "output-scale"]) {
    $(id).addEventListener("change", () => markStale("style"));
  }
  $("auto-button").addEventListener("click", () => {
    for (const person of onStage()) {
      person.editor.reset();
    }
    markStale("placement");
  });
  $("remove-first").addEventListener("click", removeFirst);
  $("add-person-input").addEventListener("change", (event) => addPeople([...event.target.files]));
  $("people-all").addEventListener("change", (event) => {
    state.everyone = event.target.checked;
    clearGroup(); // a group photo's boxes belong to the picture made with it ticked
    markStale("choice of people");
    relayout();
  });
  $("stage").addEventListener("focusin", (event) => {
    state.lastBox = event.target.closest(".person-box");
    showSpotsFor();
  });
  $("order-select").addEventListener("change", () => {
    if (state.everyone && state.group) {
      state.group.front = Number($("order-select").value);
    } else {
      state.front = Number($("order-select").value);
    }
    stackBoxes();
    markStale("placement");
  });
  $("submit-button").addEventListener("click", submit);
  $("cancel-button").addEventListener("click", cancel);
  $("again-button").addEventListener("click", tryAgain);
  $("share-button").addEventListener("click", share);
  $("details").addEventListener("toggle", showArtifacts);
  $("key-form").addEventListener("submit", saveKey);
  $("key-forget").addEventListener("click", forgetKey);
  showKeyState();
  refresh();
  loadHistory();
  try {
    let gallery;
    [gallery, state.styles] = await Promise.all([api.paintings(), api.styles()]);
    state.paintings = gallery.paintings;
    state.uploads = gallery.uploads || null; // a server without it: photos are still shrunk, not fitted
    renderGallery();
    renderStyles();
    updateStyleThumb();
  } catch (error) {
    $("gallery-loading").textContent = "";
    showError("painting", `The gallery could not be loaded. ${explainProblem(error)}`);
  }
  renderHistory();
  const id = jobFromUrl();
  if (id) {
    restore(id);
  }
  window.addEventListener("hashchange", () => {
    const next = jobFromUrl();
    if (next && next !== state.shown?.id && !state.run) {
      restore(next);
    }
  });
}

start();
