// Suggested spots: where the painting has room for a person (its analysis, GET /v1/paintings/<id>), one
// tap each, for the person whose box was focused last. A convenience: the drag box and automatic
// placement work without them.

import { api } from "./api.js";
import { editor, onStage } from "./boxes.js";
import { $ } from "./page.js";
import { state } from "./state.js";

export async function loadSpots(id) {
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

export function renderSpots(spots) {
  const holder = $("spots");
  holder.replaceChildren();
  spots.forEach((spot, index) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "button spot";
    button.textContent = spotLabel(spot, index);
    button.title = spot.reason;
    button.addEventListener("click", () => spotTarget().useSpot(index, spot));
    holder.append(button);
  });
  showSpotsFor();
}

// "Best: bust, left", "Standing, right": the kind of place and its side, so the choice is between different
// places, not numbers (analyses stored before spots had kinds give "Spot 2").
export function spotLabel(spot, index) {
  const kind = spot.kind === "standing" ? "Standing" : spot.kind === "bust" ? "Bust" : `Spot ${index + 1}`;
  const words = spot.side ? `${kind}, ${spot.side}` : kind;
  return index === 0 ? `Best: ${words.charAt(0).toLowerCase()}${words.slice(1)}` : words;
}

// With several people a spot is for the person whose box was last touched (person 1 at first), named
// before the spots' buttons.
function spotTarget() {
  const boxes = onStage();
  return (boxes.find((person) => person.box === state.lastBox) || boxes[0])?.editor || editor;
}

export function showSpotsFor() {
  const many = onStage().length > 1;
  const number = onStage().findIndex((person) => person.editor === spotTarget()) + 1;
  const words = many ? `Put person ${number} on:` : "";
  $("spots-for").textContent = words;
  $("spots-for").hidden = !many || !$("spots").children.length;
  $("spots").setAttribute("aria-label", many ? `Suggested places for person ${number}` : "Suggested places");
}
