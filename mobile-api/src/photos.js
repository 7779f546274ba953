'use strict';
/**
 * Photos: hashed on the phone when taken (the event names them by SHA-256), uploaded through
 * `POST /v1/media` only after the server has answered for their event. Upload jobs are kept in
 * the outbox's storage record (see Outbox.add), so an event and its photos are captured in
 * one write; this module prepares photos and drains the jobs.
 */

const { ApiError } = require('./api');
const { backoffDelay } = require('./backoff');
const { sha256Hex } = require('./sha256');

const PERMANENT_FAILURE = (status) => status >= 400 && status < 500 && ![401, 408, 429].includes(status);

/** Hash and size a local file: `{sha256, size, mime, path}`. */
async function preparePhoto({ files, sha256 }, path, mime) {
  const bytes = await files.read(path);
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const digest = sha256 ? await sha256(view) : sha256Hex(view);
  return { sha256: digest, size: view.length, mime, path };
}

/** Jobs whose event the server has answered for, and whose backoff has passed. */
function readyJobs(outboxState, now) {
  const waiting = new Set(outboxState.pending.map((e) => e.event_id));
  return (outboxState.photos || []).filter((job) => !waiting.has(job.event_id) && (job.next_at || 0) <= now);
}

/** The outbox state after one upload outcome for `sha256`. */
function afterUpload(state, sha256, outcome, { now, backoff }) {
  const photos = [];
  const failed = [...(state.photos_failed || [])];
  for (const job of state.photos || []) {
    if (job.sha256 !== sha256) {
      photos.push(job);
    } else if (outcome.kind === 'failed') {
      failed.push({ ...job, errcode: outcome.errcode, errmsg: outcome.errmsg });
    } else if (outcome.kind === 'retry') {
      const attempts = (job.attempts || 0) + 1;
      photos.push({ ...job, attempts, next_at: now + backoffDelay(attempts, backoff) });
    }
  }
  return { ...state, photos, photos_failed: failed.slice(-50) };
}

/**
 * Upload one photo through the `uploadFile` adapter with the session's token (refreshed once on
 * 401). Resolves to an outcome: `uploaded` (`created` false when the server had the bytes),
 * `failed` (final, e.g. not an image) or `retry` (offline, 5xx).
 */
async function uploadJob(job, { api, uploadFile, now }) {
  if (!uploadFile) throw new TypeError('adapters.uploadFile is required for photos');
  if (!api.session) return { kind: 'retry', error: 'not logged in' };
  const send = async () => {
    if (now() >= api.session.expires_at) await api.refresh();
    return uploadFile({
      url: `${api.baseUrl}/v1/media`,
      filePath: job.path,
      name: 'file',
      formData: { sha256: job.sha256 },
      headers: { authorization: `Bearer ${api.session.access_token}` },
    });
  };
  try {
    let response = await send();
    if (response.status === 401) {
      await api.refresh();
      response = await send();
    }
    if (response.status === 200 || response.status === 201) return { kind: 'uploaded', created: response.status === 201 };
    const body = response.data || {};
    if (PERMANENT_FAILURE(response.status)) return { kind: 'failed', errcode: body.errcode, errmsg: body.errmsg };
    return { kind: 'retry', status: response.status };
  } catch (error) {
    // A refused login is not the photo's fault: keep it for after the next login.
    const final = error instanceof ApiError && !error.retryable && error.status !== 401;
    if (final) return { kind: 'failed', errcode: error.errcode, errmsg: error.errmsg };
    return { kind: 'retry', error: String(error.message || error) };
  }
}

module.exports = { preparePhoto, readyJobs, afterUpload, uploadJob, PERMANENT_FAILURE };
