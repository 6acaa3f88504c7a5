// Submit and progress: the request made from the four steps (photos shrunk to fit, uploads.js), the job
// followed stage by stage to its end (each person's state when there are several), cancelled on request,
// and any error said in words at the step that can fix it (explain).

import { askForKey } from "./api-key.js";
import { api, follow } from "./api.js";
import { editor, orderOf, people } from "./boxes.js";
import { remember } from "./history.js";
import { FIELD_STEP, explainFailure, explainProblem, stepOf } from "./messages.js";
import { $, clearMessages, reveal, showError, showInfo, stepSection } from "./page.js";
import { ghostFromResult } from "./portrait-step.js";
import { refresh } from "./refresh.js";
import { showResult, updateOutput } from "./result.js";
import { several, state } from "./state.js";
import { TooLargeError, megabytes, photosToSend } from "./uploads.js";

const SLOW_QUEUE_S = 8; // queued longer than this: say the service is busy

// The request: `photos` are the files to upload for the people, in order (shrunk where large), or null
// to reuse the portrait already on the server (portrait_from, one person).
function buildForm(photos) {
  const form = new FormData();
  const many = several();
  if (photos) {
    // every photo is sent when there are several (portrait_from holds one photo only), person 1's first
    for (const photo of photos) {
      form.append("portrait", photo, photo.name);
    }
  } else {
    form.append("portrait_from", state.portraitJob);
  }
  if (state.paintingFile) {
    form.append("painting_file", state.paintingFile, state.paintingFile.name);
  } else {
    form.append("painting", state.paintingId);
  }
  form.append("style", $("style-select").value);
  if ($("strength").dataset.chosen) {
    form.append("strength", $("strength").value); // else automatic, by the painting
  }
  form.append("keep_colors", String($("keep-colors").checked));
  form.append("harmonize", String($("harmonize").checked));
  form.append("format", $("format").value);
  form.append("output_scale", $("output-scale").value);
  if (!many) {
    for (const [name, value] of Object.entries(editor.values())) {
      form.append(name, value);
    }
  } else if (state.everyone) {
    // every person found in the photo; after a picture of it, what the user chose for its people (the
    // server checks the numbers against the people it finds), else everyone is placed automatically
    form.append("people", "all");
    appendPeople(form, state.group?.people || []);
    if (state.group?.front) {
      form.append("order", orderOf().join(","));
    }
  } else {
    appendPeople(form, people());
    const order = orderOf();
    if (order.at(-1) !== order.length) {
      form.append("order", order.join(","));
    }
  }
  return form;
}

// Only the boxes the user moved: the others are placed automatically, around them; and each person's own
// style and strength, where chosen (else the job's).
function appendPeople(form, everyone) {
  everyone.forEach((person, index) => {
    for (const [name, value] of Object.entries(person.editor.personValues(index + 1))) {
      form.append(name, value);
    }
    if (person.style.value) {
      form.append(`style.${index + 1}`, person.style.value);
    }
    if (person.strength.value) {
      form.append(`strength.${index + 1}`, person.strength.value);
    }
  });
}

const STATE_WORDS = { pending: "waiting", running: "working…", succeeded: "done", failed: "failed", canceled: "cancelled" };

// The stages in words: one person's three, or with several people the plan first and each stage for all.
const STAGE_WORDS = {
  one: { segment: "Cutting you out of the photo", stylize: "Repainting you in the style", composite: "Placing you in the painting" },
  many: {
    plan: "Planning where each of you stands",
    segment: "Cutting each of you out",
    stylize: "Repainting each of you",
    composite: "Placing you all in the painting",
  },
};

function stageList(many) {
  const list = $("stages");
  const kind = many ? "many" : "one";
  if (list.dataset.kind === kind) {
    return;
  }
  list.dataset.kind = kind;
  list.querySelector('[data-stage="plan"]')?.remove();
  if (many) {
    const plan = document.createElement("li");
    plan.dataset.stage = "plan";
    plan.innerHTML = '<span class="dot" aria-hidden="true"></span> <span class="stage-words"></span> <span class="state">waiting</span>';
    list.prepend(plan);
  }
  for (const item of list.children) {
    item.querySelector(".stage-words").textContent = STAGE_WORDS[kind][item.dataset.stage];
    item.querySelector(".person-states")?.remove();
  }
}

// Each person's state in a stage, one small numbered mark each (a phone has room for six on a line); in
// words, the count of those done.
function showPersonStates(item, stage) {
  const each = stage.people || [];
  let marks = item.querySelector(".person-states");
  if (!each.length) {
    marks?.remove();
    return "";
  }
  if (!marks) {
    marks = document.createElement("span");
    marks.className = "person-states";
    marks.setAttribute("aria-hidden", "true"); // the words after the stage say it
    item.append(marks);
  }
  marks.replaceChildren(
    ...each.map(({ person, state }) => {
      const mark = document.createElement("span");
      mark.className = "person-mark";
      mark.dataset.person = String(person);
      mark.dataset.state = state || "pending";
      mark.textContent = String(person);
      return mark;
    }),
  );
  const done = each.filter((person) => person.state === "succeeded").length;
  return stage.state === "running" ? `${done} of ${each.length} done` : "";
}

