// The Sitter page: four steps (photo, painting, style, placement), then submit, follow, and show the
// result. State lives in `state`; each handler updates it and calls refresh() to sync the controls.

import { api, apiKey, follow } from "./api.js";
import { FIELD_STEP, explainFailure, explainProblem } from "./messages.js";
import { PlacementEditor } from "./placement.js";

const $ = (id) => document.getElementById(id);

const state = {
  portrait: null, // the chosen File, kept so "try another placement" needs no new pick
  portraitOk: false,
  portraitJob: null, // an earlier job holding this portrait on the server: reused, not uploaded again
  paintings: [],
  paintingId: null, // a gallery id, or null when an uploaded painting is used
  paintingFile: null,
  styles: [],
  job: null,
  run: null, // { stopped } of the job being followed
  urls: {}, // object URLs to revoke when replaced
};

const editor = new PlacementEditor(
  { stage: $("stage"), image: $("stage-img"), box: $("person-box"), handle: $("resize-handle") },
  showReadout,
);

function objectUrl(slot, blob) {
  if (state.urls[slot]) {
    URL.revokeObjectURL(state.urls[slot]);
  }
  state.urls[slot] = URL.createObjectURL(blob);
  return state.urls[slot];
}

function isHeic(file) {
  return /\.(heic|heif)$/i.test(file.name) || /image\/hei[cf]/.test(file.type);
}

function showError(step, message) {
  const element = $(`${step}-error`);
  element.textContent = message || "";
  element.hidden = !message;
}

function clearErrors() {
  for (const step of ["portrait", "painting", "style", "place", "submit"]) {
    showError(step, "");
  }
}

// ---- Step 1: portrait ---------------------------------------------------------------------------

function choosePortrait(file) {
  if (!file) {
    return;
  }
  clearErrors();
  state.portrait = file;
  state.portraitOk = false;
  state.portraitJob = null;
  const img = $("portrait-img");
  $("portrait-name").textContent = file.name;
  if (!file.type.startsWith("image/") && !isHeic(file)) {
    rejectPortrait(file);
    return;
  }
  img.onload = () => {
    state.portraitOk = true;
    img.hidden = false;
    $("portrait-placeholder").hidden = true;
    img.alt = `Your photo: ${file.name}`;
    editor.setAspect(img.naturalWidth / img.naturalHeight);
    refresh();
  };
  img.onerror = () => {
    if (isHeic(file)) {
      // Browsers other than Safari cannot show HEIC; the server decodes it, so it is still usable.
      state.portraitOk = true;
      img.hidden = true;
      $("portrait-placeholder").hidden = false;
      $("portrait-placeholder").textContent = `${file.name}: an iPhone photo (HEIC). It can't be previewed here, but it will work.`;
      refresh();
    } else {
      rejectPortrait(file);
    }
  };
  img.src = objectUrl("portrait", file);
  refresh();
}

function rejectPortrait(file) {
  state.portraitOk = false;
  $("portrait-img").hidden = true;
  $("portrait-placeholder").hidden = false;
  $("portrait-placeholder").textContent = "Drop a photo here, or choose one.";
  showError("portrait", `“${file.name}” isn't a picture we can read. Choose a JPEG, PNG, WebP or HEIC photo.`);
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

// ---- Step 2: painting -----------------------------------------------------------------------------

function renderGallery() {
  const gallery = $("gallery");
  gallery.replaceChildren();
  for (const item of state.paintings) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "painting";
    button.setAttribute("role", "radio");
    button.setAttribute("aria-checked", "false");
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
  }
  gallery.addEventListener("keydown", galleryKeys);
}

// Radio-group keyboard behaviour: arrows move the choice, Tab leaves the group.
function galleryKeys(event) {
  const buttons = [...$("gallery").querySelectorAll(".painting")];
  const index = buttons.indexOf(document.activeElement);
  const delta = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[event.key];
  if (index < 0 || !delta) {
    return;
  }
  event.preventDefault();
  const next = buttons[(index + delta + buttons.length) % buttons.length];
  next.focus();
  next.click();
}

