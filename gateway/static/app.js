// The Sitter page: four steps (photo, painting, style, placement), then submit, follow, and show the
// result, with this tab's earlier results in a strip and the shown job's id in the URL (#job=<id>), so a
// reload or a shared link shows it again while the server keeps it. State lives in `state`; handlers
// update it and call refresh() to sync the controls.

import { api, apiKey, follow } from "./api.js";
import { ACCEPT, FIELD_STEP, FORMAT_WORDS, explainFailure, explainProblem, formatOf } from "./messages.js";
import { PlacementEditor, describePlacement } from "./placement.js";

const $ = (id) => document.getElementById(id);

const HISTORY_ITEM = "sitter.history"; // this tab's results (sessionStorage): ids and words, no pictures
const HISTORY_SIZE = 12;
const SLOW_QUEUE_S = 8; // queued longer than this: say the service is busy

const state = {
  portrait: null, // the chosen File, kept so "try another placement" needs no new pick
  portraitOk: false,
  portraitJob: null, // an earlier job holding this portrait on the server: reused, not uploaded again
  previewed: false, // the box shows the server's cut-out of this photo (not the photo itself)
  paintings: [],
  paintingId: null, // a gallery id, or null when an uploaded painting is used
  paintingFile: null,
  styles: [],
  job: null, // the job being followed
  run: null, // { stopped } of the job being followed
  shown: null, // the history entry whose result is shown
  stale: new Set(), // what the user changed since the shown result was made ("placement", "painting"...)
  history: [], // this tab's results, newest first
  pictures: new Map(), // job id -> { blob, url } of its result, fetched once
  thumbs: new Map(), // job id -> object URL of its thumbnail artifact (the strip after a reload)
  share: null, // { file, title } for the share sheet, where the browser can share files
  pendingRestore: null, // a job id from the URL, waiting for an API key
  urls: {}, // object URLs to revoke when replaced
};

const editor = new PlacementEditor(
  { stage: $("stage"), image: $("stage-img"), box: $("person-box"), handle: $("resize-handle") },
  showReadout,
  () => markStale("placement"),
);

function objectUrl(slot, blob) {
  if (state.urls[slot]) {
    URL.revokeObjectURL(state.urls[slot]);
  }
  state.urls[slot] = URL.createObjectURL(blob);
  return state.urls[slot];
}

function setMessage(id, message) {
  const element = $(id);
  element.textContent = message || "";
  element.hidden = !message;
}

const showError = (step, message) => setMessage(`${step}-error`, message);
const showInfo = (where, message) => setMessage(`${where}-info`, message);

function clearMessages() {
  for (const step of ["portrait", "painting", "style", "place", "submit"]) {
    showError(step, "");
  }
  for (const where of ["submit", "restore", "result"]) {
    showInfo(where, "");
  }
}

// Bring something into view without jumping over it when the user prefers less motion.
function reveal(element, block = "nearest") {
  const motion = matchMedia("(prefers-reduced-motion: reduce)").matches ? "auto" : "smooth";
  element.scrollIntoView({ behavior: motion, block });
}

const stepSection = (step) => $(`step-${step}`);

// ---- Step 1: portrait ---------------------------------------------------------------------------

function choosePortrait(file) {
  if (!file) {
    return;
  }
  clearMessages();
  state.portrait = file;
  state.portraitOk = false;
  state.portraitJob = null;
  markStale("photo");
  showGhost(null);
  const img = $("portrait-img");
  $("portrait-name").textContent = file.name;
  const format = formatOf(file);
  if (!format) {
    rejectPortrait(file); // an SVG, a PDF, a text file: refused before any upload
    return;
  }
  img.onload = () => {
    state.portraitOk = true;
    img.hidden = false;
    $("portrait-placeholder").hidden = true;
    img.alt = `Your photo: ${file.name}`;
    if (!state.previewed) {  // the cut-out, when it came first, already set the box
      editor.setAspect(img.naturalWidth / img.naturalHeight);
      showGhost("photo", img.src);
    }
    refresh();
  };
  img.onerror = () => {
    if (format.noPreview) {
      // Most browsers cannot show HEIC (iPhone) or TIFF; the server decodes them, so they are usable.
      state.portraitOk = true;
      img.hidden = true;
      $("portrait-placeholder").hidden = false;
      $("portrait-placeholder").textContent = `${file.name}: a ${format.name} photo. It can't be previewed in this browser, but it will work.`;
      refresh();
    } else {
      rejectPortrait(file);
    }
  };
  img.src = objectUrl("portrait", file);
  refresh();
  previewPerson(file);
}

