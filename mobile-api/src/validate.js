'use strict';
/**
 * Checks made at capture time, before an event enters the outbox. The server refuses a whole
 * push (400 40000) when the envelope is malformed or any text holds a control character; such
 * an event would block the outbox forever, so the SDK refuses it at once, while the user is
 * still looking at the form. Everything else (domain rules, scope) is judged by the server
 * per item.
 */

const MAX_EVENT_BYTES = 200 * 1024; // chars; ×3 for CJK in UTF-8 still fits one 1 MiB push body
const SHA256 = /^[0-9a-f]{64}$/;
// The server allows tab, LF and CR; every other C0 control character fails the batch.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/;

class CaptureError extends TypeError {
  constructor(message) {
    super(message);
    this.name = 'CaptureError';
  }
}

function isPlainObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function checkText(value, where) {
  if (typeof value === 'string') {
    if (CONTROL.test(value)) throw new CaptureError(`${where} contains a control character`);
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => checkText(v, `${where}[${i}]`));
  } else if (isPlainObject(value)) {
    for (const [k, v] of Object.entries(value)) {
      checkText(k, `${where} key`);
      checkText(v, `${where}.${k}`);
    }
  } else if (typeof value === 'number' && !Number.isFinite(value)) {
    throw new CaptureError(`${where} is not a finite number`);
  } else if (value !== null && !['number', 'boolean'].includes(typeof value)) {
    throw new CaptureError(`${where} is not JSON (${typeof value})`);
  }
}

function checkMedia(refs) {
  if (refs.length > 20) throw new CaptureError('at most 20 photos an event');
  for (const ref of refs) {
    if (!ref || !SHA256.test(ref.sha256)) throw new CaptureError('media sha256 must be 64 lowercase hex');
    if (!Number.isInteger(ref.size) || ref.size < 1) throw new CaptureError('media size must be a positive integer');
    if (typeof ref.mime !== 'string' || !ref.mime || ref.mime.length > 64) throw new CaptureError('media mime missing');
  }
}

function validateCapture(type, payload, { baseVersion, media, photos, optimistic }) {
  if (typeof type !== 'string' || !type || type.length > 40) throw new CaptureError('type must be 1–40 characters');
  if (!isPlainObject(payload)) throw new CaptureError('payload must be an object');
  checkText(payload, 'payload');
  if (type === 'household.edited' && !(Number.isInteger(baseVersion) && baseVersion >= 1)) {
    throw new CaptureError('household.edited needs baseVersion (the version you edited)');
  }
  if (baseVersion !== undefined && baseVersion !== null && !(Number.isInteger(baseVersion) && baseVersion >= 1)) {
    throw new CaptureError('baseVersion must be a positive integer');
  }
  checkMedia([...media, ...photos]);
  for (const row of optimistic) {
    if (!row || typeof row.kind !== 'string' || typeof row.id !== 'string') {
      throw new CaptureError('optimistic rows need {kind, id, data} or {kind, id, deleted: true}');
    }
  }
  if (JSON.stringify(payload).length > MAX_EVENT_BYTES) throw new CaptureError('payload larger than 200 K characters');
}

module.exports = { validateCapture, CaptureError, MAX_EVENT_BYTES };
