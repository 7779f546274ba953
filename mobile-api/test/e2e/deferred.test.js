'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { fixture, phone, pullUntil, visitPayload } = require('../../test-support/live');

/** The server's household id for a number: uuid5(namespace, "household:" + number). */
function householdIdFor(householdNo) {
  const namespace = Buffer.from('0c9a7e514f3b5d2a9e8c7b6a5d4c3b2a', 'hex');
  const hash = crypto.createHash('sha1').update(namespace).update(`household:${householdNo}`).digest();
  hash[6] = (hash[6] & 0x0f) | 0x50;
  hash[8] = (hash[8] & 0x3f) | 0x80;
  const h = hash.subarray(0, 16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

test('a visit to a household registered on another phone waits, then lands when it arrives', async () => {
  const world = fixture();
  const grid = world.villages.flatMap((v) => v.grids).filter((g) => g.members.length >= 2)[1];
  assert.ok(grid, 'the demo has a second grid with two members');
  const registrar = (await phone(grid.members[0], { name: 'registrar' })).client;
  const visitor = (await phone(grid.members[1], { name: 'visitor' })).client;
  // given one phone registered a household offline and the other visited it, also offline
  const householdNo = `E2E-${crypto.randomBytes(4).toString('hex')}`;
  const householdId = householdIdFor(householdNo);
  await registrar.registerHousehold({
    household_no: householdNo, grid_id: grid.id, address: '新村 3 号', persons: [{ name: '王五', gender: 'male', relation: '户主' }],
  });
  const visit = await visitor.recordVisit(visitPayload(householdId), {
    optimistic: [{ kind: 'visit', id: 'pending-visit', data: { household_id: householdId } }],
  });
  // when the visitor's phone gets signal first
  const first = await visitor.push();
  // then its visit is held, waiting for the household, and still shown on the phone
  assert.deepEqual(first.results.map((r) => [r.status, r.waiting_for]), [['deferred', [{ kind: 'household', id: householdId }]]]);
  assert.equal(visitor.list('visit').length, 1);
  // when the registering phone pushes the household
  const second = await registrar.push();
  assert.deepEqual(second.results.map((r) => r.status), ['accepted']);
  // then the held visit is applied, and the visitor's phone learns it from its event status
  await pullUntil(visitor, () => (visitor.eventStatus(visit.event_id) || {}).status === 'accepted', {
    what: 'the held visit to be applied', timeoutMs: 75000, // the server retries held events every 30 s
  });
  assert.equal(visitor.list('visit').length, 0, 'the optimistic row gave way');
  await pullUntil(visitor, () => visitor.store.get('household', householdId) !== undefined, { what: 'the new household on the visitor phone' });
});