function chooseGalleryPainting(id) {
  const item = state.paintings.find((painting) => painting.id === id);
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
  renderSpots([]);
  const probe = new Image();
  probe.onload = () => {
    state.paintingId = null;
    state.paintingFile = file;
    $("painting-name").textContent = file.name;
    showPainting(probe.src, probe.naturalWidth, probe.naturalHeight, `Your painting: ${file.name}`);
  };
  probe.onerror = () => {
    showError("painting", `“${file.name}” isn't a picture this browser can show. Choose a JPEG, PNG or WebP image.`);
  };
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
  for (const button of $("gallery").querySelectorAll(".painting")) {
    const selected = button.dataset.id === state.paintingId;
    button.setAttribute("aria-checked", String(selected));
    button.tabIndex = selected || (!state.paintingId && button === button.parentNode.firstChild) ? 0 : -1;
  }
  updateStyleThumb();
  refresh();
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

// ---- Step 4 readout -------------------------------------------------------------------------------

function showReadout(placement) {
  const { x, y, h } = placement.rect;
  $("box-readout").textContent = placement.auto
    ? "Automatic placement"
    : placement.spot !== null
      ? placement.spot === 0
        ? "The best suggested spot"
        : `Suggested spot ${placement.spot + 1}`
      : `x ${x}, y ${y}, height ${h} px (of ${placement.width} × ${placement.height})`;
}

// ---- Submit, progress, result ---------------------------------------------------------------------

function refresh() {
  const ready = state.portraitOk && (state.paintingId || state.paintingFile);
  const busy = Boolean(state.run);
  $("submit-button").disabled = !ready || busy;
  $("submit-hint").textContent = busy
    ? "Working on it…"
    : ready
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
  for (const [name, value] of Object.entries(editor.values())) {
    form.append(name, value);
  }
  return form;
}

function showStages(job) {
  for (const item of $("stages").children) {
    const stage = job.stages[item.dataset.stage] || {};
    const words = { pending: "waiting", running: "working…", succeeded: "done", failed: "failed", canceled: "canceled" };
    item.dataset.state = stage.state || "pending";
    const duration = stage.state === "succeeded" && stage.duration_ms != null ? ` in ${(stage.duration_ms / 1000).toFixed(1)} s` : "";
    item.querySelector(".state").textContent = (words[stage.state] || stage.state || "waiting") + duration;
  }
  const titles = { queued: "Waiting for a free worker…", running: "Working on it…" };
  $("progress-title").textContent = titles[job.status] || "Working on it…";
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

async function submit() {
  clearErrors();
  const run = { stopped: false };
  state.run = run;
  refresh();
  $("result").hidden = true;
  $("progress").hidden = false;
  $("cancel-button").disabled = false;
  showStages({ status: "queued", stages: {} });
  const started = performance.now();
  const timer = setInterval(() => {
    $("elapsed").textContent = ((performance.now() - started) / 1000).toFixed(1);
  }, 100);
  try {
    const job = await submitForm();
    state.job = job;
    state.portraitJob = job.id;
    const final = await follow(job.id, showStages, run);
    if (final.status === "succeeded") {
      await showResult(final);
      return;
    }
    $("progress").hidden = true;
    if (final.status === "failed") {
      throw { failure: final.error };
    }
    if (!run.stopped) {
      throw { failure: { detail: "the job was canceled" } };
    }
  } catch (error) {
    $("progress").hidden = true;
    if (error.failure) {
      // a photo without a person is the photo's problem: say so at the photo step
      const step = error.failure.code === "no-person" ? FIELD_STEP.portrait : "submit";
      showError(step, explainFailure(error.failure));
      $(`step-${step === "submit" ? "make" : step}`).scrollIntoView({ block: "nearest" });
    } else {
      const step = FIELD_STEP[error.field] || "submit";
      showError(step, explainProblem(error));
      $(`step-${step === "submit" ? "make" : step}`).scrollIntoView({ block: "nearest" });
      if (error.status === 401) {
        askForKey();
      }
    }
  } finally {
    clearInterval(timer);
    $("elapsed").textContent = ((performance.now() - started) / 1000).toFixed(1);
    state.run = null;
    refresh();
  }
}

async function showResult(job) {
  state.job = job;
  const picture = objectUrl("result", await api.image(job.links.result));
  $("progress").hidden = true;
  const { width, height, box, format } = job.result;
  $("result").dataset.job = job.id;
  $("result-frame").style.aspectRatio = `${width} / ${height}`;
  $("result-img").src = picture;
  const link = $("download-link");
  link.href = picture;
  link.download = `sitter-${job.id}.${format === "jpeg" ? "jpg" : format}`;
  $("details").open = false;
  $("mask-img").removeAttribute("src");
  $("stylized-img").removeAttribute("src");
  $("result").hidden = false;
  // The real cut-out's shape is now known: later placements draw the box exactly as it will land.
  if (box && box.h > 0) {
    editor.setAspect(box.w / box.h);
  }
  $("result-title").focus();
}

async function cancel() {
  if (!state.run || !state.job) {
    return;
  }
  state.run.stopped = true;
  $("cancel-button").disabled = true;
  $("progress").hidden = true;
  try {
    await api.cancel(state.job.id);
    showError("submit", "Canceled. Change anything you like and try again.");
  } catch (error) {
    showError("submit", explainProblem(error));
  }
}

async function showArtifacts() {
  const links = ($("details").open && state.job?.links?.artifacts) || {};
  try {
    for (const name of ["mask", "stylized"]) {
      const img = $(`${name}-img`);
      if (links[name] && !img.getAttribute("src")) {
        img.src = objectUrl(name, await api.image(links[name]));
      }
    }
  } catch (error) {
    showError("submit", explainProblem(error));
  }
}

// ---- API key --------------------------------------------------------------------------------------

function showKeyState() {
  $("key-state").textContent = apiKey.get() ? "saved in this browser" : "not set";
}

function askForKey() {
  $("access").open = true;
  $("api-key").focus();
}

function saveKey(event) {
  event.preventDefault();
  apiKey.set($("api-key").value.trim());
  showKeyState();
  clearErrors();
  $("access").open = false;
}

function forgetKey() {
  apiKey.set("");
  $("api-key").value = "";
  showKeyState();
}

function tryAgain() {
  $("step-place").scrollIntoView({ behavior: "smooth", block: "start" });
  $("person-box").focus({ preventScroll: true });
}

// ---- Start ----------------------------------------------------------------------------------------

async function start() {
  setUpDropzone();
  $("painting-input").addEventListener("change", (event) => choosePaintingFile(event.target.files[0]));
  $("style-select").addEventListener("change", updateStyleThumb);
  $("strength").addEventListener("input", () => {
    $("strength-out").textContent = `${Math.round(100 * Number($("strength").value))}%`;
  });
  $("auto-button").addEventListener("click", () => editor.reset());
  $("submit-button").addEventListener("click", submit);
  $("cancel-button").addEventListener("click", cancel);
  $("again-button").addEventListener("click", tryAgain);
  $("details").addEventListener("toggle", showArtifacts);
  $("api-key").value = apiKey.get();
  $("key-form").addEventListener("submit", saveKey);
  $("key-forget").addEventListener("click", forgetKey);
  showKeyState();
  refresh();
  try {
    [state.paintings, state.styles] = await Promise.all([api.paintings(), api.styles()]);
    renderGallery();
    renderStyles();
    updateStyleThumb();
  } catch (error) {
    $("gallery-loading").textContent = "";
    showError("painting", `The gallery could not be loaded. ${explainProblem(error)}`);
  }
}

start();
