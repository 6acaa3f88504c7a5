// Plain-words messages for the API's problem codes and job failures: what went wrong and what to do.
// The server's own detail is kept as a second sentence, since it names the exact limit or value.

// The picture formats the server reads (shared/imageio.py), the one list the page checks files against
// before any upload and names in its messages. HEIC and TIFF are read by the server even where the
// browser cannot preview them.
const FORMATS = [
  { name: "JPEG", types: ["image/jpeg", "image/pjpeg"], extensions: ["jpg", "jpeg", "jfif"] },
  { name: "PNG", types: ["image/png", "image/apng"], extensions: ["png", "apng"] },
  { name: "WebP", types: ["image/webp"], extensions: ["webp"] },
  { name: "HEIC", types: ["image/heic", "image/heif", "image/heic-sequence", "image/heif-sequence"], extensions: ["heic", "heif"], noPreview: true },
  { name: "GIF", types: ["image/gif"], extensions: ["gif"] },
  { name: "BMP", types: ["image/bmp", "image/x-ms-bmp"], extensions: ["bmp"] },
  { name: "TIFF", types: ["image/tiff"], extensions: ["tif", "tiff"], noPreview: true },
];

export const FORMAT_WORDS = `${FORMATS.slice(0, -1).map((format) => format.name).join(", ")} or ${FORMATS.at(-1).name}`;

// For <input accept>: the types and the extensions (some systems label HEIC files with no type).
export const ACCEPT = FORMATS.flatMap((format) => [...format.types, ...format.extensions.map((ext) => `.${ext}`)]).join(",");

// The format of a chosen file, by its type, else by its name's extension; null for anything else (an SVG,
// a PDF, a text file), which is refused at once.
export function formatOf(file) {
  const type = (file.type || "").toLowerCase();
  const extension = (file.name.match(/\.([a-z0-9]+)$/i)?.[1] || "").toLowerCase();
  return (
    FORMATS.find((format) => format.types.includes(type)) ||
    (type === "" || type === "application/octet-stream" ? FORMATS.find((format) => format.extensions.includes(extension)) : null) ||
    null
  );
}

const BY_CODE = {
  "invalid-image": `We couldn't read this file as a picture. Choose a ${FORMAT_WORDS} photo.`,
  "unsupported-media-type": `This file type isn't supported. Choose a ${FORMAT_WORDS} photo.`,
  "image-too-large": "This picture has too many pixels. Choose a smaller photo or resize it first.",
  "upload-too-large": "This file is too large to upload. Choose a smaller photo or resize it first.",
  "unknown-painting": "That painting isn't in the gallery any more. Pick another one.",
  "unknown-style": "That style isn't available. Pick another style.",
  "rate-limited": "You've made a lot of pictures in a short time. Wait a minute and try again.",
  "too-many-jobs": "The server is busy right now. Try again in a few seconds.",
  "broker-unavailable": "The picture service is temporarily unavailable. Try again in a minute.",
  "unauthorized": "This server needs an API key. Enter yours below.",
  "development-mode":
    "This server has no API keys set, so it only serves the machine it runs on. Open the page there, or ask its operator to set keys.",
  "unreachable": "Can't reach the server. Check your connection and try again.",
  "job-not-found": "This picture is no longer on the server (pictures are kept only for a while). Make it again.",
  "blob-gone": "This picture is no longer on the server (pictures are kept only for a while). Make it again.",
};

const BY_STATUS = {
  413: BY_CODE["upload-too-large"],
  415: BY_CODE["unsupported-media-type"],
  429: BY_CODE["too-many-jobs"],
};

const STAGE_WORDS = {
  queue: "queueing your picture",
  plan: "finding the people in the photos",
  segment: "cutting you out of the photo",
  stylize: "repainting you in the style",
  composite: "placing you in the painting",
};

const FIELD_WORDS = {
  portrait: "your photo",
  painting: "the painting",
  painting_file: "the painting",
  style: "the style",
  strength: "the style strength",
  x: "your position",
  y: "your position",
  height: "your size",
  output_scale: "the picture size",
  people: "the people in the photo",
  order: "who stands in front",
};

// A person's own field (`x.2`, `style.3`): the same words, for that person.
const PERSON_FIELD_WORDS = { x: "position", y: "position", height: "size", style: "style", strength: "style strength" };

function fieldWords(field) {
  const [, name, number] = field.match(/^([a-z_]+)\.([0-9]+)$/) || [];
  if (name && PERSON_FIELD_WORDS[name]) {
    return `person ${number}'s ${PERSON_FIELD_WORDS[name]}`;
  }
  return FIELD_WORDS[field] || field;
}

// Which step of the page an error belongs to, so it is shown (and focused) where it can be fixed.
export const FIELD_STEP = {
  portrait: "portrait",
  portrait_from: "portrait",
  painting: "painting",
  painting_file: "painting",
  style: "style",
  strength: "style",
  keep_colors: "style",
  harmonize: "style",
  format: "style",
  output_scale: "style",
  x: "place",
  y: "place",
  height: "place",
  auto: "place",
  spot: "place",
  order: "place",
  people: "portrait",
};

// The step for a field, a person's own (`x.2`) included: that of the field it stands for; but a person's
// own style is chosen on their card, at the photo step.
export function stepOf(field) {
  if (!field) {
    return null;
  }
  if (/^style\.[0-9]+$/.test(field)) {
    return "portrait";
  }
  return FIELD_STEP[field] || FIELD_STEP[field.replace(/\.[0-9]+$/, "")] || null;
}

export function explainProblem(error) {
  const known = BY_CODE[error.code] || BY_STATUS[error.status];
  if (known) {
    return error.detail && error.code !== "unreachable" ? `${known} (${error.detail})` : known;
  }
  if (error.status === 422 && error.field) {
    return `Please check ${fieldWords(error.field)}: ${error.detail}`;
  }
  if (error.status >= 500) {
    return "Something went wrong on the server. Try again in a moment.";
  }
  return error.detail || "Something went wrong. Try again.";
}

export function explainFailure(jobError) {
  if (jobError?.code === "no-person" && jobError.person) {
    return `We could not find a person in person ${jobError.person}'s photo. Choose a photo of someone with their face or body clearly visible, or remove that person.`;
  }
  if (jobError?.code === "no-person") {
    return "We could not find a person in this photo. Choose a photo of someone with their face or body clearly visible, filling a good part of the frame.";
  }
  const where = STAGE_WORDS[jobError?.stage] || "making your picture";
  const detail = jobError?.detail ? ` (${jobError.detail})` : "";
  return `Something went wrong while ${where}${detail}. Try a different photo (one clearly visible person) or try again.`;
}
