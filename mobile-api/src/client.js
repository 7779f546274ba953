'use strict';
/**
 * The SDK's entry point: `createClient({baseUrl, adapters})` wires the outbox, the local store,
 * the photo queue and the HTTP layer together. See README.md for the API reference.
 */

const { Api, ApiError } = require('./api');
const { DEFAULT_BACKOFF, defaultSleep } = require('./backoff');
const { Emitter } = require('./emitter');
const { Outbox, MAX_BATCH } = require('./outbox');
const { preparePhoto, readyJobs, afterUpload, uploadJob } = require('./photos');
const { LocalStore } = require('./store');
const { uuid7Factory, defaultRandomBytes } = require('./uuid7');
const { validateCapture, CaptureError } = require('./validate');

const PROTOCOL = 1;
const DEVICE_KEY = 'gl.device';
const CURSOR_INVALID = 40063;

class SyncClient extends Emitter {
  constructor({ baseUrl, adapters, deviceId, pageLimit = 500, backoff = {}, storePrefix = 'gl.store' }) {
    super();
    if (!baseUrl) throw new TypeError('baseUrl is required');
    if (!adapters || !adapters.request || !adapters.storage) {
      throw new TypeError('adapters.request and adapters.storage are required');
    }
    this.adapters = adapters;
    this._now = adapters.now || Date.now;
    this._sleep = adapters.sleep || defaultSleep;
    this._backoff = { ...DEFAULT_BACKOFF, random: adapters.random || Math.random, ...backoff };
    this._deviceId = deviceId || null;
    this._pageLimit = pageLimit;
    this._newId = uuid7Factory({ now: this._now, randomBytes: adapters.randomBytes || defaultRandomBytes });
    this.api = new Api({
      baseUrl, request: adapters.request, storage: adapters.storage, now: this._now,
      emitter: this, backoff: this._backoff, sleep: this._sleep,
    });
    this.outbox = new Outbox({ storage: adapters.storage, newId: this._newId, now: this._now });
    this.store = new LocalStore({ storage: adapters.storage, prefix: storePrefix });
    this._running = new Map();
  }

  /** Load device id, session, outbox and local store from storage. */
  async open() {
    if (!this._deviceId) this._deviceId = await this.adapters.storage.get(DEVICE_KEY);
    if (!this._deviceId) this._deviceId = `phone-${this._newId()}`;
    await this.adapters.storage.set(DEVICE_KEY, this._deviceId);
    await Promise.all([this.api.open(), this.outbox.open(), this.store.open()]);
    return this;
  }

  get deviceId() {
    return this._deviceId;
  }

  get session() {
    return this.api.session;
  }

  // -- login ------------------------------------------------------------------------------

  /** WeChat login: `adapters.login()` yields a wx.login code; first time with a binding code. */
  async wxLogin({ bindingCode } = {}) {
    if (!this.adapters.login) throw new TypeError('adapters.login (wx.login) is required');
    const code = await this.adapters.login();
    const body = { code, device_id: this._deviceId };
    if (bindingCode) body.binding_code = bindingCode;
    return this._adopt(await this.api.raw('POST', '/v1/auth/wx-login', { body }));
  }

  /** Development login (embedded servers only): log in as a staff id without WeChat. */
  async devLogin(staffId) {
    const body = { staff_id: staffId, device_id: this._deviceId };
    return this._adopt(await this.api.raw('POST', '/v1/auth/dev-login', { body }));
  }

  async _adopt(pair) {
    const previous = this.api.session && this.api.session.staff_id;
    const session = await this.api.adoptTokens(pair, this._deviceId);
    // Another person on this phone must not see the last one's rows (their outbox stays).
    if (previous && previous !== pair.staff_id) {
      await (this._running.get('pull') || Promise.resolve()).catch(() => undefined);
      await this.store.wipe();
    }
    return session;
  }

  async logout() {
    try {
      await this.api.call('POST', '/v1/auth/logout');
    } finally {
      await this.api.forget();
    }
  }

  // -- capture ----------------------------------------------------------------------------

