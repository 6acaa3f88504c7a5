// Small helpers over the page's elements, used by every step: $ (an element by id), the error and info
// lines beside each step (#<step>-error, #<where>-info), and bringing an element into view. No state.

export const $ = (id) => document.getElementById(id);

export function setMessage(id, message) {
  const element = $(id);
  element.textContent = message || "";
  element.hidden = !message;
}

export const showError = (step, message) => setMessage(`${step}-error`, message);
export const showInfo = (where, message) => setMessage(`${where}-info`, message);

export function clearMessages() {
  for (const step of ["portrait", "painting", "style", "place", "submit"]) {
    showError(step, "");
  }
  for (const where of ["submit", "restore", "result"]) {
    showInfo(where, "");
  }
}

// Bring something into view without jumping over it when the user prefers less motion.
export function reveal(element, block = "nearest") {
  const motion = matchMedia("(prefers-reduced-motion: reduce)").matches ? "auto" : "smooth";
  element.scrollIntoView({ behavior: motion, block });
}

export const stepSection = (step) => $(`step-${step}`);
