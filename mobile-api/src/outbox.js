'use strict';
/**
 * The persisted outbox: events captured on the phone, in capture order, until the server has
 * answered for them. One storage key holds the whole outbox with its `device_seq` counter, so
 * capturing an event is one atomic write and a crash never hands out a sequence number twice.
 *
 * After the server's answer an event leaves `pending`. If it carried an optimistic row (what
 * the app shows before the server's copy arrives), it waits in `awaiting` until pulled data
 * reflects it: `projected_through >= write_checkpoint` for applied events, or its own
 * `event_status` row turning final for held ones (deferred / review).
 */

const OUTBOX_KEY = 'gl.outbox';
const MAX_BATCH = 200;
// The server's JSON body limit is 1 MiB; leave room for the envelope and multi-byte text
// (JSON.stringify counts UTF-16 units; CJK takes 3 bytes in UTF-8, hence the third).
const MAX_BATCH_BYTES = 300 * 1024;
const APPLIED = new Set(['accepted', 'duplicate', 'conflict']);
const HELD = new Set(['deferred', 'review']);
const REFUSED = (result) =>
  result.status === 'rejected' || (result.status === 'conflict' && result.errcode === 40960);

class Outbox {
  constructor({ storage, newId, now, key = OUTBOX_KEY }) {
    this._storage = storage;
    this._newId = newId;
    this._now = now;
    this._key = key;
    this.state = { next_seq: 1, pending: [], awaiting: [], photos: [], photos_failed: [] };
    this._queue = Promise.resolve();
  }

  async open() {
    const saved = await this._storage.get(this._key);
    if (saved) this.state = saved;
    return this;
  }

  /**
   * Change the record: `change(state)` returns the next state (and may set `result`). Changes
   * run one at a time, each on the state the previous one left, so a capture made while a push
   * is settling is never overwritten. Write first, adopt after: a failed write leaves memory
   * as it is on storage.
   */
  update(change) {
    const run = this._queue.then(async () => {
      const { state, result } = change(this.state);
      await this._storage.set(this._key, state);
      this.state = state;
      return result;
    });
    this._queue = run.catch(() => undefined);
    return run;
  }

  /** Capture one event; resolves to the stored entry once it is safely on storage. */
  add({ type, payload, baseVersion, staffId, media = [], photos = [], optimistic = [] }) {
    return this.update((state) => this._added(state, { type, payload, baseVersion, staffId, media, photos, optimistic }));
  }

  _added(state, { type, payload, baseVersion, staffId, media, photos, optimistic }) {
    const entry = {
      event_id: this._newId(),
      device_seq: state.next_seq,
      type,
      captured_at: new Date(this._now()).toISOString(),
      payload,
      media: [...media, ...photos.map(({ sha256, size, mime }) => ({ sha256, size, mime }))],
    };
    if (baseVersion !== undefined && baseVersion !== null) entry.base_version = baseVersion;
    // staff_id and optimistic stay on the phone: the server takes the author from the token.
    const stored = { ...entry, staff_id: staffId, ...(optimistic.length ? { optimistic } : {}) };
    const next = {
      ...state,
      next_seq: state.next_seq + 1,
      pending: [...state.pending, stored],
      photos: [...(state.photos || []), ...newJobs(state, photos, entry.event_id)],
    };
    return { state: next, result: stored };
  }


  /** Pending events captured by `staffId` (all when omitted), oldest first. */
  pendingOf(staffId) {
    return this.state.pending.filter((e) => staffId === undefined || e.staff_id === staffId);
  }

  /**
   * The next batch to push, oldest first, as the wire wants it, under the body limit. Only
   * the logged-in staff member's events: another person's work waits for their own login.
   */
  batch(max = MAX_BATCH, maxBytes = MAX_BATCH_BYTES, staffId = undefined) {
    const events = [];
    let bytes = 0;
    // eslint-disable-next-line camelcase, no-unused-vars
    for (const { optimistic, staff_id, ...wire } of this.pendingOf(staffId).slice(0, max)) {
      bytes += JSON.stringify(wire).length + 1;
      if (events.length && bytes > maxBytes) break;
      events.push(wire);
    }
    return events;
  }

  get pending() {
    return this.state.pending;
  }

  get awaiting() {
    return this.state.awaiting;
  }

  /** Apply the server's per-item answers; every status is final for the outbox. */
  settle(results, writeCheckpoint) {
    return this.update((state) => settled(state, results, writeCheckpoint));
  }

  /**
   * Drop optimistic rows the pulled data now reflects. `statusOf(eventId)` gives the
   * `event_status` row pulled for it, if any. Resolves to the released entries.
   */
  release(projectedThrough, statusOf) {
    return this.update((state) => {
      const keep = [];
      const released = [];
      for (const item of state.awaiting) {
        const status = statusOf(item.event_id);
        const finalNow = status && !HELD.has(status.status);
        const reflected = APPLIED.has(item.status) && projectedThrough >= item.checkpoint;
        (reflected || finalNow ? released : keep).push(item);
      }
      return { state: released.length ? { ...state, awaiting: keep } : state, result: released };
    });
  }

  /** Optimistic rows by "kind\0id", later captures over earlier ones. */
  overlays() {
    const rows = new Map();
    for (const item of [...this.state.awaiting, ...this.state.pending]) {
      for (const row of item.optimistic || []) rows.set(`${row.kind}\u0000${row.id}`, row);
    }
    return rows;
  }
}

/** Upload jobs for photos not queued already (the same bytes are uploaded once). */
function newJobs(state, photos, eventId) {
  const queued = new Set((state.photos || []).map((job) => job.sha256));
  const jobs = [];
  for (const { sha256, size, mime, path } of photos) {
    if (!queued.has(sha256)) jobs.push({ sha256, size, mime, path, event_id: eventId, attempts: 0 });
    queued.add(sha256);
  }
  return jobs;
}

/** The outbox after the server's answers: answered events leave `pending`. */
function settled(state, results, writeCheckpoint) {
  const byId = new Map(results.map((r) => [r.event_id, r]));
  const pending = [];
  const awaiting = [...state.awaiting];
  const answered = [];
  for (const entry of state.pending) {
    const result = byId.get(entry.event_id);
    if (!result) {
      pending.push(entry); // not in this batch, or captured while it was in flight
      continue;
    }
    answered.push({ entry, result });
    const keepsView = !REFUSED(result) && (APPLIED.has(result.status) || HELD.has(result.status));
    if (entry.optimistic && keepsView) {
      const { event_id: eventId, optimistic } = entry;
      awaiting.push({ event_id: eventId, status: result.status, checkpoint: writeCheckpoint, optimistic });
    }
  }
  // A refused event's photos have nothing to attach to: do not upload them.
  const refused = new Set(answered.filter(({ result }) => REFUSED(result)).map(({ entry }) => entry.event_id));
  const photos = (state.photos || []).filter((job) => !refused.has(job.event_id));
  return { state: { ...state, pending, awaiting, photos }, result: answered };
}

module.exports = { Outbox, OUTBOX_KEY, MAX_BATCH };
