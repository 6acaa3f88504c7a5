// Who is in the picture besides person 1's photo: people added with a photo each ("Add a person", up to
// 6), checked by the server's cut-out preview and removed one by one, and a group photo's people once a
// picture has found them. Each has a numbered box on the painting and a card with their own style and
// strength; relayout() renumbers and relabels all of it after any change. Person 1's photo is
// portrait-step.js; the list of boxes and their order are boxes.js.

import { api } from "./api.js";
import { editor, onStage, people, renderOrder, showReadout } from "./boxes.js";
import { FORMAT_WORDS, explainFailure, explainProblem, formatOf } from "./messages.js";
import { $, showError } from "./page.js";
import { PlacementEditor } from "./placement.js";
import { markStale, refresh, showStale } from "./refresh.js";
import { showSpotsFor } from "./spots.js";
import { several, state } from "./state.js";
import { readyToSend } from "./uploads.js";

const MAX_PEOPLE = 6; // the API's limit of people in one picture (shared/limits.py)
const BOX_KEYS = "Arrow keys move it; plus and minus resize it.";
const ONE_BOX_LABEL = `Your place in the painting. ${BOX_KEYS}`;

// An image decoded from a URL, or null when it cannot be (a preview: nothing depends on it).
export async function decoded(url) {
  const image = new Image();
  image.src = url;
  try {
    await image.decode();
    return image;
  } catch {
    return null;
  }
}

// The photo as the job will send it: a large one is shrunk first (uploads.js), so the preview is quick to
// upload too and a photo over the server's file limit is not refused here when it need not be.
export async function personForm(file) {
  const photo = await readyToSend(file);
  const form = new FormData();
  form.append("portrait", photo, photo.name);
  return form;
}

// ---- More people: "Add a person" (one photo each, up to 6 people), removed one by one ------------

export function addPeople(files) {
  if (files.length) {
    showError("portrait", "");
  }
  for (const file of files) {
    addPerson(file);
  }
  $("add-person-input").value = "";
}

export function addPerson(file) {
  if (!file) {
    return;
  }
  if (1 + state.extras.length >= MAX_PEOPLE) {
    showError("portrait", `At most ${MAX_PEOPLE} people fit in one picture.`);
    return;
  }
  const format = formatOf(file);
  if (!format) {
    showError("portrait", `“${file.name}” isn't a picture we can read. Choose a ${FORMAT_WORDS} photo.`);
    return;
  }
  const person = { file, ok: false, previewed: false, urls: {} };
  person.box = personBox();
  person.card = personCard(person, $("people-list"), file.name);
  state.extras.push(person);
  clearGroup(); // other photos: the last picture's people are not these
  person.editor = boxEditor(person.box);
  if (editor.width) {
    person.editor.setPainting(editor.width, editor.height);
  }
  markStale("photos");
  relayout();
  const photo = (person.urls.photo = URL.createObjectURL(file));
  const probe = new Image();
  probe.onload = () => {
    if (!state.extras.includes(person)) {
      return;
    }
    person.ok = true;
    if (!person.previewed) {
      person.editor.setAspect(probe.naturalWidth / probe.naturalHeight);
      personGhost(person, "photo", photo);
    }
    refresh();
  };
  probe.onerror = () => {
    if (format.noPreview) {
      person.ok = true; // HEIC, TIFF: the server reads them
      refresh();
    } else {
      dropPerson(person, `“${file.name}” isn't a picture we can read. Choose a ${FORMAT_WORDS} photo.`);
    }
  };
  probe.src = photo;
  previewExtra(person);
}

