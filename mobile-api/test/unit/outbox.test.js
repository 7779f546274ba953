'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { Outbox } = require('../../src/outbox');
const { uuid7Factory } = require('../../src/uuid7');
const { memoryStorage } = require('../../adapters/memory');

const make = (storage) => new Outbox({ storage, newId: uuid7Factory(), now: () => Date.parse('2026-11-20T08:00:00Z') }).open();
const visit = { household_id: 'h1', purpose: 'routine', method: 'in_person', visited_at: '2026-11-20T08:00:00Z' };

test('captured events survive a restart with their sequence numbers', async () => {
  // given two events captured offline
  const storage = memoryStorage();
  const outbox = await make(storage);
  const a = await outbox.add({ type: 'visit.recorded', payload: visit });
  const b = await outbox.add({ type: 'visit.recorded', payload: visit });
  // when the app restarts
  const again = await make(storage);
  // then both are pending in capture order and the next sequence number is fresh
  assert.deepEqual(again.pending.map((e) => e.event_id), [a.event_id, b.event_id]);
  assert.deepEqual(again.pending.map((e) => e.device_seq), [1, 2]);
  assert.equal((await again.add({ type: 'visit.recorded', payload: visit })).device_seq, 3);
  assert.equal(a.captured_at, '2026-11-20T08:00:00.000Z');
});

test('a capture that cannot be written is not half-taken', async () => {
  const storage = memoryStorage();
  const outbox = await make(storage);
  storage.failNextSet();
  await assert.rejects(outbox.add({ type: 'visit.recorded', payload: visit }));
  assert.equal(outbox.pending.length, 0);
  assert.equal((await outbox.add({ type: 'visit.recorded', payload: visit })).device_seq, 1);
});

test('every answered status leaves the outbox; unanswered ones stay', async () => {
  const outbox = await make(memoryStorage());
  const ids = [];
  for (let i = 0; i < 4; i += 1) ids.push((await outbox.add({ type: 't', payload: {} })).event_id);
  const settled = await outbox.settle([
    { event_id: ids[0], status: 'accepted' },
    { event_id: ids[1], status: 'rejected', errcode: 40062 },
    { event_id: ids[2], status: 'deferred', waiting_for: [{ kind: 'household', id: 'x' }] },
  ], 50);
  assert.equal(settled.length, 3);
  assert.deepEqual(outbox.pending.map((e) => e.event_id), [ids[3]]);
});

test('optimistic rows stay until pulled data reflects them', async () => {
  // given an applied edit and a held one, both with optimistic rows
  const outbox = await make(memoryStorage());
  const row = (id, v) => ({ kind: 'household', id, data: { v } });
  const applied = await outbox.add({ type: 'household.edited', payload: {}, baseVersion: 1, optimistic: [row('h1', 2)] });
  const held = await outbox.add({ type: 'visit.recorded', payload: {}, optimistic: [row('h2', 9)] });
  const refused = await outbox.add({ type: 'visit.recorded', payload: {}, optimistic: [row('h3', 1)] });
  await outbox.settle([
    { event_id: applied.event_id, status: 'accepted' },
    { event_id: held.event_id, status: 'deferred' },
    { event_id: refused.event_id, status: 'rejected' },
  ], 100);
  assert.deepEqual([...outbox.overlays().keys()].sort(), ['household\u0000h1', 'household\u0000h2']);
  // when a pull has projected up to 99, nothing is released; at 100 the applied edit is
  assert.equal((await outbox.release(99, () => undefined)).length, 0);
  assert.deepEqual((await outbox.release(100, () => undefined)).map((i) => i.event_id), [applied.event_id]);
  // the held one waits for its own status to turn final
  assert.equal((await outbox.release(500, () => ({ status: 'deferred' }))).length, 0);
  assert.equal((await outbox.release(500, () => ({ status: 'accepted' }))).length, 1);
  assert.equal(outbox.overlays().size, 0);
  // the wire batch never carries the optimistic rows
  assert.equal(outbox.batch().length, 0);
});

test('batches stay under the body limit and keep capture order', async () => {
  const outbox = await make(memoryStorage());
  for (let i = 0; i < 30; i += 1) await outbox.add({ type: 't', payload: { text: 'x'.repeat(20000), i } });
  const batch = outbox.batch(200, 300 * 1024);
  assert.ok(batch.length > 1 && batch.length < 30, String(batch.length));
  assert.deepEqual(batch.map((e) => e.payload.i), [...Array(batch.length).keys()]);
  assert.ok(!('optimistic' in batch[0]));
});

test('photos of one capture are queued in the same write; refused events drop theirs', async () => {
  const storage = memoryStorage();
  const outbox = await make(storage);
  const photo = { sha256: 'a'.repeat(64), size: 10, mime: 'image/jpeg', path: '/tmp/p.jpg' };
  const kept = await outbox.add({ type: 'visit.recorded', payload: {}, photos: [photo] });
  const writes = storage.writes;
  const refused = await outbox.add({ type: 'visit.recorded', payload: {}, photos: [{ ...photo, sha256: 'b'.repeat(64) }] });
  assert.equal(storage.writes, writes + 1);
  assert.deepEqual(kept.media, [{ sha256: 'a'.repeat(64), size: 10, mime: 'image/jpeg' }]);
  await outbox.settle([{ event_id: kept.event_id, status: 'accepted' }, { event_id: refused.event_id, status: 'rejected' }], 3);
  assert.deepEqual(outbox.state.photos.map((j) => j.sha256), ['a'.repeat(64)]);
});

test('a capture made while a push is settling is kept', async () => {
  // given an event in flight
  const storage = memoryStorage();
  const outbox = await make(storage);
  const sent = await outbox.add({ type: 'visit.recorded', payload: visit });
  // when the answer is settled while the member captures another event at the same moment
  const settling = outbox.settle([{ event_id: sent.event_id, status: 'accepted' }], 7);
  const capturing = outbox.add({ type: 'visit.recorded', payload: visit });
  const [, captured] = await Promise.all([settling, capturing]);
  // then the new event is pending, the answered one is gone, in memory and on storage
  assert.deepEqual(outbox.pending.map((e) => e.event_id), [captured.event_id]);
  assert.deepEqual((await make(storage)).pending.map((e) => e.event_id), [captured.event_id]);
});
