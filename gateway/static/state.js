// The page's state, one object that every module reads and updates: the photos and people, the painting,
// the styles, the job being followed, the result shown and this tab's history. Handlers change it, then
// call refresh() (refresh.js) to sync the controls. Beside it, two helpers that only read or keep it:
// several() and objectUrl(). It imports nothing, so any module can import it.

export const state = {
  portrait: null, // the chosen File, kept so "try another placement" needs no new pick
  portraitOk: false,
  portraitJob: null, // an earlier job holding this portrait on the server: reused, not uploaded again
  previewed: false, // the box shows the server's cut-out of this photo (not the photo itself)
  extras: [], // people 2..6, one photo each: { file, ok, previewed, editor, box, card, style, urls }
  front: null, // the person the user put in front (their number); by default the last one
  lastBox: null, // the box last focused: a suggested spot is for that person
  everyone: false, // a group photo: every person in it is kept (people=all), placed automatically
  group: null, // after a picture of that group photo, its people: { order, front, people: [{ editor, box, card, style, ... }] }
  paintings: [],
  paintingId: null, // a gallery id, or null when an uploaded painting is used
  paintingFile: null,
  styles: [],
  uploads: null, // the server's upload limits (GET /v1/paintings): photos are shrunk to fit before sending
  job: null, // the job being followed
  sent: null, // { id, files, painting } of the last job submitted: its result's boxes are for these photos
  runMany: false, // the job being followed has several people (its progress names each one)
  run: null, // { stopped } of the job being followed
  shown: null, // the history entry whose result is shown
  stale: new Set(), // what the user changed since the shown result was made ("placement", "painting"...)
  history: [], // this tab's results, newest first
  pictures: new Map(), // job id -> { blob, url } of its result, fetched once
  thumbs: new Map(), // job id -> object URL of its thumbnail artifact (the strip after a reload)
  share: null, // { file, title } for the share sheet, where the browser can share files
  pendingRestore: null, // a job id from the URL, waiting for an API key
  urls: {}, // object URLs to revoke when replaced
};

export function objectUrl(slot, blob) {
  if (state.urls[slot]) {
    URL.revokeObjectURL(state.urls[slot]);
  }
  state.urls[slot] = URL.createObjectURL(blob);
  return state.urls[slot];
}

export const several = () => state.extras.length > 0 || state.everyone;