// The same cut-out preview as the first photo's: the person's outline in their box, and a photo with
// nobody in it refused here (that person is not added), before any job.
async function previewExtra(person) {
  const status = person.card.querySelector(".person-state");
  status.textContent = "finding the person in the photo…";
  let blob;
  try {
    blob = await api.preview(await personForm(person.file));
  } catch (error) {
    if (!state.extras.includes(person)) {
      return;
    }
    status.textContent = "";
    if (error.code === "no-person") {
      dropPerson(person, `“${person.file.name}”: ${explainFailure({ code: "no-person" })}`);
    } else if (error.field === "portrait" && [413, 415, 422].includes(error.status)) {
      dropPerson(person, `“${person.file.name}”: ${explainProblem(error)}`);
    }
    return;
  }
  if (!state.extras.includes(person)) {
    return;
  }
  const url = (person.urls.cutout = URL.createObjectURL(blob));
  const cutout = await decoded(url);
  if (!cutout || !state.extras.includes(person)) {
    return;
  }
  person.ok = true;
  person.previewed = true;
  status.textContent = "found the person.";
  person.editor.setAspect(cutout.naturalWidth / cutout.naturalHeight);
  personGhost(person, "cutout", url);
  refresh();
}

// A removed person (or a refused photo, said in `why`): the card and the box go, the others renumber.
export function dropPerson(person, why = "") {
  const index = state.extras.indexOf(person);
  if (index < 0) {
    return;
  }
  const hadFocus = person.card.contains(document.activeElement);
  state.extras.splice(index, 1);
  const number = index + 2; // the people after them move up one number; so does the one in front
  state.front = state.front === number ? null : state.front > number ? state.front - 1 : state.front;
  discard(person);
  clearGroup();
  markStale("photos");
  relayout();
  showError("portrait", why);
  if (hadFocus) {
    // the next person's Remove, else "Add a person": the focus stays in the list, not lost on <body>
    const next = state.extras[index]?.card.querySelector("button") || $("add-person-input");
    next.focus();
  }
}

function personBox() {
  const box = document.createElement("div");
  box.className = "person-box";
  box.tabIndex = 0;
  box.setAttribute("role", "group");
  box.setAttribute("aria-roledescription", "movable box");
  box.setAttribute("aria-describedby", "box-readout");
  box.innerHTML =
    '<img class="box-ghost" alt="" hidden><span class="box-figure" aria-hidden="true"></span>' +
    '<span class="box-number" aria-hidden="true"></span><span class="resize-handle" aria-hidden="true"></span>';
  $("stage").append(box);
  return box;
}

// The editor that moves and resizes a person's box on the painting.
function boxEditor(box) {
  return new PlacementEditor(
    { stage: $("stage"), image: $("stage-img"), box, handle: box.querySelector(".resize-handle") },
    showReadout,
    () => markStale("placement"),
  );
}

// A person gone from the page: their box, their card and the pictures made for them.
function discard(person) {
  person.card.remove();
  person.box.remove();
  for (const url of Object.values(person.urls)) {
    URL.revokeObjectURL(url);
  }
}

let cardSerial = 0; // ids for the cards' style choices, which their labels name

// A person's card in `list`: their number, picture, name, own style and strength (person.style and
// person.strength); a person added from a photo of their own can be removed (a group photo's people
// cannot: the photo holds them).
function personCard(person, list, name) {
  const card = document.createElement("li");
  card.className = "person-card";
  const id = `person-${++cardSerial}`;
  const removable = list === $("people-list");
  const field = (kind, words) =>
    `<span class="field person-${kind}"><label for="${id}-${kind}">${words}<span class="visually-hidden person-for"></span></label>` +
    `<select id="${id}-${kind}"></select></span>`;
  card.innerHTML =
    '<span class="person-number" aria-hidden="true"></span><img class="person-thumb" alt="" hidden>' +
    '<span class="person-words"><strong class="person-title"></strong><span class="person-name"></span>' +
    '<span class="hint person-state" aria-live="polite"></span></span>' +
    (removable ? '<button type="button" class="button remove-person">Remove</button>' : "") +
    `<span class="person-choices">${field("style", "Style")}${field("strength", "Strength")}</span>`;
  card.querySelector(".person-name").textContent = name;
  if (removable) {
    card.querySelector(".remove-person").addEventListener("click", () => dropPerson(person));
  }
  person.style = card.querySelector(".person-style select");
  person.strength = card.querySelector(".person-strength select");
  fillPersonStyles(person.style);
  fillStrengths(person.strength);
  for (const select of [person.style, person.strength]) {
    select.addEventListener("change", () => markStale("style"));
  }
  list.append(card);
  return card;
}

