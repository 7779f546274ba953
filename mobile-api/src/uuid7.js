'use strict';
/**
 * UUIDv7 (RFC 9562 §5.7) made on the phone: 48-bit Unix milliseconds, then a 12-bit counter
 * seeded randomly each millisecond (so ids made in the same millisecond still sort in order),
 * then 62 random bits. The server never trusts the time in it for ordering; the id only has
 * to be unique and stable across retries.
 */

function defaultRandomBytes(n) {
  const bytes = new Uint8Array(n);
  const c = typeof globalThis !== 'undefined' ? globalThis.crypto : undefined;
  if (c && typeof c.getRandomValues === 'function') return c.getRandomValues(bytes);
  // Mini-program base libraries before 2.x have no crypto; Math.random is the fallback there.
  for (let i = 0; i < n; i += 1) bytes[i] = Math.floor(Math.random() * 256);
  return bytes;
}

function hex(bytes) {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

/** Returns a generator `() => string` bound to a clock and a random source. */
function uuid7Factory({ now = Date.now, randomBytes = defaultRandomBytes } = {}) {
  let lastMs = -1;
  let counter = 0;
  return function uuid7() {
    let ms = Math.max(Math.floor(now()), 0);
    if (ms <= lastMs) {
      // Same millisecond, or a clock that stepped back: keep ids strictly increasing.
      ms = lastMs;
      counter += 1;
      if (counter > 0xfff) {
        ms += 1;
        counter = randomBytes(2)[0] & 0x7f;
      }
    } else {
      counter = randomBytes(2)[0] & 0x7f; // leave headroom for increments
    }
    lastMs = ms;
    const bytes = new Uint8Array(16);
    let t = ms;
    for (let i = 5; i >= 0; i -= 1) {
      bytes[i] = t % 256;
      t = Math.floor(t / 256);
    }
    bytes[6] = 0x70 | ((counter >> 8) & 0x0f);
    bytes[7] = counter & 0xff;
    bytes.set(randomBytes(8), 8);
    bytes[8] = 0x80 | (bytes[8] & 0x3f);
    const h = hex(bytes);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  };
}

module.exports = { uuid7Factory, defaultRandomBytes };
