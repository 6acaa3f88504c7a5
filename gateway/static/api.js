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

async function call(method, url, body) {
  let response;
  try {
    response = await fetch(url, { method, body, headers: { Accept: "application/json" } });
  } catch (error) {
    throw new ApiError(0, { code: "unreachable", detail: String(error) });
  }
  if (response.ok) {
    return response.json();
  }
  let problem = {};
  try {
    problem = await response.json();
  } catch {
    problem = { detail: response.statusText };
  }
  problem.retryAfter = Number(response.headers.get("Retry-After")) || null;
  throw new ApiError(response.status, problem);
}

export const api = {
  paintings: () => call("GET", "/v1/paintings").then((body) => body.paintings),
  styles: () => call("GET", "/v1/styles").then((body) => body.styles),
  submit: (form) => call("POST", "/v1/jobs", form),
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
