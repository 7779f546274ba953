'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { LocalStore } = require('../../src/store');
const { memoryStorage } = require('../../adapters/memory');

const put = (bucket, id, data = { id }) => ({ bucket, op: 'put', kind: 'household', id, data });
const remove = (bucket, id) => ({ bucket, op: 'remove', kind: 'household', id });
const page = (ops, extra = {}) => ({ ops, cursor: `c${Math.random()}`, has_more: false, projected_through: 10, ...extra });

test('a row held by two buckets stays until the last one lets go', async () => {
  // given a household held by its grid's bucket and by the user's bucket
  const store = await new LocalStore({ storage: memoryStorage() }).open();
  await store.applyPage(page([put('unit:a', 'h1'), put('user:s', 'h1'), put('unit:a', 'h2')]));
  // when the grid bucket removes it
  const first = await store.applyPage(page([remove('unit:a', 'h1')]));
  // then it is still there, held by the other bucket
  assert.deepEqual(first.removed, []);
  assert.deepEqual(store.list('household').find((r) => r.id === 'h1').buckets, ['user:s']);
  // when the last bucket removes it too, then it leaves
  const second = await store.applyPage(page([remove('user:s', 'h1')]));
  assert.deepEqual(second.removed, [{ kind: 'household', id: 'h1' }]);
  assert.equal(store.get('household', 'h1'), undefined);
  assert.equal(store.size, 1);
});

test('a removed bucket drops only rows no other bucket holds', async () => {
  const store = await new LocalStore({ storage: memoryStorage() }).open();
  await store.applyPage(page([put('unit:a', 'h1'), put('unit:a', 'h2'), put('unit:b', 'h2')]));
  const summary = await store.applyPage(page([], { scope_changes: { added: [], removed: ['unit:a'] } }));
  assert.deepEqual(summary.removed, [{ kind: 'household', id: 'h1' }]);
  assert.deepEqual(store.list('household').map((r) => r.id), ['h2']);
  assert.deepEqual(store.bucketNames(), ['unit:b']);
});

test('a reset drops the bucket first, then the page streams it again', async () => {
  const store = await new LocalStore({ storage: memoryStorage() }).open();
  await store.applyPage(page([put('unit:a', 'h1'), put('unit:a', 'h2')]));
  await store.applyPage(page([put('unit:a', 'h2', { v: 2 })], { reset: ['unit:a'] }));
  assert.deepEqual(store.list('household').map((r) => r.id), ['h2']);
  assert.deepEqual(store.get('household', 'h2'), { v: 2 });
});

test('a page and its cursor persist together or not at all', async () => {
  // given a store with one page applied
  const storage = memoryStorage();
  const store = await new LocalStore({ storage }).open();
  await store.applyPage(page([put('unit:a', 'h1')], { cursor: 'one' }));
  // when writing the next page fails (storage full, app killed)
  storage.failNextSet();
  await assert.rejects(store.applyPage(page([put('unit:a', 'h2')], { cursor: 'two' })));
  // then neither its rows nor its cursor were taken, in memory or on storage
  assert.equal(store.cursor, 'one');
  assert.equal(store.get('household', 'h2'), undefined);
  const reopened = await new LocalStore({ storage }).open();
  assert.equal(reopened.cursor, 'one');
  assert.deepEqual(reopened.list('household').map((r) => r.id), ['h1']);
});

test('reopening replays snapshot plus later pages; compaction keeps the same state', async () => {
  const storage = memoryStorage();
  const store = await new LocalStore({ storage, compactAfter: 3 }).open();
  for (let i = 0; i < 7; i += 1) {
    await store.applyPage(page([put('unit:a', `h${i}`), remove('unit:a', `h${i - 2}`)], { cursor: `c${i}`, projected_through: i }));
  }
  const reopened = await new LocalStore({ storage, compactAfter: 3 }).open();
  assert.equal(reopened.cursor, 'c6');
  assert.equal(reopened.projectedThrough, 6);
  assert.deepEqual(reopened.list('household').map((r) => r.id).sort(), ['h5', 'h6']);
  // compaction removed the page records the snapshot covers
  const pages = [...storage.data.keys()].filter((k) => k.includes('.page.'));
  assert.ok(pages.length < 3, pages.join());
});

test('wipe forgets rows and cursor and leaves other keys alone', async () => {
  const storage = memoryStorage();
  await storage.set('gl.outbox', { pending: [1] });
  const store = await new LocalStore({ storage }).open();
  await store.applyPage(page([put('unit:a', 'h1')], { cursor: 'x' }));
  await store.wipe();
  const reopened = await new LocalStore({ storage }).open();
  assert.equal(reopened.size, 0);
  assert.equal(reopened.cursor, null);
  assert.deepEqual(await storage.get('gl.outbox'), { pending: [1] });
});
