// What a handler calls after it changes `state`: refresh() syncs the submit button and its hint (and
// shows "Add a person" once there is a first person), and markStale() notes under the result on screen
// that it was made with earlier choices. Both name the submit button, "Put me" or "Put us".

import { $, setMessage } from "./page.js";
import { several, state } from "./state.js";

export function refresh() {
  const photos = state.portraitOk && state.extras.every((person) => person.ok);
  const ready = photos && (state.paintingId || state.paintingFile);
  const busy = Boolean(state.run);
  $("submit-button").disabled = !ready || busy;
  $("submit-button").textContent = submitWords();
  // "Add a person" once there is a first person to add to
  $("people").hidden = !state.portraitOk && state.extras.length === 0 && !state.everyone;
  // while busy the progress view speaks; the hint would only repeat it
  $("submit-hint").hidden = busy;
  $("submit-hint").textContent = ready
    ? "Ready when you are."
    : !state.portraitOk
      ? "Choose a photo of yourself first."
      : !photos
        ? "Checking the photos…"
        : "Now pick a painting.";
}

const submitWords = () => (several() ? "Put us in the painting" : "Put me in the painting");

export function markStale(what) {
  if (!state.shown || $("result").hidden) {
    return;
  }
  state.stale.add(what);
  showStale();
}

export function showStale() {
  const changes = [...state.stale];
  const outdated = changes.length > 0;
  setMessage(
    "stale-note",
    outdated
      ? `This was made with ${changes.length === 1 ? `the earlier ${changes[0]}` : "your earlier choices"}. Press “${submitWords()}” to update it.`
      : "",
  );
  $("result").classList.toggle("outdated", outdated);
  $("result-title").textContent = outdated ? "Your last picture" : "Here you are";
}