  /** Hash a photo on the phone; pass the result in `capture(..., {photos: [ref]})`. */
  preparePhoto(path, mime = 'image/jpeg') {
    if (!this.adapters.files) throw new TypeError('adapters.files is required for photos');
    return preparePhoto(this.adapters, path, mime);
  }

  /**
   * Put an event in the outbox (works offline). Resolves to the outbox entry once it is
   * on storage; `entry.event_id` is the id of the thing created (visit, case).
   */
  async capture(type, payload, { baseVersion, media = [], photos = [], optimistic = [] } = {}) {
    validateCapture(type, payload, { baseVersion, media, photos, optimistic });
    if (!this.api.session) throw new CaptureError('log in before capturing (the event needs its author)');
    const staffId = this.api.session.staff_id;
    const entry = await this.outbox.add({ type, payload, baseVersion, staffId, media, photos, optimistic });
    this.emit('captured', { eventId: entry.event_id, type, deviceSeq: entry.device_seq });
    return entry;
  }

  recordVisit(payload, options) {
    return this.capture('visit.recorded', payload, options);
  }

  reportCase(payload, options) {
    return this.capture('case.reported', payload, options);
  }

  registerHousehold(payload, options) {
    return this.capture('household.registered', payload, options);
  }

  /** Edit a household as of `baseVersion` (the `version` of the copy the user edited). */
  editHousehold(householdId, changes, baseVersion, options = {}) {
    return this.capture('household.edited', { household_id: householdId, changes }, {
      ...options, baseVersion,
    });
  }

  // -- push / pull / photos ---------------------------------------------------------------

  /** Run `task` unless the same job is running; then share its promise. */
  _single(name, task) {
    if (!this._running.has(name)) {
      this._running.set(name, task().finally(() => this._running.delete(name)));
    }
    return this._running.get(name);
  }

  /** Push the whole outbox in batches of ≤ 200; retries with backoff while offline. */
  push() {
    return this._single('push', async () => {
      const summary = { sent: 0, results: [], writeCheckpoint: null };
      const staffId = this.api.session ? this.api.session.staff_id : undefined;
      while (this.outbox.pendingOf(staffId).length) {
        const events = this.outbox.batch(MAX_BATCH, undefined, staffId);
        const reply = await this.api.callWithRetry('POST', '/v1/sync/push', {
          body: {
            protocol: PROTOCOL,
            device_id: this._deviceId,
            device_clock: new Date(this._now()).toISOString(),
            events,
          },
        });
        const settled = await this.outbox.settle(reply.results, reply.write_checkpoint);
        this._report(settled, reply);
        summary.sent += events.length;
        summary.results.push(...reply.results);
        summary.writeCheckpoint = reply.write_checkpoint;
        if (!settled.length) break; // the server answered for none: do not spin
      }
      return summary;
    });
  }

  _report(settled, reply) {
    for (const { entry, result } of settled) {
      this.emit('result', { ...result, type: entry.type, deviceSeq: entry.device_seq });
      if (result.status === 'conflict') this.emit('conflict', { ...result, type: entry.type });
      if (result.status === 'rejected') this.emit('rejected', { ...result, type: entry.type });
    }
    this.emit('pushed', {
      count: settled.length, writeCheckpoint: reply.write_checkpoint, clockOffsetMs: reply.clock_offset_ms,
    });
  }

  /**
   * Pull until `has_more` is false; each page is applied with its cursor in one write. The
   * next page is requested while the current one is being written (its cursor is already
   * known), so storage time hides behind the network; pages are still applied in order, and
   * a page whose write fails is pulled again next time.
   */
  pull() {
    return this._single('pull', async () => {
      const totals = { pages: 0, put: 0, removed: 0 };
      let request = this._pullPage(this.store.cursor);
      let restarted = false;
      for (;;) {
        let page;
        try {
          page = await request;
        } catch (error) {
          if (restarted || !(error instanceof ApiError) || error.errcode !== CURSOR_INVALID) throw error;
          restarted = true; // a cursor the server no longer accepts: start afresh, keep the outbox
          await this.store.wipe();
          this.emit('reset', { buckets: 'all', errcode: error.errcode });
          request = this._pullPage(null);
          continue;
        }
        request = page.has_more ? this._pullPage(page.cursor) : null;
        const summary = await this._applyOrAbandon(page, request);
        totals.pages += 1;
        totals.put += summary.put;
        totals.removed += summary.removed.length;
        this._announcePage(page, summary);
        if (!request) break;
      }
      await this._releaseOptimistic();
      this.emit('pulled', { ...totals, projectedThrough: this.store.projectedThrough });
      return { ...totals, projectedThrough: this.store.projectedThrough };
    });
  }

