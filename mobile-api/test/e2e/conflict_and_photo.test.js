'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { fixture, phone, staffApi, pullUntil, eventually, households, visitPayload } = require('../../test-support/live');

test('two phones edit the same household: the conflict surfaces and nothing is lost', async () => {
  const world = fixture();
  const grid = world.villages.flatMap((v) => v.grids).find((g) => g.members.length >= 2);
  assert.ok(grid, 'the demo has a grid with two members');
  const first = (await phone(grid.members[0], { name: 'editor-1' })).client;
  const second = (await phone(grid.members[1], { name: 'editor-2' })).client;
  await first.pull();
  await second.pull();
  const home = households(first, grid.id)[0];
  // given both phones edit the same field of the same version, offline
  await first.editHousehold(home.id, [{ path: 'notes', value: '独居老人，需每周探访' }], home.version, {
    optimistic: [{ kind: 'household', id: home.id, data: { ...home, notes: '独居老人，需每周探访' } }],
  });
  await second.editHousehold(home.id, [{ path: 'notes', value: '已搬去儿子家居住' }], home.version);
  assert.equal(first.get('household', home.id).notes, '独居老人，需每周探访', 'optimistic view');
  // when both push, one after the other
  const firstResults = [];
  const conflicts = [];
  first.on('result', (r) => firstResults.push(r));
  second.on('conflict', (r) => conflicts.push(r));
  await first.push();
  await second.push();
  // then the first edit is accepted and the second surfaces as a recorded collision
  assert.deepEqual(firstResults.map((r) => r.status), ['accepted']);
  assert.deepEqual(conflicts.map((c) => c.errcode), [40961]);
  // and both values are kept on the household file for a supervisor to resolve
  const supervisor = await staffApi(world.supervisor);
  const openConflicts = (file) => file.conflicts.filter((c) => !c.resolved && c.path === 'notes');
  const file = await eventually(() => supervisor.get(`/v1/households/${home.id}`), (f) => openConflicts(f).length > 0, {
    what: 'the collision on the household file',
  });
  assert.equal(file.notes, '独居老人，需每周探访');
  assert.ok(openConflicts(file).some((c) => c.proposed_value === '已搬去儿子家居住'), JSON.stringify(file.conflicts));
  // and the first phone's optimistic view gives way once a pull reflects its edit
  await pullUntil(first, () => first.outbox.awaiting.length === 0, { what: 'the edit reflected on the first phone' });
  assert.equal(first.store.get('household', home.id).notes, '独居老人，需每周探访');
  // and the phones see the recorded conflict once pulled
  await pullUntil(second, () => (second.store.get('household', home.id).conflicts || []).length > 0, { what: 'conflict on the phone' });
});

function fakeJpeg() {
  const body = crypto.randomBytes(4096);
  return Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10]), Buffer.from('JFIF\0'), body, Buffer.from([0xff, 0xd9])]);
}

test('a photo is hashed on the phone and uploaded after its event', async () => {
  const world = fixture();
  const grid = world.villages[3].grids[0];
  const { client, dir } = await phone(grid.members[0], { name: 'photo' });
  await client.pull();
  const home = households(client, grid.id)[0];
  const file = path.join(dir, 'visit.jpg');
  fs.writeFileSync(file, fakeJpeg());
  // given a visit captured with a photo
  const ref = await client.preparePhoto(file, 'image/jpeg');
  assert.equal(ref.sha256, crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex'));
  const entry = await client.recordVisit({ ...visitPayload(home.id), photos: [ref.sha256] }, { photos: [ref] });
  // when nothing is pushed yet, the photo waits for its event
  assert.deepEqual(await client.uploadPhotos(), { uploaded: 0, failed: 0, retry: 0 });
  const supervisor = await staffApi(world.supervisor);
  // when the event is pushed, then the visit shows the photo as pending
  await client.push();
  const before = await eventually(() => supervisor.get(`/v1/visits/${entry.event_id}`), () => true, { what: 'the visit' });
  assert.deepEqual(before.photos, [{ sha256: ref.sha256, pending: true }]);
  // when the photo queue runs, the photo is uploaded and the visit shows it
  const photos = [];
  client.on('photo', (p) => photos.push(p));
  assert.deepEqual(await client.uploadPhotos(), { uploaded: 1, failed: 0, retry: 0 });
  assert.equal(photos[0].created, true);
  const link = await supervisor.get(`/v1/media/${ref.sha256}`);
  assert.ok(link.url, JSON.stringify(link));
  await eventually(() => supervisor.get(`/v1/visits/${entry.event_id}`), (visit) => !visit.photos[0].pending, {
    what: 'the photo to land on the visit',
  });
});