// As soon as a photo is chosen the server cuts the person out of it (POST /v1/previews, about a second):
// the box then shows the real person with their real outline and proportions, and a photo with nobody in
// it is refused here, at the photo step, before any job. Busy, offline or a key still missing: the photo
// itself stays in the box and the job will check the person anyway.
async function previewPerson(file) {
  state.previewed = false;
  const form = new FormData();
  form.append("portrait", file, file.name);
  $("portrait-name").textContent = `${file.name}: finding you in the photo…`;
  let blob;
  try {
    blob = await api.preview(form);
  } catch (error) {
    if (state.portrait !== file) {
      return; // another photo was chosen meanwhile
    }
    $("portrait-name").textContent = file.name;
    if (error.code === "no-person") {
      state.portraitOk = false;
      showGhost(null);
      showError("portrait", explainFailure({ code: "no-person" }));
      refresh();
    } else if (error.field === "portrait" && [413, 415, 422].includes(error.status)) {
      rejectPortrait(file, explainProblem(error)); // the browser could show it, the server cannot read it
    }
    return;
  }
  if (state.portrait !== file || !state.portraitOk) {
    return;
  }
  const url = objectUrl("preview", blob);
  const cutout = new Image();
  cutout.src = url;
  try {
    await cutout.decode();
  } catch {
    return;
  }
  if (state.portrait !== file) {
    return;
  }
  state.previewed = true;
  $("portrait-name").textContent = `${file.name}: found you.`;
  editor.setAspect(cutout.naturalWidth / cutout.naturalHeight);
  showGhost("cutout", url);
}

function rejectPortrait(file, why = "") {
  state.portraitOk = false;
  $("portrait-img").hidden = true;
  $("portrait-placeholder").hidden = false;
  $("portrait-placeholder").textContent = "Drop a photo here, or choose one.";
  showGhost(null);
  const words = why || `“${file.name}” isn't a picture we can read. Choose a ${FORMAT_WORDS} photo.`;
  showError("portrait", words);
  refresh();
}

function setUpDropzone() {
  const zone = $("dropzone");
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("dragging");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("dragging");
    choosePortrait(event.dataTransfer.files[0]);
  });
  for (const id of ["portrait-input", "portrait-camera"]) {
    $(id).addEventListener("change", (event) => choosePortrait(event.target.files[0]));
  }
}

// The person drawn in the placement box: the photo itself (faded at its edges) once chosen, then the
// real cut-out of a result made from this photo, so the box shows who stands where, not an outline.
function showGhost(kind, src) {
  const ghost = $("box-ghost");
  ghost.className = `box-ghost ${kind || ""}`;
  ghost.hidden = !kind;
  if (kind) {
    ghost.src = src;
  } else {
    ghost.removeAttribute("src");
  }
  $("person-box").classList.toggle("has-ghost", Boolean(kind));
}

// The cut-out artifact covers the part of the box inside the painting; only a box wholly inside gives a
// whole person to draw. It is the photo of this page's portrait only while that portrait is unchanged.
async function ghostFromResult(job) {
  const box = job.result?.box;
  const inside = box && box.x >= 0 && box.y >= 0 && box.x + box.w <= job.result.width && box.y + box.h <= job.result.height;
  if (!inside || !job.links?.artifacts?.cutout || state.portraitJob !== job.id) {
    return;
  }
  try {
    const url = objectUrl("cutout", await api.image(job.links.artifacts.cutout));
    if (state.portraitJob === job.id) {
      showGhost("cutout", url);
    }
  } catch {
    // the outline or the photo stays: the ghost is a preview, nothing depends on it
  }
}

// ---- Step 2: painting -----------------------------------------------------------------------------

