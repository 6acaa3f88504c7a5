// The people's boxes on the painting (step 4): person 1's box (`editor`), everyone with a photo of their
// own and their box (people()), the boxes on the painting now (onStage(): with "Everyone in the photo", a
// group photo's people), who stands in front where boxes overlap, and a box's place in words (#box-readout).
// The other modules ask here who is in the picture; a box's dragging and keys are placement.js.

import { $ } from "./page.js";
import { PlacementEditor } from "./placement.js";
import { markStale } from "./refresh.js";
import { several, state } from "./state.js";

export const editor = new PlacementEditor(
  { stage: $("stage"), image: $("stage-img"), box: $("person-box"), handle: $("resize-handle") },
  showReadout,
  () => markStale("placement"),
);

export const people = () => [
  { editor, box: $("person-box"), file: state.portrait, style: $("first-style"), strength: $("first-strength") },
  ...state.extras,
];

// The boxes on the painting: one per photo, or with "Everyone in the photo" the people the last picture
// found in it (none before that picture: they are known only once the job has found them)
export const onStage = () => (state.everyone ? state.group?.people || [] : people());

// Who stands in front where boxes overlap: the API's `order` lists the people back to front; by default
// the last person is in front, in a group photo the one the last picture put in front (the server puts
// smaller faces behind larger ones). The boxes are stacked the same way.
export function renderOrder() {
  const count = onStage().length;
  const group = state.everyone ? state.group : null;
  const front = group ? group.front : state.front;
  const chosen = front && front <= count ? front : group ? group.order.at(-1) : count;
  const select = $("order-select");
  select.replaceChildren();
  for (let number = 1; number <= count; number++) {
    select.append(new Option(`Person ${number}`, String(number)));
  }
  select.value = String(chosen);
  $("order-field").hidden = count < 2;
  stackBoxes();
}

// Back to front, by number: the one in front last; the others as numbered, or in a group photo as the
// last picture had them.
export function orderOf() {
  const count = onStage().length;
  const front = Number($("order-select").value) || count;
  const group = state.everyone ? state.group : null;
  const numbers = group ? group.order : Array.from({ length: count }, (_, index) => index + 1);
  return [...numbers.filter((number) => number !== front), front];
}

export function stackBoxes() {
  const order = orderOf();
  onStage().forEach((person, index) => {
    person.box.style.zIndex = String(1 + order.indexOf(index + 1));
  });
}

// ---- Step 4 readout: the placement in words (the box carries the numbers as data-x, -y, -h) --------

export function showReadout(placement) {
  const words = placement.describe();
  if (several()) {
    const boxes = onStage();
    const number = boxes.findIndex((person) => person.editor === placement) + 1;
    if (!number) {
      return; // a box not on the painting now (a photo's, while a group photo's people are shown)
    }
    const untouched = boxes.every((person) => person.editor.auto);
    const shown = boxes.every((person) => person.editor.placed);
    $("box-readout").textContent = untouched
      ? `Automatic placement: everyone is placed together when the picture is made${shown ? " (the boxes show where your last picture put each of you)" : ""}. Drag a box to place that person yourself.`
      : placement.auto
        ? `Person ${number}: placed automatically, around the others.`
        : `Person ${number}: ${words}.`;
    return;
  }
  $("box-readout").textContent = placement.auto
    ? placement.placed
      ? "Automatic placement: the box shows where your last picture put you. Drag it to choose yourself."
      : "Automatic placement: you will be fitted to the painting's best spot."
    : placement.spot !== null
      ? `${placement.spot === 0 ? "The best suggested spot" : `Suggested spot ${placement.spot + 1}`}: ${words}.`
      : `${words.charAt(0).toUpperCase()}${words.slice(1)}.`;
}
