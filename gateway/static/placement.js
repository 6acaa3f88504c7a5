// The person's box on the painting: dragged and resized with pointer events (mouse, touch and pen
// alike), nudged with the keyboard. The box lives in painting pixels, the unit the API takes, and is
// drawn in percentages of the painting, so it stays put when the layout resizes.

const AUTO_HEIGHT = 0.6; // the server's automatic placement: 60% of the painting's height, bottom centre
const MIN_VISIBLE = 0.1; // keep a tenth of the box on the canvas, or the server refuses the placement

// Where a person's box is, in words: "standing at the bottom left, about a third of the painting's
// height". rect is in painting pixels ({x, y, h}), w the box's width; the painting is width x height.
export function describePlacement({ x, y, h }, w, width, height) {
  if (!width || !height) {
    return "";
  }
  const centre = (x + w / 2) / width;
  const side = centre < 1 / 3 ? "left" : centre > 2 / 3 ? "right" : "centre";
  let where;
  if (y + h >= 0.95 * height) {
    where = side === "centre" ? "standing at the bottom in the middle" : `standing at the bottom ${side}`;
  } else {
    const middle = (y + h / 2) / height;
    const level = middle < 1 / 3 ? "high up" : middle < 2 / 3 ? "halfway up" : "low down";
    where = `${level}, ${side === "centre" ? "in the middle" : `on the ${side}`}`;
  }
  const share = h / height;
  const size =
    share > 1.05
      ? "taller than the painting"
      : [
          [0.15, "a small figure, about a tenth"],
          [0.29, "about a quarter"],
          [0.41, "about a third"],
          [0.58, "about half"],
          [0.71, "about two thirds"],
          [0.85, "about three quarters"],
          [Infinity, "nearly all"],
        ].find(([limit]) => share < limit)[1] + " of the painting's height";
  const outside = x < 0 || x + w > width || y < 0 ? ", partly outside the picture" : "";
  return `${where}, ${size}${outside}`;
}

export class PlacementEditor {
  // onChange(editor) after every change; onUserChange(editor) only after the user's own (drag, keys, spot)
  constructor({ stage, image, box, handle }, onChange, onUserChange = () => {}) {
    this.stage = stage;
    this.image = image;
    this.box = box;
    this.onChange = onChange;
    this.onUserChange = onUserChange;
    this.width = 0;
    this.height = 0;
    this.aspect = 0.75; // the person's width / height; refined once the photo (or a result) is known
    this.auto = true;
    this.spot = null; // index of a suggested spot the box sits on, sent as `spot` until the user drags
    this.preview = null; // where automatic placement will put a standard bust (the painting's best spot)
    this.placed = null; // where the last picture placed this person automatically ({x, y, h}): drawn while auto
    this.rect = { x: 0, y: 0, h: 0 };
    this.slot = { index: 0, count: 1 }; // with several people, untouched boxes are drawn side by side
    box.addEventListener("pointerdown", (event) => this.startGesture(event, event.target === handle ? "resize" : "move"));
    box.addEventListener("keydown", (event) => this.onKey(event));
  }

  setPainting(width, height) {
    this.width = width;
    this.height = height;
    this.preview = null;
    this.placed = null;
    this.reset();
  }

  // Where the server placed this person in a result: `box` {x, y, w, h} in the result's pixels, `scale`
  // times the painting's. The box takes the person's real proportions; an automatic box is drawn there
  // (and stays automatic: the next job plans it again), a box on a suggested spot moves to where the spot
  // put this person (and still asks for the spot), and one the user placed stays where they put it.
  follow(box, scale) {
    this.aspect = box.w / box.h;
    const rect = { x: Math.round(box.x / scale), y: Math.round(box.y / scale), h: Math.max(1, Math.round(box.h / scale)) };
    if (this.auto) {
      this.placed = rect;
      this.reset();
    } else {
      if (this.spot !== null) {
        this.rect = rect;
      }
      this.render();
    }
  }

  // Another photo for this box, or other people around it: the last picture's placement is not its own.
  forgetPlaced() {
    if (this.placed) {
      this.placed = null;
      if (this.auto) {
        this.reset();
      }
    }
  }

  // The server's best spot for a standard bust: where the automatic box is drawn (still sent as auto).
  setPreview(spot) {
    this.preview = spot;
    if (this.auto) {
      this.reset();
    }
  }

  // One tap on a suggested spot: the box jumps there and the job asks for that spot by index, so the
  // server fits this photo's face to it; dragging afterwards makes it an ordinary explicit box.
  useSpot(index, spot) {
    this.fit(spot);
    this.auto = false;
    this.spot = index;
    this.render();
    this.onUserChange(this);
  }

  // Height from the spot, keeping the bottom edge and the centre where the spot has them.
  fit(spot) {
    const h = Math.max(1, Math.round(spot.height));
    const w = Math.max(1, Math.round(h * this.aspect));
    const centre = spot.x + spot.width / 2;
    this.rect = { x: Math.round(Math.min(Math.max(centre - w / 2, 0), this.width - w)), y: spot.y + spot.height - h, h };
  }

  // A new aspect changes only the width: the user's chosen position and height stay.
  setAspect(aspect) {
    if (!(aspect > 0) || !Number.isFinite(aspect)) {
      return;
    }
    this.aspect = aspect;
    if (this.auto) {
      this.reset();
    } else {
      this.render();
    }
  }

  // This box is person index + 1 of `count`: with several people the untouched boxes stand in a row along
  // the bottom (a preview only: the server plans them together, by their faces and the painting).
  setSlot(index, count) {
    if (index !== this.slot.index || count !== this.slot.count) {
      this.placed = null; // other people: the last picture's plan was made for others
    }
    this.slot = { index, count };
    if (this.auto) {
      this.reset();
    }
  }