// One radio group: a single Tab stop (the chosen card, else the first), arrow keys move the choice.
function renderGallery() {
  const gallery = $("gallery");
  gallery.replaceChildren();
  state.paintings.forEach((item, index) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "painting";
    button.setAttribute("role", "radio");
    button.setAttribute("aria-checked", "false");
    button.tabIndex = index === 0 ? 0 : -1;
    button.dataset.id = item.id;
    const img = document.createElement("img");
    img.src = item.thumbnail;
    img.alt = "";
    img.width = 120;
    img.height = 120;
    const caption = document.createElement("span");
    caption.className = "caption";
    caption.innerHTML = "<strong></strong><span></span>";
    caption.firstChild.textContent = item.title;
    caption.lastChild.textContent = `${item.artist}, ${item.year}`;
    button.append(img, caption);
    button.addEventListener("click", () => chooseGalleryPainting(item.id));
    gallery.append(button);
  });
  gallery.addEventListener("keydown", galleryKeys);
}

function galleryKeys(event) {
  const buttons = [...$("gallery").querySelectorAll(".painting")];
  const index = buttons.indexOf(document.activeElement);
  const moves = { ArrowRight: index + 1, ArrowDown: index + 1, ArrowLeft: index - 1, ArrowUp: index - 1, Home: 0, End: -1 };
  if (index < 0 || !(event.key in moves)) {
    return;
  }
  event.preventDefault();
  const next = buttons[(moves[event.key] + buttons.length) % buttons.length];
  next.focus();
  next.click();
}

function chooseGalleryPainting(id) {
  const item = state.paintings.find((painting) => painting.id === id);
  if (state.shown && state.shown.painting !== id) {
    markStale("painting");
  }
  state.paintingId = id;
  state.paintingFile = null;
  $("painting-name").textContent = "";
  $("painting-input").value = "";
  showError("painting", "");
  showPainting(item.image, item.width, item.height, `${item.title} by ${item.artist}`);
  loadSpots(id);
}

// ---- Suggested spots: where the painting has room for a person, one tap each ----------------------

async function loadSpots(id) {
  renderSpots([]);
  let painting;
  try {
    painting = await api.painting(id);
  } catch {
    return; // the spots are a convenience: the drag box and automatic placement still work
  }
  if (state.paintingId !== id) {
    return; // another painting was chosen meanwhile
  }
  editor.setPreview(painting.spots[0] || null);
  renderSpots(painting.spots);
}

function renderSpots(spots) {
  const holder = $("spots");
  holder.replaceChildren();
  spots.forEach((spot, index) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "button spot";
    button.textContent = index === 0 ? "Best spot" : `Spot ${index + 1}`;
    button.title = spot.reason;
    button.addEventListener("click", () => editor.useSpot(index, spot));
    holder.append(button);
  });
}

function choosePaintingFile(file) {
  if (!file) {
    return;
  }
  showError("painting", "");
  const format = formatOf(file);
  const refuse = () =>
    showError("painting", `“${file.name}” can't be shown in this browser to place yourself on. Choose a JPEG, PNG or WebP image.`);
  if (!format || format.noPreview) {
    refuse();
    return;
  }
  const probe = new Image();
  probe.onload = () => {
    renderSpots([]);
    markStale("painting");
    state.paintingId = null;
    state.paintingFile = file;
    $("painting-name").textContent = file.name;
    showPainting(probe.src, probe.naturalWidth, probe.naturalHeight, `Your painting: ${file.name}`);
  };
  probe.onerror = refuse;
  probe.src = objectUrl("painting", file);
}

function showPainting(src, width, height, label) {
  const img = $("stage-img");
  img.hidden = false;
  img.alt = label;
  img.src = src;
  // Reserve the painting's shape before it loads, so nothing below jumps; tall paintings are narrowed
  // to fit the screen's height, so the whole canvas stays in view while dragging.
  $("stage").style.aspectRatio = `${width} / ${height}`;
  $("stage").style.width = `min(100%, calc(75vh * ${width / height}))`;
  $("stage-placeholder").hidden = true;
  $("person-box").hidden = false;
  editor.setPainting(width, height);
  describeSizes(width, height);
  const buttons = [...$("gallery").querySelectorAll(".painting")];
  for (const button of buttons) {
    const selected = button.dataset.id === state.paintingId;
    button.setAttribute("aria-checked", String(selected));
    button.tabIndex = selected || (!state.paintingId && button === buttons[0]) ? 0 : -1;
  }
  updateStyleThumb();
  refresh();
}

