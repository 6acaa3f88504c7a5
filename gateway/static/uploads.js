// Photos made small enough to send. The server never uses more than about 2048 px of a photo's long side
// (the stylizer's working size, 1024, times the largest picture size, 2), so a larger photo that this
// browser can decode (JPEG, PNG, WebP, GIF, BMP) is re-encoded as a JPEG 2560 px long before it is uploaded: nothing
// the server would use is lost, and six phone photos fit in one request (the gateway takes two files'
// worth, GET /v1/paintings says how much). createImageBitmap applies the photo's EXIF orientation, as the
// server would; the new file carries no metadata (no location). Photos the browser cannot decode (HEIC,
// TIFF) are sent as they are. When the request still cannot fit, the page is told which photos are too
// large, in words, and sends nothing: the user never meets a bare 413. The server stays the judge.

import { formatOf } from "./messages.js";

const FIRST = { longSide: 2560, quality: 0.92 }; // every photo larger than this, once, when it is chosen
const SMALLER = { longSide: 2048, quality: 0.85 }; // only when the photos do not fit in one request otherwise
const DECODABLE = new Set(["JPEG", "PNG", "WebP", "GIF", "BMP"]); // a GIF gives its first frame, as on the server

const prepared = new WeakMap(); // File -> Promise<File>: each photo decoded once, however often it is sent

// The photo as it will be uploaded: itself, or a smaller JPEG of it. Started as soon as a photo is chosen
// (the cut-out preview sends it too), so submitting rarely waits for it.
export function readyToSend(file) {
  if (!prepared.has(file)) {
    prepared.set(file, shrink(file, FIRST));
  }
  return prepared.get(file);
}

// A file of this many bytes in words: "4.2 MB" (MB of 1024 x 1024 bytes, as the limits are set).
export function megabytes(bytes) {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

// A request that cannot fit even with every photo shrunk: `words` say which photos are at fault.
export class TooLargeError extends Error {
  constructor(words) {
    super(words);
    this.words = words;
  }
}

// The files to send for `photos` (the chosen Files, in order), fitted to the server's `limits`
// ({max_file_bytes, max_request_bytes}, or null when unknown: then only the first shrink). `requestSize`
// measures the whole request as it would be sent with a list of files (the painting and fields included);
// `withPainting`: an uploaded painting is sent beside them (and named when they do not fit together).
export async function photosToSend(photos, limits, requestSize, withPainting = false) {
  let files = await Promise.all(photos.map(readyToSend));
  if (!limits || (await fits(files, limits, requestSize))) {
    return files;
  }
  // smaller still, from the originals: 2048 px (what the server uses at most), re-encoded even when no
  // longer than that (a large PNG screenshot, say), whichever of the two files is smaller
  const first = files;
  files = await Promise.all(
    photos.map(async (photo, index) => {
      const smaller = await shrink(photo, { ...SMALLER, always: true });
      return smaller.size < first[index].size ? smaller : first[index];
    }),
  );
  if (await fits(files, limits, requestSize)) {
    return files;
  }
  throw new TooLargeError(tooLargeWords(photos, files, limits, await requestSize(files), withPainting));
}

async function fits(files, limits, requestSize) {
  return files.every((file) => file.size <= limits.max_file_bytes) && (await requestSize(files)) <= limits.max_request_bytes;
}

function tooLargeWords(photos, files, limits, total, withPainting) {
  const named = (index) => `“${photos[index].name}” (${megabytes(files[index].size)})`;
  // the format of a photo this browser cannot re-encode (HEIC, TIFF...), else null
  const cannot = (index) => (DECODABLE.has(formatOf(photos[index])?.name) ? null : formatOf(photos[index])?.name || null);
  const single = files.findIndex((file) => file.size > limits.max_file_bytes);
  if (single >= 0) {
    const format = cannot(single);
    const why = format ? `This browser can't make a ${format} photo smaller` : "It is too large even made smaller";
    return `${named(single)} is too large to send: the server takes photos up to ${megabytes(limits.max_file_bytes)}. ${why}: choose a smaller photo${photos.length > 1 ? ", or remove that person" : ""}.`;
  }
  const largest = files
    .map((file, index) => index)
    .sort((a, b) => files[b].size - files[a].size)
    .slice(0, 2);
  const kinds = [...new Set(largest.map(cannot).filter(Boolean))];
  const why = kinds.length ? ` (this browser can't make ${kinds.join(" or ")} photos smaller)` : "";
  const what = `${photos.length > 1 ? "These photos" : "This photo"}${withPainting ? " and your painting" : ""}`;
  const fix = photos.length > 1 ? "Choose smaller photos, or remove a person." : "Choose a smaller photo or painting.";
  const are = photos.length > 1 || withPainting ? "are too large to send together" : "is too large to send";
  return `${what} ${are}: ${megabytes(total)}, and the server takes up to ${megabytes(limits.max_request_bytes)} at once. The largest ${photos.length > 1 ? "photos" : "photo"}: ${largest.map(named).join(", ")}${why}. ${fix}`;
}

// A smaller JPEG of `file` when it is longer than `longSide` (or `always`, at most that long) and the
// browser can decode it; else the file itself.
async function shrink(file, { longSide, quality, always = false }) {
  if (!DECODABLE.has(formatOf(file)?.name) || typeof createImageBitmap !== "function") {
    return file;
  }
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  } catch {
    return file; // the browser could not decode it after all: the server will say what it thinks
  }
  try {
    const scale = Math.min(1, longSide / Math.max(bitmap.width, bitmap.height));
    if (scale === 1 && !always) {
      return file;
    }
    const width = Math.max(1, Math.round(bitmap.width * scale));
    const height = Math.max(1, Math.round(bitmap.height * scale));
    const blob = await encode(bitmap, width, height, quality).catch(() => null); // out of canvas memory, say
    if (!blob || blob.size >= file.size) {
      return file; // no smaller to send: the original has every pixel
    }
    const name = file.name.replace(/\.[^.]*$/, "") + ".jpg";
    return new File([blob], name, { type: "image/jpeg", lastModified: file.lastModified });
  } finally {
    bitmap.close();
  }
}

function encode(bitmap, width, height, quality) {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext("2d");
  context.fillStyle = "#fff"; // transparent parts on white, as the server settles alpha
  context.fillRect(0, 0, width, height);
  context.imageSmoothingQuality = "high";
  context.drawImage(bitmap, 0, 0, width, height);
  return new Promise((resolve) => {
    canvas.toBlob(
      (blob) => {
        canvas.width = canvas.height = 0; // phones limit the canvas memory a page holds
        resolve(blob);
      },
      "image/jpeg",
      quality,
    );
  });
}
