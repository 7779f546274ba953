'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { createClient } = require('../..');
const { memoryStorage, memoryFiles } = require('../../adapters/memory');
const { fakeServer } = require('../../test-support/fake_server');

async function phone(server, storage = memoryStorage(), files = memoryFiles()) {
  const client = createClient({
    baseUrl: 'http://fake.invalid',
    pageLimit: 3,
    adapters: {
      request: server.request, uploadFile: server.uploadFile, storage, files,
      sleep: async () => {}, random: () => 0.5,
    },
  });
  await client.open();
  return { client, storage, files };
}

const visit = (i) => ({ household_id: 'h1', purpose: 'routine', method: 'in_person', visited_at: '2026-11-20T08:00:00Z', findings: { notes: `n${i}` } });

test('a batch whose response was lost is re-sent and answered as duplicates', async () => {
  // given a phone with five visits captured offline
  const server = fakeServer();
  const { client } = await phone(server);
  await client.devLogin('s1');
  for (let i = 0; i < 5; i += 1) await client.recordVisit(visit(i));
  const statuses = [];
  client.on('result', (r) => statuses.push(r.status));
  // when the first two responses are lost after the server stored the events
  server.dropResponses = 2;
  const summary = await client.push();
  // then the server holds each event once, and the phone saw them acknowledged
  assert.equal(server.accepted.size, 5);
  assert.deepEqual(statuses, ['duplicate', 'duplicate', 'duplicate', 'duplicate', 'duplicate']);
  assert.equal(client.outbox.pending.length, 0);
  assert.equal(summary.sent, 5);
});

test('an expired access token is refreshed once and the call goes through', async () => {
  const server = fakeServer();
  const { client } = await phone(server);
  await client.devLogin('s1');
  await client.recordVisit(visit(1));
  server.expireNextCall = true;
  await client.push();
  assert.equal(server.accepted.size, 1);
  assert.equal(client.session.access_token, 'tok-2');
  assert.deepEqual(server.calls.filter((c) => c === '/v1/auth/refresh').length, 1);
});

test('pull pages until has_more is false and the optimistic view yields to pulled data', async () => {
  const server = fakeServer();
  const { client, storage } = await phone(server);
  await client.devLogin('s1');
  const entries = [];
  for (let i = 0; i < 7; i += 1) {
    entries.push(await client.recordVisit(visit(i), { optimistic: [{ kind: 'visit', id: `v${i}`, data: visit(i) }] }));
  }
  assert.equal(client.list('visit').length, 7);
  const reflected = [];
  client.on('reflected', (r) => reflected.push(r.eventId));
  await client.push();
  assert.equal(client.list('visit').length, 7, 'kept until a pull reflects the writes');
  const pulled = await client.pull();
  assert.equal(pulled.pages, 3);
  assert.equal(client.list('visit').length, 0);
  assert.equal(reflected.length, 7);
  assert.equal(client.eventStatus(entries[6].event_id).status, 'accepted');
  // and a restarted app finds the same rows and cursor on storage
  const again = (await phone(server, storage)).client;
  assert.equal(again.store.size, 7);
  assert.equal(again.store.cursor, '7');
});

test('a cursor the server refuses makes the phone start afresh without touching the outbox', async () => {
  const server = fakeServer();
  const { client } = await phone(server);
  await client.devLogin('s1');
  await client.recordVisit(visit(1));
  await client.push();
  await client.pull();
  await client.recordVisit(visit(2)); // still offline: stays in the outbox
  server.invalidCursorOnce = true;
  const resets = [];
  client.on('reset', (r) => resets.push(r));
  await client.pull();
  assert.deepEqual(resets, [{ buckets: 'all', errcode: 40063 }]);
  assert.equal(client.store.size, 1);
  assert.equal(client.outbox.pending.length, 1);
});

test('photos upload only after their event was answered', async () => {
  const server = fakeServer();
  const { client, files } = await phone(server);
  await client.devLogin('s1');
  files.put('/photos/1.jpg', [0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]);
  const ref = await client.preparePhoto('/photos/1.jpg');
  await client.recordVisit({ ...visit(1), photos: [ref.sha256] }, { photos: [ref] });
  assert.deepEqual(await client.uploadPhotos(), { uploaded: 0, failed: 0, retry: 0 });
  await client.push();
  assert.deepEqual(await client.uploadPhotos(), { uploaded: 1, failed: 0, retry: 0 });
  assert.deepEqual(server.uploads, [ref.sha256]);
  assert.equal(client.outbox.state.photos.length, 0);
});

test("another staff member logging in on the phone never pushes the first one's work", async () => {
  // given member s1 captured a visit offline and handed the phone to s2
  const server = fakeServer();
  const { client } = await phone(server);
  await client.devLogin('s1');
  const first = await client.recordVisit(visit(1));
  await client.devLogin('s2');
  const second = await client.recordVisit(visit(2));
  // when s2 pushes, only s2's event leaves
  await client.push();
  assert.deepEqual([...server.authors], [[second.event_id, 's2']]);
  assert.deepEqual(client.outbox.pending.map((e) => e.event_id), [first.event_id]);
  // and s1's event goes when s1 logs in again, under s1's name
  await client.devLogin('s1');
  await client.push();
  assert.equal(server.authors.get(first.event_id), 's1');
  assert.equal(client.outbox.pending.length, 0);
});

test('capturing without a login is refused before anything is stored', async () => {
  const { client } = await phone(fakeServer());
  await assert.rejects(client.recordVisit(visit(1)), /log in/);
  assert.equal(client.outbox.pending.length, 0);
});

test('a refused refresh token logs the phone out and keeps the outbox', async () => {
  const server = fakeServer();
  const { client } = await phone(server);
  await client.devLogin('s1');
  await client.recordVisit(visit(1));
  const events = [];
  client.on('loggedOut', (e) => events.push(e));
  server.tokenGeneration = 5; // the session was revoked on the server (device unbound)
  server.expireNextCall = true;
  await assert.rejects(client.push(), (error) => error.status === 401);
  assert.deepEqual(events, [{ errcode: 40104, errmsg: undefined }]);
  assert.equal(client.session, null);
  assert.equal(client.outbox.pending.length, 1);
});

test('a page that cannot be written stops the pull; the next pull resumes after the last stored page', async () => {
  // given seven rows on the server, three a page, and storage that fails writing page 2 once
  const server = fakeServer();
  const storage = memoryStorage();
  const set = storage.set.bind(storage);
  let failed = false;
  storage.set = async (key, value) => {
    if (!failed && key.endsWith('.page.2')) {
      failed = true;
      throw new Error('disk full (simulated)');
    }
    return set(key, value);
  };
  const { client } = await phone(server, storage);
  await client.devLogin('s1');
  for (let i = 0; i < 7; i += 1) await client.recordVisit(visit(i));
  await client.push();
  // when the pull meets the failing write
  await assert.rejects(client.pull(), /disk full/);
  // then only the first page and its cursor were taken
  assert.equal(client.store.size, 3);
  assert.equal(client.store.cursor, '3');
  // and the next pull continues from there to the end
  await client.pull();
  assert.equal(client.store.size, 7);
  assert.equal((await phone(server, storage)).client.store.size, 7);
});