// A person's own strength (sent as strength.N, 0..1 as the job's): by default none, i.e. the job's
// strength of step 3; else a tenth at a time.
export function fillStrengths(select) {
  select.replaceChildren(new Option("Same as everyone", ""));
  for (let tenths = 10; tenths >= 0; tenths--) {
    const words = { 10: "100% (fully painted)", 0: "0% (keeps the photo)" }[tenths] || `${10 * tenths}%`;
    select.append(new Option(words, String(tenths / 10)));
  }
}

// A person's own style (sent as style.N): by default none, i.e. the job's style of step 3; else any style
// step 3 offers. The choice is kept when the list is filled again (the styles arrive after the page).
export function fillPersonStyles(select) {
  const chosen = select.value;
  select.replaceChildren(new Option("Same as everyone", ""));
  for (const child of $("style-select").children) {
    select.append(child.cloneNode(true));
  }
  select.value = [...select.options].some((option) => option.value === chosen) ? chosen : "";
}

function personGhost(person, kind, src) {
  const ghost = person.box.querySelector(".box-ghost");
  ghost.className = `box-ghost ${kind}`;
  ghost.hidden = false;
  ghost.src = src;
  person.box.classList.add("has-ghost");
  const thumb = person.card.querySelector(".person-thumb");
  thumb.src = src;
  thumb.hidden = false;
}

// A person's box and card carry their number: the badge, the data-person the page and its tests read, the
// words a screen reader says.
function numberBox(box, number, label) {
  box.querySelector(".box-number").textContent = String(number);
  box.dataset.person = String(number);
  box.setAttribute("aria-label", label);
}

function numberCard(card, number) {
  card.dataset.person = String(number);
  card.querySelector(".person-number").textContent = String(number);
  card.querySelector(".person-title").textContent = `Person ${number}`;
  for (const words of card.querySelectorAll(".person-for")) {
    words.textContent = ` for person ${number}`;
  }
}

// After any change in who is in the picture: numbers, labels, the boxes' row, and which controls show.
export function relayout() {
  const everyone = people();
  const count = everyone.length;
  const many = several();
  everyone.forEach((person, index) => {
    const number = index + 1;
    person.editor.setSlot(index, state.everyone ? 1 : count);
    person.box.hidden = !editor.width || state.everyone;
    const name = person.file ? ` (${person.file.name})` : "";
    numberBox(person.box, number, count > 1 ? `Person ${number}${name}: their place in the painting. ${BOX_KEYS}` : ONE_BOX_LABEL);
    if (index > 0) {
      numberCard(person.card, number);
      person.card.querySelector(".remove-person").setAttribute("aria-label", `Remove person ${number}${name}`);
      person.card.querySelector(".person-choices").hidden = state.everyone;
    }
  });
  const found = state.group?.people || [];
  found.forEach((person, index) => {
    const number = index + 1;
    person.box.hidden = !editor.width;
    const from = person.from ? ` (from ${person.from})` : "";
    numberBox(person.box, number, `Person ${number}${from}: their place in the painting. ${BOX_KEYS}`);
    numberCard(person.card, number);
  });
  const boxes = onStage().length;
  // each person's own style: each photo's person, or a group photo's people once a picture found them
  $("first-style-field").hidden = count < 2 || state.everyone;
  $("group-list").hidden = found.length < 2;
  $("group-list-hint").hidden = found.length < 2;
  $("style-people-hint").hidden = (count < 2 || state.everyone) && found.length < 2;
  $("people-list").hidden = state.extras.length === 0;
  $("remove-first").hidden = state.extras.length === 0;
  $("remove-first").setAttribute("aria-label", `Remove person 1${state.portrait ? ` (${state.portrait.name})` : ""}`);
  $("portrait-number").hidden = count < 2;
  const full = count >= MAX_PEOPLE;
  $("add-person-label").hidden = full;
  $("add-person-input").disabled = full;
  $("people-hint").textContent = full
    ? `${MAX_PEOPLE} people: the most one picture holds.`
    : count > 1
      ? `${count} people, one photo each (up to ${MAX_PEOPLE}). Each gets a numbered box in step 4.`
      : `Someone else, from another photo: up to ${MAX_PEOPLE} people in one picture.`;
  $("stage").classList.toggle("several", boxes > 1);
  $("group-note").hidden = !state.everyone || !editor.width || found.length > 0;
  $("group-placed-note").hidden = !state.everyone || !editor.width || found.length === 0;
  $("place-actions").hidden = boxes === 0;
  $("place-help").hidden = boxes !== 1; // one person's words also for a group photo of one
  $("place-help-several").hidden = boxes < 2;
  $("place-title-words").textContent = many ? "Where each of you stands" : "Where you stand";
  $("auto-button").textContent = many ? "Auto place everyone" : "Auto place";
  showSpotsFor();
  renderOrder();
  if (editor.width && boxes) {
    showReadout(onStage()[0].editor); // from one person to several and back, the words change with the boxes
  }
  refresh();
  if (state.stale.size) {
    showStale(); // it names the submit button, "Put me" or "Put us"
  }
}

