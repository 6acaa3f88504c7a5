// Step 1: person 1's photo, chosen, dropped or taken with the camera; refused before any job when it is
// not a picture or the server's cut-out preview finds nobody in it; drawn in person 1's box (the photo,
// then the cut-out, then the cut-out of a result made from it). "Remove" on person 1 moves person 2 up.

import { api } from "./api.js";
import { editor } from "./boxes.js";
import { FORMAT_WORDS, explainFailure, explainProblem, formatOf } from "./messages.js";
import { $, clearMessages, showError } from "./page.js";
import { addPerson, clearGroup, decoded, dropPerson, personForm, relayout } from "./people.js";
import { markStale, refresh } from "./refresh.js";
import { objectUrl, state } from "./state.js";

function choosePortrait(file) {
  if (!file) {
    return;
  }
  clearMessages();
  state.portrait = file;
  state.portraitOk = false;
  state.portraitJob = null;
  editor.forgetPlaced();
  clearGroup();
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
  relayout(); // person 1's box is named after the photo when there are several
  previewPerson(file);
}

// As soon as a photo is chosen the server cuts the person out of it (POST /v1/previews, about a second):
// the box then shows the real person with their real outline and proportions, and a photo with nobody in
// it is refused here, at the photo step, before any job. Busy, offline or a key still missing: the photo
// itself stays in the box and the job will check the person anyway.
async function previewPerson(file) {
  state.previewed = false;
  $("portrait-name").textContent = `${file.name}: finding you in the photo…`;
  let blob;
  try {
    blob = await api.preview(await personForm(file));
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
  const cutout = await decoded(url);
  if (!cutout || state.portrait !== file) {
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

// Person 1 removed while others remain: person 2 moves up, with their photo and their box as it was.
export function removeFirst() {
  const next = state.extras[0];
  if (!next) {
    return;
  }
  const front = state.front > 1 ? state.front - 1 : null;
  const { rect, auto, aspect } = next.editor;
  const [style, strength] = [next.style.value, next.strength.value];
  dropPerson(next);
  state.front = front;
  $("first-style").value = style;
  $("first-strength").value = strength;
  choosePortrait(next.file);
  editor.aspect = aspect;
  if (auto) {
    editor.reset();
  } else {
    Object.assign(editor, { rect: { ...rect }, auto: false, spot: null });
    editor.render();
  }
  $("portrait-input").focus();
}

export function setUpDropzone() {
  const zone = $("dropzone");
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("dragging");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("dragging");
    // several photos dropped at once: the first is person 1, the others are added after them
    const [first, ...others] = event.dataTransfer.files;
    choosePortrait(first);
    others.forEach(addPerson);
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
export async function ghostFromResult(job) {
  const box = job.result?.box;
  if (job.result?.people) {
    return; // several people: no single cut-out to draw
  }
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
