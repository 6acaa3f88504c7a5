// The Sitter page: four steps (photo, painting, style, placement), then submit, follow, and show the
// result, with this tab's earlier results in a strip and the shown job's id in the URL (#job=<id>), so a
// reload or a shared link shows it again while the server keeps it. This file is the page's wiring: it
// connects the controls to their handlers and starts the page. Each part has a module named for it:
// portrait-step, people, painting-step, spots, style-step and boxes (step 4: the boxes and their order),
// then progress, result, history and api-key. State lives in `state` (state.js); handlers update it and
// call refresh() (refresh.js) to sync the controls.

import { forgetKey, saveKey, showKeyState } from "./api-key.js";
import { api } from "./api.js";
import { onStage, stackBoxes } from "./boxes.js";
import { jobFromUrl, loadHistory, renderHistory, restore } from "./history.js";
import { ACCEPT, FORMAT_WORDS, explainProblem } from "./messages.js";
import { $, showError } from "./page.js";
import { choosePaintingFile, renderGallery } from "./painting-step.js";
import { addPeople, clearGroup, fillStrengths, relayout } from "./people.js";
import { removeFirst, setUpDropzone } from "./portrait-step.js";
import { cancel, submit } from "./progress.js";
import { markStale, refresh } from "./refresh.js";
import { share, showArtifacts, tryAgain } from "./result.js";
import { showSpotsFor } from "./spots.js";
import { state } from "./state.js";
import { renderStyles, updateStyleThumb } from "./style-step.js";

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
  // Untouched, the strength is automatic (nothing sent): the service paints expressive paintings in full
  // strokes and realistic ones with a gentler glaze; moving the slider sets it, "Auto" gives it back.
  $("strength-auto").addEventListener("click", () => {
    delete $("strength").dataset.chosen;
    $("strength").value = "1";
    $("strength-out").textContent = "Auto";
    $("strength-auto").hidden = true;
    markStale("style");
  });
  $("strength").addEventListener("input", () => {
    $("strength").dataset.chosen = "1";
    $("strength-auto").hidden = false;
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
    // the operator's added paintings are offered once analysed (`analysis`: pending, ready or failed)
    state.paintings = gallery.paintings.filter((item) => (item.analysis || "ready") === "ready");
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