// ---- A group photo's people, after a picture of it: a box and a card each ------------------------------

// With "Everyone in the photo" the people are known only once a job has found them. After its picture,
// made from the photos and the painting the page still holds, the result's `people` (number, photo, box)
// are this photo's people: each gets a numbered box where the picture put them (automatic until moved, so
// sent as nothing) and a card in step 1 with their own style. The next picture of the same people moves
// the boxes as with separate photos; another photo or painting, or unticking (or ticking) "Everyone in the
// photo", takes them away (clearGroup), since they belonged to that picture.
export function showGroup(job, files, scale) {
  const placed = job.result.people || [];
  if (state.group?.people.length !== placed.length) {
    clearGroup();
    state.group = { order: [], front: null, people: placed.map((found) => groupPerson(found, files)) };
  }
  const group = state.group;
  group.order = job.result.order || placed.map((found) => found.person);
  placed.forEach(({ box }, index) => {
    if (box && box.w > 0 && box.h > 0) {
      group.people[index].editor.follow(box, scale);
    }
  });
  relayout();
  paintedGhosts(job, group);
}

function groupPerson(found, files) {
  const photo = files[found.photo - 1];
  const person = { from: photo ? photo.name : "", urls: {} };
  person.box = personBox();
  person.box.classList.add("group-box");
  person.card = personCard(person, $("group-list"), photo ? `from ${photo.name}` : "from your group photo");
  person.editor = boxEditor(person.box);
  person.editor.setPainting(editor.width, editor.height);
  return person;
}

export function clearGroup() {
  const group = state.group;
  if (!group) {
    return;
  }
  state.group = null;
  for (const person of group.people) {
    discard(person);
  }
  if (state.lastBox && !state.lastBox.isConnected) {
    state.lastBox = null;
  }
}

// Each person drawn in their box (and on their card) as the picture painted them: their part of the
// result, faded at its edges, so a number on the painting is a face, not only an outline.
async function paintedGhosts(job, group) {
  const picture = state.pictures.get(job.id);
  let bitmap;
  try {
    bitmap = await createImageBitmap(picture?.blob);
  } catch {
    return; // the numbered outlines stay: the pictures are a preview, nothing depends on them
  }
  for (const [index, { box }] of job.result.people.entries()) {
    const person = group.people[index];
    if (state.group !== group || !box || !(box.w > 0 && box.h > 0)) {
      continue;
    }
    const shrink = Math.min(1, 400 / box.h);
    const canvas = new OffscreenCanvas(Math.max(1, Math.round(box.w * shrink)), Math.max(1, Math.round(box.h * shrink)));
    canvas.getContext("2d").drawImage(bitmap, box.x, box.y, box.w, box.h, 0, 0, canvas.width, canvas.height);
    const blob = await canvas.convertToBlob({ type: "image/jpeg", quality: 0.9 });
    if (state.group !== group) {
      break;
    }
    if (person.urls.painted) {
      URL.revokeObjectURL(person.urls.painted);
    }
    person.urls.painted = URL.createObjectURL(blob);
    personGhost(person, "painted", person.urls.painted);
  }
  bitmap.close();
}