  // Automatic: drawn where the last picture placed this person, else where automatic placement is
  // expected (several people: a row along the bottom; one: the painting's best spot for a bust).
  reset() {
    this.auto = true;
    this.spot = null;
    const { index, count } = this.slot;
    if (this.placed) {
      this.rect = { ...this.placed };
    } else if (count > 1 && this.width) {
      const share = Math.min(0.5 * this.height, (0.9 * this.width) / (count * this.aspect));
      const h = Math.max(1, Math.round(share));
      const w = Math.max(1, Math.round(h * this.aspect));
      const centre = ((index + 0.5) * this.width) / count;
      this.rect = { x: Math.round(Math.min(Math.max(centre - w / 2, 0), this.width - w)), y: this.height - h, h };
    } else if (this.preview) {
      this.fit(this.preview);
    } else {
      const h = Math.max(1, Math.min(Math.round(AUTO_HEIGHT * this.height), Math.floor(this.width / this.aspect)));
      const w = Math.max(1, Math.round(h * this.aspect));
      this.rect = { x: Math.floor((this.width - w) / 2), y: this.height - h, h };
    }
    this.render();
  }

  boxWidth() {
    return Math.max(1, Math.round(this.rect.h * this.aspect));
  }

  // What the API is sent: `auto` until the user moves the box, then whole painting pixels.
  values() {
    if (this.auto) {
      return { auto: "true" };
    }
    if (this.spot !== null) {
      return { spot: String(this.spot) };
    }
    return { x: String(this.rect.x), y: String(this.rect.y), height: String(this.rect.h) };
  }

  // One person of several (number n from 1): nothing while automatic, else the box as x.n, y.n, height.n
  // (a suggested spot is a one-person field, so a box put on one is sent as the box it is).
  personValues(n) {
    if (this.auto) {
      return {};
    }
    return { [`x.${n}`]: String(this.rect.x), [`y.${n}`]: String(this.rect.y), [`height.${n}`]: String(this.rect.h) };
  }

  // Move to (x, y) with height h; a resize passes `bottom` instead of y, so the feet stay put.
  place(x, y, h, bottom = null) {
    const minH = Math.max(8, Math.round(0.05 * this.height));
    const height = Math.round(Math.min(Math.max(h, minH), 2 * this.height));
    const w = Math.max(1, Math.round(height * this.aspect));
    const top = bottom === null ? y : bottom - height;
    const clamp = (value, size, span) =>
      Math.round(Math.min(Math.max(value, -(1 - MIN_VISIBLE) * size), span - MIN_VISIBLE * size));
    this.rect = { x: clamp(x, w, this.width), y: clamp(top, height, this.height), h: height };
    this.auto = false;
    this.spot = null;
    this.render();
    this.onUserChange(this);
  }

  describe() {
    return describePlacement(this.rect, this.boxWidth(), this.width, this.height);
  }

  render() {
    if (!this.width) {
      return;
    }
    const style = this.box.style;
    style.left = `${(100 * this.rect.x) / this.width}%`;
    style.top = `${(100 * this.rect.y) / this.height}%`;
    style.width = `${(100 * this.boxWidth()) / this.width}%`;
    style.height = `${(100 * this.rect.h) / this.height}%`;
    // the numbers the API is sent, for scripts and tests; people read the words of onChange
    Object.assign(this.box.dataset, { x: this.rect.x, y: this.rect.y, h: this.rect.h });
    this.onChange(this);
  }

  // Screen pixels to painting pixels, from the painting's displayed size.
  scale() {
    return this.width / this.image.getBoundingClientRect().width;
  }

  startGesture(event, mode) {
    if (event.button !== 0) {
      return;
    }
    event.preventDefault();
    this.box.focus({ preventScroll: true });
    this.box.setPointerCapture(event.pointerId);
    const start = { px: event.clientX, py: event.clientY, ...this.rect };
    const scale = this.scale();
    this.box.classList.add("active");
    const move = (moveEvent) => {
      const dx = (moveEvent.clientX - start.px) * scale;
      const dy = (moveEvent.clientY - start.py) * scale;
      if (mode === "move") {
        this.place(start.x + dx, start.y + dy, start.h);
      } else {
        // The top-right handle: up or right grows the person, whose feet (bottom-left) stay put.
        this.place(start.x, null, start.h + Math.max(-dy, dx / this.aspect), start.y + start.h);
      }
    };
    const end = () => {
      this.box.classList.remove("active");
      this.box.removeEventListener("pointermove", move);
      this.box.removeEventListener("pointerup", end);
      this.box.removeEventListener("pointercancel", end);
    };
    this.box.addEventListener("pointermove", move);
    this.box.addEventListener("pointerup", end);
    this.box.addEventListener("pointercancel", end);
  }

  onKey(event) {
    const step = Math.max(1, Math.round((event.shiftKey ? 0.05 : 0.01) * this.width));
    const { x, y, h } = this.rect;
    const grow = Math.max(1, Math.round(0.05 * h));
    const moves = {
      ArrowLeft: [x - step, y, h],
      ArrowRight: [x + step, y, h],
      ArrowUp: [x, y - step, h],
      ArrowDown: [x, y + step, h],
      "+": [x, null, h + grow, y + h],
      "=": [x, null, h + grow, y + h],
      "-": [x, null, h - grow, y + h],
    };
    const target = moves[event.key];
    if (target) {
      event.preventDefault();
      this.place(...target);
    }
  }
}
