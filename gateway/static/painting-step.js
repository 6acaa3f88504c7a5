// Step 2: the painting, from the gallery (one radio group) or the user's own image. Showing it gives the
// stage the painting's shape and every box its size, loads its suggested spots (spots.js), and names the
// output sizes in pixels (chosen at step 3).

import { editor } from "./boxes.js";
import { formatOf } from "./messages.js";
import { $, showError } from "./page.js";
import { clearGroup, relayout } from "./people.js";
import { markStale, refresh } from "./refresh.js";
import { loadSpots, renderSpots } from "./spots.js";
import { objectUrl, state } from "./state.js";
import { updateStyleThumb } from "./style-step.js";

// One radio group: a single Tab stop (the chosen card, else the first), arrow keys move the choice.
export function renderGallery() {
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
    if (item.licence) {
      button.title = `${item.title}, ${item.artist}, ${item.year}. Licence: ${item.licence}`;
    }
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
  if (state.paintingId !== id) {
    clearGroup(); // the last picture's places were in the other painting
  }
  state.paintingId = id;
  state.paintingFile = null;
  $("painting-name").textContent = "";
  $("painting-input").value = "";
  showError("painting", "");
  showPainting(item.image, item.width, item.height, `${item.title} by ${item.artist}`);
  loadSpots(id);
}

export function choosePaintingFile(file) {
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
    clearGroup();
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
  editor.setPainting(width, height);
  for (const person of state.extras) {
    person.editor.setPainting(width, height);
  }
  relayout(); // shows the boxes
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
