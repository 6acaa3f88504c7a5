// The page's only door to the server: fetch wrappers that turn problem+json answers into ApiError,
// so the rest of the page deals with one error shape (status, code, field, detail).

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || `HTTP ${status}`);
    this.status = status;
    this.code = problem.code || `http-${status}`;
    this.field = problem.field || null;
    this.detail = problem.detail || "";
    this.retryAfter = problem.retryAfter || null;
  }
}

// The API key the user gave this page, remembered in this browser only (servers without keys need none).
const KEY_ITEM = "sitter.apiKey";
export const apiKey = {
  get: () => localStorage.getItem(KEY_ITEM) || "",
  set: (key) => (key ? localStorage.setItem(KEY_ITEM, key) : localStorage.removeItem(KEY_ITEM)),
};

// Links in the server's answers may be absolute; the page only ever calls its own origin, with the same
// path, so the key can never be sent anywhere else whatever a link says.
function ownPath(url) {
  const target = new URL(url, location.href);
  return target.pathname + target.search;
}

async function send(method, url, body, accept) {
  const headers = { Accept: accept };
  if (apiKey.get() && new URL(url, location.href).origin === location.origin) {
    headers["X-API-Key"] = apiKey.get();
  }
  let response;
  try {
    response = await fetch(url, { method, body, headers });
  } catch (error) {
    throw new ApiError(0, { code: "unreachable", detail: String(error) });
  }
  if (response.ok) {
    return response;
  }
  throw await problemOf(response);
}

async function problemOf(response) {
  let problem = {};
  try {
    problem = await response.json();
  } catch {
    problem = { detail: response.statusText };
  }
  problem.retryAfter = Number(response.headers.get("Retry-After")) || null;
  return new ApiError(response.status, problem);
}

const call = (method, url, body) => send(method, url, body, "application/json").then((r) => r.json());

// Previews go two at a time (the gateway lets each key wait on two and answers 503 `busy` at once beyond),
// and a `busy` answer is asked again after its Retry-After while PREVIEW_PATIENCE_MS lasts: six photos
// added together each get their cut-out in turn instead of four of them none.
const PREVIEWS_AT_ONCE = 2;
const PREVIEW_PATIENCE_MS = 20000;
let previewsRunning = 0;
const previewsWaiting = [];

async function previewTurn(work) {
  if (previewsRunning < PREVIEWS_AT_ONCE) {
    previewsRunning += 1;
  } else {
    await new Promise((resolve) => previewsWaiting.push(resolve)); // a finished preview hands its turn on
  }
  try {
    return await work();
  } finally {
    const next = previewsWaiting.shift();
    if (next) {
      next();
    } else {
      previewsRunning -= 1;
    }
  }
}

async function previewPatiently(form) {
  const deadline = Date.now() + PREVIEW_PATIENCE_MS;
  for (;;) {
    try {
      return await send("POST", "/v1/previews", form, "image/png").then((r) => r.blob());
    } catch (error) {
      const wait = 1000 * (error.retryAfter || 1);
      if (error.code !== "busy" || Date.now() + wait > deadline) {
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

export const api = {
  // images of a job need the key too, so they are fetched here and shown from object URLs
  image: (url) => send("GET", ownPath(url), undefined, "image/*").then((r) => r.blob()),
  // the gallery, and the server's upload limits beside it ({paintings, uploads})
  paintings: () => call("GET", "/v1/paintings"),
  painting: (id) => call("GET", `/v1/paintings/${encodeURIComponent(id)}`),
  styles: () => call("GET", "/v1/styles").then((body) => body.styles),
  submit: (form) => call("POST", "/v1/jobs", form),
  // the person cut out of a photo (RGBA PNG), or ApiError `no-person`; `busy` when no segmenter was free
  // in time, also after retries
  preview: (form) => previewTurn(() => previewPatiently(form)),
  job: (id) => call("GET", `/v1/jobs/${id}`),
  cancel: (id) => call("DELETE", `/v1/jobs/${id}`),
};

export const TERMINAL = ["succeeded", "failed", "canceled"];

const TRANSIENT_TRIES = 5; // a phone switching networks, a gateway restarting: not a failed job

// Poll a job until it ends: fast at first (most jobs take a second or two), backing off to 2 s so a
// long queue costs the server few requests. onUpdate sees each document; `signal.stopped` ends it early.
export async function follow(id, onUpdate, signal) {
  let delay = 250;
  let failures = 0;
  for (;;) {
    try {
      const job = await api.job(id);
      failures = 0;
      onUpdate(job);
      if (TERMINAL.includes(job.status) || signal.stopped) {
        return job;
      }
    } catch (error) {
      const transient = error.status === 0 || error.status >= 500;
      if (!transient || ++failures >= TRANSIENT_TRIES) {
        throw error;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 1.5, 2000);
  }
}
