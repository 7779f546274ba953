'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { fixture, phone, staffApi, pullUntil, eventually, households, visitPayload, manualClock } = require('../../test-support/live');

const DAY = 24 * 3600 * 1000;

test('a household moved to another grid leaves the old phone and appears on the new one', async () => {
  const world = fixture();
  const village = world.villages[2];
  const [from, to] = village.grids;
  const oldPhone = (await phone(from.members[0], { name: 'old-grid' })).client;
  const newPhone = (await phone(to.members[0], { name: 'new-grid' })).client;
  // given both phones in sync with their grids
  await oldPhone.pull();
  await newPhone.pull();
  const moved = households(oldPhone, from.id)[0];
  assert.ok(moved, 'the old grid has households');
  assert.equal(newPhone.store.get('household', moved.id), undefined);
  // when the village's grid head moves the household to the other grid
  const head = await staffApi(village.head);
  await head.post(`/v1/households/${moved.id}/move`, { grid_id: to.id });
  // then the old phone drops it and the new phone receives it
  await pullUntil(oldPhone, () => oldPhone.store.get('household', moved.id) === undefined, { what: 'removal on the old phone' });
  await pullUntil(newPhone, () => newPhone.store.get('household', moved.id) !== undefined, { what: 'arrival on the new phone' });
  assert.equal(newPhone.store.get('household', moved.id).grid_id, to.id);
});

test("a reassigned member's offline work goes to review, not to the floor", async () => {
  const world = fixture();
  const clock = manualClock(-DAY); // the phone works offline yesterday
  const { client, net } = await phone(world.reassigned_member, { name: 'reassigned', clock });
  await client.pull();
  const homes = households(client, world.reassigned_member_grid);
  assert.ok(homes.length > 0, 'the member has households before the reassignment');
  net.offline = true;
  // given five visits captured offline in the old grid
  const ids = [];
  for (let i = 0; i < 5; i += 1) ids.push((await client.recordVisit(visitPayload(homes[i].id, i))).event_id);
  // when the member is reassigned to another village meanwhile, and pushes today
  const target = world.villages[6].grids[0];
  const admin = await staffApi(world.admin);
  await admin.post(`/v1/staff/${world.reassigned_member}/reassign`, { role: 'grid_member', scope_unit_id: target.id });
  clock.offsetMs = 0;
  net.offline = false;
  const results = [];
  client.on('result', (r) => results.push(r));
  await client.push();
  // then nothing was rejected: each visit is held for a supervisor with 40361
  assert.deepEqual(results.map((r) => [r.status, r.errcode]), ids.map(() => ['review', 40361]));
  const supervisor = await staffApi(world.supervisor);
  const queue = await eventually(
    () => supervisor.get('/v1/sync/review?status=review&limit=200'),
    (page) => ids.every((id) => page.items.some((item) => item.event_id === id)),
    { what: 'the five visits in the review queue' },
  );
  assert.ok(queue.items.every((item) => item.status === 'review'));
  // and the phone's scope follows the reassignment
  await pullUntil(client, () => households(client, world.reassigned_member_grid).length === 0 && households(client, target.id).length > 0, {
    what: 'scope change on the phone',
  });
  // and a supervisor accepting one applies it as the member's visit
  await supervisor.post(`/v1/sync/review/${ids[0]}/accept`, {});
  await pullUntil(client, () => (client.eventStatus(ids[0]) || {}).status === 'accepted', { what: 'accepted status' });
});