// The size choices in pixels for this painting (a size over the server's pixel limit is refused with
// the largest that fits, shown at the style step).
function describeSizes(width, height) {
  for (const option of $("output-scale").options) {
    const scale = Number(option.value);
    const [w, h] = [Math.round(width * scale), Math.round(height * scale)];
    const words = { 1: "The painting's size", 1.5: "1.5 times larger", 2: "Twice as large" }[option.value];
    option.textContent = `${words} (${w} × ${h})`;
  }
}

// ---- Step 3: style --------------------------------------------------------------------------------

function renderStyles() {
  const select = $("style-select");
  const group = (label) => {
    const element = document.createElement("optgroup");
    element.label = label;
    select.append(element);
    return element;
  };
  const paintings = group("Another painting");
  const builtins = group("Built-in styles");
  for (const style of state.styles) {
    if (style.kind === "custom") {
      continue;
    }
    const option = new Option(style.title, style.id);
    (style.kind === "painting" ? paintings : builtins).append(option);
  }
}

function updateStyleThumb() {
  const value = $("style-select").value;
  const id = value === "painting" ? state.paintingId : value;
  const style = state.styles.find((item) => item.id === id);
  const thumb = $("style-thumb");
  if (value === "painting" && state.paintingFile) {
    thumb.src = state.urls.painting;
  } else if (style && style.thumbnail) {
    thumb.src = style.thumbnail;
  } else {
    thumb.removeAttribute("src");
  }
  thumb.hidden = !thumb.getAttribute("src");
  thumb.alt = style ? `Style sample: ${style.title}` : "";
}

// ---- Step 4 readout: the placement in words (the box carries the numbers as data-x, -y, -h) --------

function showReadout(placement) {
  const words = placement.describe();
  $("box-readout").textContent = placement.auto
    ? "Automatic placement: you will be fitted to the painting's best spot."
    : placement.spot !== null
      ? `${placement.spot === 0 ? "The best suggested spot" : `Suggested spot ${placement.spot + 1}`}: ${words}.`
      : `${words.charAt(0).toUpperCase()}${words.slice(1)}.`;
}

// ---- Submit and progress --------------------------------------------------------------------------

function refresh() {
  const ready = state.portraitOk && (state.paintingId || state.paintingFile);
  const busy = Boolean(state.run);
  $("submit-button").disabled = !ready || busy;
  // while busy the progress view speaks; the hint would only repeat it
  $("submit-hint").hidden = busy;
  $("submit-hint").textContent = ready
    ? "Ready when you are."
    : !state.portraitOk
      ? "Choose a photo of yourself first."
      : "Now pick a painting.";
}

