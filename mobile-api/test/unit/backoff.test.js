'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { backoffDelay, retry } = require('../../src/backoff');

test('delays grow exponentially up to the cap, with full jitter below the ceiling', () => {
  const top = (attempt) => backoffDelay(attempt, { baseMs: 100, capMs: 5000, random: () => 0.999999 });
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6].map(top), [99, 199, 399, 799, 1599, 3199, 4999]);
  assert.equal(backoffDelay(3, { baseMs: 100, capMs: 5000, random: () => 0 }), 0);
  const spread = new Set(Array.from({ length: 50 }, () => backoffDelay(4, { baseMs: 100 })));
  assert.ok(spread.size > 10, 'jitter spreads phones apart');
});

test('retry waits between attempts and returns the first success', async () => {
  const waits = [];
  let calls = 0;
  const value = await retry(async () => {
    calls += 1;
    if (calls < 3) throw Object.assign(new Error('offline'), { retryable: true });
    return 'ok';
  }, { baseMs: 100, random: () => 0.5, sleep: async (ms) => waits.push(ms) });
  assert.equal(value, 'ok');
  assert.deepEqual(waits, [50, 100]);
});

test('retry gives up on a final error at once and after the last attempt', async () => {
  let calls = 0;
  await assert.rejects(retry(async () => {
    calls += 1;
    throw new Error('400');
  }, { isRetryable: () => false, sleep: async () => {} }), /400/);
  assert.equal(calls, 1);
  calls = 0;
  await assert.rejects(retry(async () => {
    calls += 1;
    throw new Error('503');
  }, { attempts: 4, sleep: async () => {} }), /503/);
  assert.equal(calls, 4);
});
