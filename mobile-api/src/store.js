'use strict';
/**
 * The phone's copy of what the server sent: rows keyed by (kind, id), each held by a set of
 * buckets. A row leaves only when no bucket holds it any more.
 *
 * Persistence is a log of page records plus an occasional snapshot, through a key-value
 * storage adapter. Each pulled page is ONE `storage.set` of a record holding the page's ops
 * together with its cursor, so a crash leaves either the whole page with its cursor or
 * neither (the page is then simply pulled again). Loading replays the snapshot and then the
 * records that follow it; `compact()` folds the records into a new snapshot.
 * The outbox lives under other keys: nothing here ever touches it.
 */

const rowKey = (kind, id) => `${kind}\u0000${id}`;

class LocalStore {
  /**
   * @param {{storage: object, prefix?: string, compactAfter?: number}} options
   *   compactAfter: fold into a snapshot once this many page records are waiting.
   */
  constructor({ storage, prefix = 'gl.store', compactAfter = 64 }) {
    this._storage = storage;
    this._prefix = prefix;
    this._compactAfter = compactAfter;
    this._clear();
  }

  _clear() {
    this.rows = new Map();
    this.buckets = new Map();
    this.cursor = null;
    this.projectedThrough = 0;
    this._snapshotSeq = 0;
    this._seq = 0;
  }

  _pageKey(seq) {
    return `${this._prefix}.page.${seq}`;
  }

  /** Load the snapshot and replay the page records after it. */
  async open() {
    this._clear();
    const snapshot = await this._storage.get(`${this._prefix}.snapshot`);
    if (snapshot) this._restore(snapshot);
    for (;;) {
      const record = await this._storage.get(this._pageKey(this._seq + 1));
      if (!record) break;
      this._apply(record);
    }
    return this;
  }

  _restore(snapshot) {
    this._seq = this._snapshotSeq = snapshot.seq;
    this.cursor = snapshot.cursor;
    this.projectedThrough = snapshot.projected_through;
    for (const [kind, id, data, buckets] of snapshot.rows) {
      for (const bucket of buckets) this._hold(bucket, kind, id, data);
    }
  }

  /**
   * Apply one pulled page with its cursor; resolves once it is persisted. The returned
   * summary lists what changed so the app can refresh its views.
   */
  async applyPage(page) {
    const record = {
      seq: this._seq + 1,
      cursor: page.cursor,
      projected_through: page.projected_through,
      reset: page.reset || [],
      removed: (page.scope_changes && page.scope_changes.removed) || [],
      ops: page.ops || [],
    };
    await this._storage.set(this._pageKey(record.seq), record);
    const summary = this._apply(record);
    if (this._seq - this._snapshotSeq >= this._compactAfter) await this.compact();
    return summary;
  }

  /** Resets and removed buckets first (they describe the state before the ops), then ops. */
  _apply(record) {
    const summary = { put: 0, removed: [], dropped: 0 };
    for (const bucket of [...record.reset, ...record.removed]) {
      summary.dropped += this._dropBucket(bucket, summary.removed);
    }
    for (const op of record.ops) {
      if (op.op === 'put') {
        this._hold(op.bucket, op.kind, op.id, op.data);
        summary.put += 1;
      } else if (op.op === 'remove' && this._release(op.bucket, op.kind, op.id)) {
        summary.removed.push({ kind: op.kind, id: op.id });
      }
    }
    this._seq = record.seq;
    this.cursor = record.cursor;
    this.projectedThrough = Math.max(this.projectedThrough, record.projected_through || 0);
    return summary;
  }

  _hold(bucket, kind, id, data) {
    const key = rowKey(kind, id);
    let row = this.rows.get(key);
    if (!row) {
      row = { kind, id, data, buckets: new Set() };
      this.rows.set(key, row);
    } else {
      row.data = data;
    }
    row.buckets.add(bucket);
    let keys = this.buckets.get(bucket);
    if (!keys) this.buckets.set(bucket, (keys = new Set()));
    keys.add(key);
  }

  /** Drop the bucket's hold on a row; true when that was the last hold and the row left. */
  _release(bucket, kind, id) {
    const key = rowKey(kind, id);
    const row = this.rows.get(key);
    const keys = this.buckets.get(bucket);
    if (keys) keys.delete(key);
    if (!row || !row.buckets.delete(bucket) || row.buckets.size > 0) return false;
    this.rows.delete(key);
    return true;
  }

  _dropBucket(bucket, removedOut) {
    const keys = this.buckets.get(bucket);
    if (!keys) return 0;
    let dropped = 0;
    for (const key of [...keys]) {
      const row = this.rows.get(key);
      if (row && this._release(bucket, row.kind, row.id)) {
        removedOut.push({ kind: row.kind, id: row.id });
        dropped += 1;
      }
    }
    this.buckets.delete(bucket);
    return dropped;
  }

  /** Fold everything into one snapshot write, then delete the page records it covers. */
  async compact() {
    const rows = [];
    for (const row of this.rows.values()) rows.push([row.kind, row.id, row.data, [...row.buckets]]);
    const from = this._snapshotSeq + 1;
    const snapshot = {
      seq: this._seq,
      cursor: this.cursor,
      projected_through: this.projectedThrough,
      rows,
    };
    await this._storage.set(`${this._prefix}.snapshot`, snapshot);
    this._snapshotSeq = this._seq;
    for (let seq = from; seq <= snapshot.seq; seq += 1) await this._storage.remove(this._pageKey(seq));
  }

  /** Forget everything (e.g. another staff member logs in on this phone). Not the outbox. */
  async wipe() {
    await this._storage.set(`${this._prefix}.snapshot`, {
      seq: this._seq, cursor: null, projected_through: 0, rows: [],
    });
    const from = this._snapshotSeq + 1;
    const upto = this._seq;
    for (let seq = from; seq <= upto; seq += 1) await this._storage.remove(this._pageKey(seq));
    const keep = this._seq;
    this._clear();
    this._seq = this._snapshotSeq = keep;
  }

  get(kind, id) {
    const row = this.rows.get(rowKey(kind, id));
    return row ? row.data : undefined;
  }

  /** Rows of a kind (optionally only those a bucket holds), as `{kind, id, data, buckets}`. */
  list(kind, { bucket } = {}) {
    const out = [];
    const keys = bucket ? this.buckets.get(bucket) || new Set() : this.rows.keys();
    for (const key of keys) {
      const row = this.rows.get(key);
      if (row && (!kind || row.kind === kind)) {
        out.push({ kind: row.kind, id: row.id, data: row.data, buckets: [...row.buckets] });
      }
    }
    return out;
  }

  bucketNames() {
    return [...this.buckets.keys()].filter((b) => this.buckets.get(b).size > 0);
  }

  get size() {
    return this.rows.size;
  }
}

module.exports = { LocalStore };
