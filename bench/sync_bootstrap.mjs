// Node side of bench/sync_bootstrap.py: a phone with a town-level scope, in its own process.
//
//   bootstrap:   from an empty local store to every row of the scope, on storage (fs adapter)
//   incremental: 50 households changed on the server, pulled into that store
//   baseline:    the same households paged through GET /v1/households (200 a page), in this run
//
// Env: GL_BASE_URL, GL_STAFF_ID (town-level staff), GL_EDITOR_ID (may edit households),
// GL_TMP (scratch dir), GL_RUNS (repetitions, default 5). Prints one JSON line per run and a
// summary JSON line last.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

const require = createRequire(import.meta.url);
const { createClient } = require('../mobile-api/index.js');
const { nodeAdapters } = require('../mobile-api/adapters/node.js');

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run bench/sync_bootstrap.py`);
  return value;
};
const baseUrl = env('GL_BASE_URL');
const runs = Number(process.env.GL_RUNS || 5);
let phones = 0;

async function newPhone(staffId) {
  phones += 1;
  const dir = fs.mkdtempSync(path.join(env('GL_TMP'), `phone-${phones}-`));
  const adapters = nodeAdapters({ dir });
  const request = adapters.request;
  const client = createClient({
    baseUrl,
    pageLimit: 1000,
    adapters: {
      ...adapters,
      // Time spent waiting for the server (request sent → body parsed), to split the figure
      // into the server's share and the SDK's (apply + persist).
      request: async (args) => {
        const t0 = process.hrtime.bigint();
        try {
          return await request(args);
        } finally {
          client.networkMs = (client.networkMs || 0) + ms(t0);
        }
      },
    },
  });
  await client.open();
  await client.devLogin(staffId);
  return client;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;

async function bootstrap() {
  const client = await newPhone(env('GL_STAFF_ID'));
  client.networkMs = 0;
  const t0 = process.hrtime.bigint();
  const summary = await client.pull();
  const elapsed = ms(t0);
  const households = client.store.list('household').length;
  const sdkMs = elapsed - client.networkMs;
  console.log(JSON.stringify({ run: 'bootstrap', ms: elapsed, server_wait_ms: client.networkMs, sdk_ms: sdkMs, pages: summary.pages, rows: client.store.size, households }));
  return { client, elapsed, households, sdkMs };
}

async function restBaseline(client) {
  const t0 = process.hrtime.bigint();
  let offset = 0;
  let total = Infinity;
  const rows = new Map();
  while (offset < total) {
    const page = await client.api.call('GET', `/v1/households?limit=200&offset=${offset}`);
    total = page.total;
    for (const item of page.items) rows.set(item.id, item);
    offset += page.items.length;
    if (!page.items.length) break;
  }
  return { elapsed: ms(t0), rows: rows.size };
}

async function changeHouseholds(editor, ids, round) {
  for (const id of ids) {
    const file = await editor.api.call('GET', `/v1/households/${id}`);
    await editor.api.call('POST', `/v1/households/${id}/updates`, {
      body: { base_version: file.version, changes: [{ path: 'notes', value: `bench round ${round}` }] },
    });
  }
}

async function incremental(client, watcher, editor, round) {
  const ids = client.store.list('household').slice(round * 50, round * 50 + 50).map((r) => r.id);
  await changeHouseholds(editor, ids, round);
  // Another phone waits for the server's projections, so the timed pull does not include them.
  const changed = () => ids.every((id) => (watcher.store.get('household', id) || {}).notes === `bench round ${round}`);
  for (let i = 0; !changed(); i += 1) {
    if (i > 400) throw new Error('changes never reached the sync feed');
    await watcher.pull();
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  client.networkMs = 0;
  const t0 = process.hrtime.bigint();
  const summary = await client.pull();
  const elapsed = ms(t0);
  const sdkMs = elapsed - client.networkMs;
  const ok = ids.every((id) => client.store.get('household', id).notes === `bench round ${round}`);
  if (!ok) throw new Error('incremental pull missed changes');
  console.log(JSON.stringify({ run: 'incremental', ms: elapsed, server_wait_ms: client.networkMs, sdk_ms: sdkMs, ops: summary.put, pages: summary.pages }));
  return { elapsed, sdkMs };
}

const boots = [];
const bootSdk = [];
let last;
for (let i = 0; i < runs; i += 1) {
  last = await bootstrap();
  boots.push(last.elapsed);
  bootSdk.push(last.sdkMs);
}
const rest = await restBaseline(last.client);
console.log(JSON.stringify({ run: 'rest_baseline', ms: rest.elapsed, rows: rest.rows }));
const watcher = await newPhone(env('GL_STAFF_ID'));
await watcher.pull();
const editor = await newPhone(env('GL_EDITOR_ID'));
const incs = [];
const incSdk = [];
for (let round = 0; round < runs; round += 1) {
  const { elapsed, sdkMs } = await incremental(last.client, watcher, editor, round);
  incs.push(elapsed);
  incSdk.push(sdkMs);
}
console.log(JSON.stringify({
  bootstrap_ms_median: median(boots),
  bootstrap_ms_all: boots,
  bootstrap_sdk_ms_median: median(bootSdk),
  households: last.households,
  rest_baseline_ms: rest.elapsed,
  incremental_ms_median: median(incs),
  incremental_ms_all: incs,
  incremental_sdk_ms_median: median(incSdk),
}));