function showStages(job, since) {
  const many = Boolean(job.stages.plan) || state.runMany;
  stageList(many);
  for (const item of $("stages").children) {
    const stage = job.stages[item.dataset.stage] || {};
    item.dataset.state = stage.state || "pending";
    const duration = stage.state === "succeeded" && stage.duration_ms != null ? ` in ${(stage.duration_ms / 1000).toFixed(1)} s` : "";
    const counted = many ? showPersonStates(item, stage) : "";
    item.querySelector(".state").textContent = counted || (STATE_WORDS[stage.state] || stage.state || "waiting") + duration;
  }
  // While it waits, the job document says how many pictures were asked for before it and are not done
  // (`queue.ahead`). A running job between stages (one done, the next not started) waits for a painter too.
  const working = Object.values(job.stages).some((stage) => stage.state === "running");
  const status = job.status === "running" && !working ? "queued" : job.status;
  const waited = (performance.now() - since) / 1000;
  const ahead = job.queue?.ahead > 0 ? ` (${job.queue.ahead} ${job.queue.ahead === 1 ? "picture" : "pictures"} ahead of yours)` : "";
  const titles = {
    sending: many ? "Sending your photos…" : "Sending your photo…",
    queued:
      waited > SLOW_QUEUE_S
        ? `Waiting for a free painter${ahead}… it's busy right now; yours starts as soon as one is free.`
        : `Waiting for a free painter${ahead}…`,
    running: "Working on it…",
  };
  $("progress-title").textContent = titles[status] || "Working on it…";
}

// The request to send: the photos shrunk where they are large, so that they fit in one request; when they
// cannot, TooLargeError says which are too large and nothing is sent (uploads.js).
async function formToSend() {
  if (!several() && state.portraitJob) {
    return buildForm(null);
  }
  const painting = state.paintingFile;
  if (painting && state.uploads && painting.size > state.uploads.max_file_bytes) {
    const words = `“${painting.name}” is too large to send (${megabytes(painting.size)}): the server takes paintings up to ${megabytes(state.uploads.max_file_bytes)}. Choose a smaller image.`;
    throw Object.assign(new TooLargeError(words), { step: "painting" });
  }
  const originals = people().map((person) => person.file);
  $("progress-title").textContent = originals.length > 1 ? "Getting your photos ready…" : "Getting your photo ready…";
  const photos = await photosToSend(originals, state.uploads, (files) => requestSize(buildForm(files)), Boolean(painting));
  $("progress-title").textContent = originals.length > 1 ? "Sending your photos…" : "Sending your photo…";
  return buildForm(photos);
}

// The bytes the request will have, as the gateway counts them (its limit is on the whole body).
async function requestSize(form) {
  return (await new Response(form).blob()).size;
}

// Reuse the portrait already on the server; if it has expired or was deleted (a canceled job), upload
// the kept file again rather than bothering the user.
async function submitForm() {
  try {
    return await api.submit(await formToSend());
  } catch (error) {
    if (error.field !== "portrait_from") {
      throw error;
    }
    state.portraitJob = null;
    return api.submit(await formToSend());
  }
}

export function submit() {
  const many = several();
  const files = people().map((person) => person.file);
  const painting = state.paintingId || state.paintingFile;
  state.runMany = many;
  return runJob(async () => {
    const job = await submitForm();
    // a job with several people holds several photos: the next one-person job uploads its photo again
    state.portraitJob = many ? null : job.id;
    state.sent = { id: job.id, files, painting };
    return job;
  });
}

// Follow a job (a new one, or one restored from the URL) to its end, with the progress view shown above
// any earlier result, which stays: a failed or cancelled run takes nothing away.
export async function runJob(start) {
  clearMessages();
  const run = { stopped: false };
  state.run = run;
  state.job = null;
  refresh();
  const since = performance.now();
  $("progress").hidden = false;
  $("cancel-button").disabled = false;
  showStages({ status: "sending", stages: {} }, since);
  updateOutput();
  reveal($("progress"));
  const timer = setInterval(() => {
    $("elapsed").textContent = ((performance.now() - since) / 1000).toFixed(1);
  }, 100);
  try {
    const job = await start();
    state.job = job;
    if (run.stopped) {
      api.cancel(job.id).catch(() => {}); // cancelled while it was being sent
      return;
    }
    const final = await follow(job.id, (doc) => showStages(doc, since), run);
    if (run.stopped) {
      return;
    }
    $("progress").hidden = true;
    state.job = final;
    if (final.status === "succeeded") {
      await showResult(remember(final));
      ghostFromResult(final);
    } else if (final.status === "failed") {
      throw { failure: final.error };
    } else {
      showInfo("submit", "This picture was cancelled before it was finished.");
    }
  } catch (error) {
    explain(error);
  } finally {
    clearInterval(timer);
    $("elapsed").textContent = ((performance.now() - since) / 1000).toFixed(1);
    $("progress").hidden = true;
    if (state.run === run) {
      state.run = null;
    }
    refresh();
    updateOutput();
  }
}

export function explain(error) {
  if (error instanceof TooLargeError) {
    // found before sending: the photos (or the painting) named, at the step where they are changed
    const step = error.step || "portrait";
    showError(step, error.words);
    reveal(stepSection(step));
    return;
  }
  if (error.failure) {
    // a photo without a person is the photo's problem: say so at the photo step
    const step = error.failure.code === "no-person" ? FIELD_STEP.portrait : stepOf(error.failure.field) || "submit";
    showError(step, explainFailure(error.failure));
    reveal(stepSection(step));
    return;
  }
  const step = stepOf(error.field) || "submit";
  showError(step, explainProblem(error));
  reveal(stepSection(step));
  if (error.status === 401) {
    askForKey();
  }
}

export async function cancel() {
  if (!state.run) {
    return;
  }
  state.run.stopped = true;
  $("cancel-button").disabled = true;
  $("progress").hidden = true;
  updateOutput();
  try {
    if (state.job) {
      await api.cancel(state.job.id);
    }
    // not an error: the user asked for it, and an earlier result (if any) is still shown
    showInfo("submit", "Cancelled. Change anything you like and try again.");
  } catch (error) {
    showError("submit", explainProblem(error));
  }
}
