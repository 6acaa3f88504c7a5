// Step 3: the style list (the painting's own, another painting's, or a built-in style; each person's own
// style offers the same list) and its sample.

import { people } from "./boxes.js";
import { $ } from "./page.js";
import { fillPersonStyles } from "./people.js";
import { state } from "./state.js";

export function renderStyles() {
  const select = $("style-select");
  const group = (label) => {
    const element = document.createElement("optgroup");
    element.label = label;
    select.append(element);
    return element;
  };
  const paintings = group("Another painting");
  const builtins = group("Built-in styles");
  for (const style of state.styles) {
    if (style.kind === "custom") {
      continue;
    }
    const option = new Option(style.title, style.id);
    (style.kind === "painting" ? paintings : builtins).append(option);
  }
  for (const person of people()) {
    fillPersonStyles(person.style);
  }
}

export function updateStyleThumb() {
  const value = $("style-select").value;
  const id = value === "painting" ? state.paintingId : value;
  const style = state.styles.find((item) => item.id === id);
  const thumb = $("style-thumb");
  if (value === "painting" && state.paintingFile) {
    thumb.src = state.urls.painting;
  } else if (style && style.thumbnail) {
    thumb.src = style.thumbnail;
  } else {
    thumb.removeAttribute("src");
  }
  thumb.hidden = !thumb.getAttribute("src");
  thumb.alt = style ? `Style sample: ${style.title}` : "";
}