function buildForm() {
  const form = new FormData();
  if (state.portraitJob) {
    form.append("portrait_from", state.portraitJob);
  } else {
    form.append("portrait", state.portrait, state.portrait.name);
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
  for (const [name, value] of Object.entries(editor.values())) {
    form.append(name, value);
  }
  return form;
}

const STATE_WORDS = { pending: "waiting", running: "working…", succeeded: "done", failed: "failed", canceled: "cancelled" };

function showStages(job, since) {
  for (const item of $("stages").children) {
    const stage = job.stages[item.dataset.stage] || {};
    item.dataset.state = stage.state || "pending";
    const duration = stage.state === "succeeded" && stage.duration_ms != null ? ` in ${(stage.duration_ms / 1000).toFixed(1)} s` : "";
    item.querySelector(".state").textContent = (STATE_WORDS[stage.state] || stage.state || "waiting") + duration;
  }
  // While it waits, the job document says how many pictures were asked for before it and are not done
  // (`queue.ahead`). A running job between stages (one done, the next not started) waits for a painter too.
  const working = Object.values(job.stages).some((stage) => stage.state === "running");
  const status = job.status === "running" && !working ? "queued" : job.status;
  const waited = (performance.now() - since) / 1000;
  const ahead = job.queue?.ahead > 0 ? ` (${job.queue.ahead} ${job.queue.ahead === 1 ? "picture" : "pictures"} ahead of yours)` : "";
  const titles = {
    sending: "Sending your photo…",
    queued:
      waited > SLOW_QUEUE_S
        ? `Waiting for a free painter${ahead}… it's busy right now; yours starts as soon as one is free.`
        : `Waiting for a free painter${ahead}…`,
    running: "Working on it…",
  };
  $("progress-title").textContent = titles[status] || "Working on it…";
}

// Reuse the portrait already on the server; if it has expired or was deleted (a canceled job), upload
// the kept file again rather than bothering the user.
async function submitForm() {
  try {
    return await api.submit(buildForm());
  } catch (error) {
    if (error.field !== "portrait_from") {
      throw error;
    }
    state.portraitJob = null;
    return api.submit(buildForm());
  }
}

function submit() {
  return runJob(async () => {
    const job = await submitForm();
    state.portraitJob = job.id;
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
  if (error.failure) {
    // a photo without a person is the photo's problem: say so at the photo step
    const step = error.failure.code === "no-person" ? FIELD_STEP.portrait : "submit";
    showError(step, explainFailure(error.failure));
    reveal(stepSection(step));
    return;
  }
  const step = FIELD_STEP[error.field] || "submit";
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
  const style = state.styles.find((item) => item.id === job.params.style);
  const ownStyle = job.params.style === job.params.painting || job.params.style === "custom";
  const { box, width, height, format } = job.result;
  const entry = {
    id: job.id,
    painting: job.params.painting || null,
    paintingTitle: painting ? painting.title : job.params.painting || "Your own painting",
    styleWords: ownStyle ? "in its own style" : `in the style of ${style ? style.title : job.params.style}`,
    placement: box ? describePlacement(box, box.w, width, height) : "",
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
  $("result-img").alt = `You, placed into ${entry.paintingTitle}`;
  $("result-about").textContent = `${entry.paintingTitle}, ${entry.styleWords}; ${entry.placement}.`;
  const link = $("download-link");
  link.href = picture.url;
  link.download = downloadName(entry);
  offerShare(entry, picture);
  $("details").open = false;
  $("mask-img").removeAttribute("src");
  $("stylized-img").removeAttribute("src");
  $("result").hidden = false;
  setJobInUrl(entry.id);
  renderHistory();
  updateOutput();
  // The real cut-out's shape is now known: later placements draw the box exactly as it will land.
  const box = state.job && state.job.id === entry.id ? state.job.result?.box : null;
  if (box && box.h > 0) {
    editor.setAspect(box.w / box.h);
  }
  performance.mark("sitter:result-shown");
  if (scroll) {
    reveal($("result"), "start");
  }
  $("result-title").focus({ preventScroll: true });
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

function markStale(what) {
  if (!state.shown || $("result").hidden) {
    return;
  }
  state.stale.add(what);
  showStale();
}

function showStale() {
  const changes = [...state.stale];
  const outdated = changes.length > 0;
  setMessage(
    "stale-note",
    outdated
      ? `This was made with ${changes.length === 1 ? `the earlier ${changes[0]}` : "your earlier choices"}. Press “Put me in the painting” to update it.`
      : "",
  );
  $("result").classList.toggle("outdated", outdated);
  $("result-title").textContent = outdated ? "Your last picture" : "Here you are";
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
  $("person-box").focus({ preventScroll: true });
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
  for (const id of ["portrait-input", "painting-input"]) {
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
  $("strength").addEventListener("input", () => {
    $("strength-out").textContent = `${Math.round(100 * Number($("strength").value))}%`;
    markStale("style");
  });
  for (const id of ["keep-colors", "harmonize", "output-scale"]) {
    $(id).addEventListener("change", () => markStale("style"));
  }
  $("auto-button").addEventListener("click", () => {
    editor.reset();
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
    [state.paintings, state.styles] = await Promise.all([api.paintings(), api.styles()]);
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
