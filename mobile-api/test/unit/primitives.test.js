'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { sha256Hex } = require('../../src/sha256');
const { uuid7Factory } = require('../../src/uuid7');
const { validateCapture, CaptureError } = require('../../src/validate');

test('the JavaScript SHA-256 agrees with Node crypto at block boundaries', () => {
  for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 120, 4096, 100001]) {
    const bytes = crypto.randomBytes(n);
    assert.equal(sha256Hex(bytes), crypto.createHash('sha256').update(bytes).digest('hex'), `length ${n}`);
  }
});

test('UUIDv7 ids carry the version and variant and sort in creation order, even on a stuck clock', () => {
  const ids = Array.from({ length: 5000 }, uuid7Factory({ now: () => 1_760_000_000_000 }));
  assert.equal(new Set(ids).size, ids.length);
  assert.deepEqual([...ids].sort(), ids);
  for (const id of ids.slice(0, 20)) assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(ids[0].slice(0, 8), (1_760_000_000_000).toString(16).padStart(12, '0').slice(0, 8));
});

test('captures that would poison a push batch are refused on the phone', () => {
  const ok = { media: [], photos: [], optimistic: [] };
  assert.throws(() => validateCapture('visit.recorded', { notes: 'a\u0000b' }, ok), CaptureError);
  assert.throws(() => validateCapture('visit.recorded', [], ok), CaptureError);
  assert.throws(() => validateCapture('household.edited', { changes: [] }, ok), /baseVersion/);
  assert.throws(() => validateCapture('t', {}, { ...ok, media: [{ sha256: 'AB', size: 1, mime: 'image/jpeg' }] }), /sha256/);
  assert.throws(() => validateCapture('t', { n: Number.NaN }, ok), /finite/);
  validateCapture('visit.recorded', { notes: 'line\nbreak\ttab' }, ok);
});
