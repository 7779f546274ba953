'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { fixture, phone, staffApi, pullThrough, eventually, households, visitPayload } = require('../../test-support/live');

test('100 visits captured offline are pushed once the signal returns', async () => {
  const world = fixture();
  const [member, gridId] = [world.offline_member, world.offline_member_grid];
  const { client, net } = await phone(member, { name: 'offline-100' });
  // given a phone that bootstrapped its grid and then lost the signal
  await client.pull();
  const homes = households(client, gridId);
  assert.ok(homes.length > 10, `grid has households on the phone (${homes.length})`);
  net.offline = true;
  // when the member records 100 visits offline
  const ids = [];
  for (let i = 0; i < 100; i += 1) ids.push((await client.recordVisit(visitPayload(homes[i % homes.length].id, i))).event_id);
  await assert.rejects(client.push(), /no answer/);
  assert.equal(client.outbox.pending.length, 100, 'nothing is lost while offline');
  // and the signal comes back
  net.offline = false;
  const results = [];
  client.on('result', (r) => results.push(r));
  const pushed = await client.push();
  // then each visit was accepted exactly once and the outbox is empty
  assert.deepEqual(new Set(results.map((r) => r.status)), new Set(['accepted']));
  assert.deepEqual(results.map((r) => r.event_id).sort(), [...ids].sort());
  assert.equal(client.outbox.pending.length, 0);
  // and after a pull the phone sees its own events' statuses
  await pullThrough(client, pushed.writeCheckpoint);
  for (const id of ids) assert.equal(client.eventStatus(id).status, 'accepted', id);
  // and the server's visit log holds exactly 100 visits by this member
  const supervisor = await staffApi(world.supervisor);
  const visits = () => supervisor.get(`/v1/visits?visitor_id=${member}&limit=1`);
  await eventually(visits, (page) => page.total >= 100, { what: '100 visits in the visit log' });
  assert.equal((await visits()).total, 100);
});

test('a batch whose responses were lost is re-sent without creating duplicates', async () => {
  const world = fixture();
  const [member, gridId] = [world.dropped_member, world.dropped_member_grid];
  const { client, net } = await phone(member, { name: 'dropped' });
  await client.pull();
  const homes = households(client, gridId);
  // given 30 visits in the outbox
  for (let i = 0; i < 30; i += 1) await client.recordVisit(visitPayload(homes[i % homes.length].id, i));
  const sent = client.outbox.batch();
  // when the server's answers to the first two pushes never reach the phone
  net.dropResponses(2);
  const statuses = [];
  client.on('result', (r) => statuses.push(r.status));
  await client.push();
  // then the phone re-sent the same batch and was told the events were already there
  assert.equal(net.dropped, 2);
  assert.deepEqual(new Set(statuses), new Set(['duplicate']));
  assert.equal(statuses.length, 30);
  // and pushing the same events yet again (a restarted app) still creates nothing new
  const again = await client.api.call('POST', '/v1/sync/push', {
    body: { protocol: 1, device_id: client.deviceId, device_clock: new Date().toISOString(), events: sent },
  });
  assert.deepEqual(new Set(again.results.map((r) => r.status)), new Set(['duplicate']));
  const supervisor = await staffApi(world.supervisor);
  const visits = () => supervisor.get(`/v1/visits?visitor_id=${member}&limit=1`);
  await eventually(visits, (page) => page.total >= 30, { what: '30 visits in the visit log' });
  assert.equal((await visits()).total, 30);
});
