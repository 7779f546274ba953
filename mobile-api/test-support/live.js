'use strict';
/**
 * Phones for the scenarios in test/e2e against a live server. The pytest test
 * tests/e2e/test_mobile_sdk.py starts the server, seeds it and names the fixture file in
 * GRIDLEDGER_E2E; without it these scenarios fail (they never skip).
 */

const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { createClient } = require('..');
const { nodeAdapters } = require('../adapters/node');

function fixture() {
  const file = process.env.GRIDLEDGER_E2E;
  assert.ok(file, 'GRIDLEDGER_E2E is not set: run `pytest tests/e2e/test_mobile_sdk.py`, which starts the server');
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

/** A clock the scenario moves by hand (a phone offline since yesterday, a wrong clock). */
function manualClock(offsetMs = 0) {
  const clock = { offsetMs, now: () => Date.now() + clock.offsetMs };
  return clock;
}

/**
 * Wraps a request adapter: `offline` makes every call fail before reaching the server;
 * `dropResponses(n)` lets the next n calls reach the server and then loses their answers.
 */
function flakyNetwork(request) {
  const net = { offline: false, toDrop: 0, dropped: 0, calls: 0 };
  net.dropResponses = (n) => {
    net.toDrop = n;
  };
  net.request = async (args) => {
    net.calls += 1;
    if (net.offline) throw new Error('no signal (simulated)');
    const response = await request(args);
    if (net.toDrop > 0) {
      net.toDrop -= 1;
      net.dropped += 1;
      throw new Error('connection reset after the server answered (simulated)');
    }
    return response;
  };
  return net;
}

/** A logged-in phone with its own storage directory and a network the test controls. */
async function phone(staffId, { name = 'phone', clock = manualClock(), pageLimit = 1000 } = {}) {
  const { base_url: baseUrl } = fixture();
  const dir = fs.mkdtempSync(path.join(process.env.GL_TMP || os.tmpdir(), `${name}-`));
  const adapters = nodeAdapters({ dir: path.join(dir, 'storage') });
  const net = flakyNetwork(adapters.request);
  const client = createClient({
    baseUrl,
    pageLimit,
    backoff: { baseMs: 20, capMs: 200, attempts: 5 },
    adapters: { ...adapters, request: net.request, now: clock.now },
  });
  await client.open();
  await client.devLogin(staffId);
  return { client, net, clock, dir };
}

/** Plain HTTP as a staff member (admin actions, checks the scenarios make). */
async function staffApi(staffId) {
  const { client } = await phone(staffId, { name: 'desk' });
  return {
    get: (p) => client.api.call('GET', p),
    post: (p, body) => client.api.call('POST', p, { body }),
  };
}

/** Pull until `predicate()` holds: projections fold asynchronously on the server. */
async function pullUntil(client, predicate, { timeoutMs = 20000, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await client.pull();
    if (predicate()) return;
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Pull until the phone's own pushes are reflected (projected_through ≥ write_checkpoint). */
function pullThrough(client, checkpoint) {
  return pullUntil(client, () => client.store.projectedThrough >= checkpoint, { what: `projected_through ≥ ${checkpoint}` });
}

/** Ask `read()` until `predicate(value)` holds: the server's read models fold asynchronously. */
async function eventually(read, predicate, { timeoutMs = 20000, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let value;
    try {
      value = await read();
    } catch (error) {
      if (!(error.status === 404) || Date.now() >= deadline) throw error; // not projected yet
    }
    if (value !== undefined && predicate(value)) return value;
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}: ${JSON.stringify(value)}`.slice(0, 2000));
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const households = (client, gridId) =>
  client.store.list('household').map((r) => r.data).filter((h) => !gridId || h.grid_id === gridId);

function visitPayload(householdId, i = 0) {
  return {
    household_id: householdId,
    purpose: 'routine',
    method: 'in_person',
    visited_at: new Date(Date.now() - i * 60000).toISOString(),
    findings: { food_clothing: 'ok', notes: `入户走访 #${i}` },
  };
}

module.exports = { fixture, phone, staffApi, pullUntil, pullThrough, eventually, households, visitPayload, manualClock };