  async _applyOrAbandon(page, inFlight) {
    try {
      return await this.store.applyPage(page);
    } catch (error) {
      if (inFlight) inFlight.catch(() => undefined); // its answer is of no use now
      throw error;
    }
  }

  _pullPage(cursor) {
    const body = { protocol: PROTOCOL, device_id: this._deviceId, limit: this._pageLimit };
    if (cursor) body.cursor = cursor;
    return this.api.callWithRetry('POST', '/v1/sync/pull', { body });
  }

  _announcePage(page, summary) {
    if (page.reset && page.reset.length) this.emit('reset', { buckets: page.reset });
    if (page.scope_changes) this.emit('scope', page.scope_changes);
    this.emit('page', { ops: page.ops.length, removed: summary.removed, projectedThrough: page.projected_through });
    for (const op of page.ops) {
      if (op.kind === 'event_status' && op.op === 'put') this.emit('status', op.data);
    }
  }

  async _releaseOptimistic() {
    const released = await this.outbox.release(this.store.projectedThrough, (id) => this.store.get('event_status', id));
    for (const item of released) this.emit('reflected', { eventId: item.event_id, status: item.status });
  }

  /** Upload photos whose events the server has answered for; resolves to a count summary. */
  uploadPhotos() {
    return this._single('photos', async () => {
      const done = { uploaded: 0, failed: 0, retry: 0 };
      for (const job of readyJobs(this.outbox.state, this._now())) {
        const outcome = await uploadJob(job, { api: this.api, uploadFile: this.adapters.uploadFile, now: this._now });
        done[outcome.kind === 'failed' ? 'failed' : outcome.kind === 'retry' ? 'retry' : 'uploaded'] += 1;
        const options = { now: this._now(), backoff: this._backoff };
        await this.outbox.update((state) => ({ state: afterUpload(state, job.sha256, outcome, options) }));
        this.emit('photo', { sha256: job.sha256, eventId: job.event_id, ...outcome });
        if (outcome.kind === 'retry') break; // probably offline: try the rest next time
      }
      return done;
    });
  }

  /** Push, then pull (so the pull can already reflect the push), then upload photos. */
  async sync() {
    const pushed = await this.push();
    const pulled = await this.pull();
    const photos = await this.uploadPhotos();
    return { pushed, pulled, photos };
  }

  // -- the local view ---------------------------------------------------------------------

  /** A row as the app should show it: your own unreflected change first, then the server's. */
  get(kind, id) {
    const overlay = this.outbox.overlays().get(`${kind}\u0000${id}`);
    if (overlay) return overlay.deleted ? undefined : overlay.data;
    return this.store.get(kind, id);
  }

  /** Rows of a kind with your own unreflected changes laid over them. */
  list(kind, { bucket } = {}) {
    const rows = new Map(this.store.list(kind, { bucket }).map((r) => [r.id, r.data]));
    for (const row of this.outbox.overlays().values()) {
      if (row.kind !== kind) continue;
      if (row.deleted) rows.delete(row.id);
      else if (!bucket || rows.has(row.id) || row.bucket === bucket) rows.set(row.id, row.data);
    }
    return [...rows.entries()].map(([id, data]) => ({ id, data }));
  }

  /** Statuses of your own pushed events the server has sent (`event_status` rows). */
  eventStatus(eventId) {
    return this.store.get('event_status', eventId);
  }
}

function createClient(options) {
  return new SyncClient(options);
}

module.exports = { SyncClient, createClient, PROTOCOL };
