// The finished picture: shown with its words and named in the URL, downloaded or shared, its artifacts
// (mask, stylized person) on request, and each box moved to where it placed that person, so "try another
// placement" starts from it.

import { api } from "./api.js";
import { onStage, people } from "./boxes.js";
import { GONE, dropEntry, pictureOf, renderHistory, setJobInUrl } from "./history.js";
import { explainProblem } from "./messages.js";
import { $, reveal, showInfo, stepSection } from "./page.js";
import { showGroup } from "./people.js";
import { showStale } from "./refresh.js";
import { objectUrl, state } from "./state.js";

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

export async function showResult(entry, { scroll = true } = {}) {
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

export async function share() {
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

// Nothing to show yet: on a phone the output takes no room; on a wide screen it says what will come.
export function updateOutput() {
  const empty = $("progress").hidden && $("result").hidden && $("history").hidden;
  $("step-make").classList.toggle("empty", empty);
  $("output-empty").hidden = !empty;
}

export async function showArtifacts() {
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

export function tryAgain() {
  reveal(stepSection("place"), "start");
  onStage()[0]?.box.focus({ preventScroll: true });
}
