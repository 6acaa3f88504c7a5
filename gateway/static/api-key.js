// The API key: asked for only when the server wants one (a 401), kept in this browser (api.js); a
// #job= link that was waiting for it is shown once it is given.

import { apiKey } from "./api.js";
import { restore } from "./history.js";
import { $, clearMessages } from "./page.js";
import { state } from "./state.js";

export function showKeyState() {
  $("key-saved").hidden = !apiKey.get();
}

export function askForKey() {
  $("key-form").hidden = false;
  $("api-key").value = apiKey.get();
  $("api-key").focus();
}

export function saveKey(event) {
  event.preventDefault();
  apiKey.set($("api-key").value.trim());
  showKeyState();
  clearMessages();
  $("key-form").hidden = true;
  if (state.pendingRestore) {
    restore(state.pendingRestore);
  }
}

export function forgetKey() {
  apiKey.set("");
  $("api-key").value = "";
  showKeyState();
}
