'use strict';
/**
 * In-memory adapters for unit tests and for trying the SDK in a REPL. `memoryStorage` copies
 * values through JSON on the way in and out, as real storage does, so nothing shares objects
 * with the caller; `failNextSet()` makes the next write throw, to test crash behaviour.
 */

function memoryStorage(initial) {
  const data = initial || new Map();
  let failures = 0;
  return {
    data,
    writes: 0,
    failNextSet(count = 1) {
      failures += count;
    },
    async get(key) {
      return data.has(key) ? JSON.parse(data.get(key)) : undefined;
    },
    async set(key, value) {
      if (failures > 0) {
        failures -= 1;
        throw new Error(`storage full (simulated) writing ${key}`);
      }
      this.writes += 1;
      data.set(key, JSON.stringify(value));
    },
    async remove(key) {
      data.delete(key);
    },
  };
}

/** Files kept in memory: `put(path, bytes)` then the SDK reads them as it would a photo. */
function memoryFiles() {
  const files = new Map();
  return {
    files,
    put(path, bytes) {
      files.set(path, Uint8Array.from(bytes));
    },
    async read(path) {
      if (!files.has(path)) throw new Error(`no such file: ${path}`);
      return files.get(path);
    },
  };
}

module.exports = { memoryStorage, memoryFiles };
