'use strict';
/**
 * Exponential backoff with "full jitter": the n-th wait is uniform in [0, min(cap, base·2ⁿ)].
 * Jitter keeps a village's phones from retrying in lockstep when the signal comes back.
 */

const DEFAULT_BACKOFF = Object.freeze({ baseMs: 500, capMs: 60000, attempts: 6 });

function backoffDelay(attempt, { baseMs = 500, capMs = 60000, random = Math.random } = {}) {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt));
  return Math.floor(random() * ceiling);
}

const defaultSleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Run `task(attempt)` until it resolves, or until `isRetryable(error)` says no, or attempts run
 * out; the last error is rethrown. `onRetry({attempt, delayMs, error})` sees every wait.
 */
async function retry(task, options = {}) {
  const {
    attempts = DEFAULT_BACKOFF.attempts,
    isRetryable = () => true,
    sleep = defaultSleep,
    onRetry = () => {},
  } = options;
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await task(attempt);
    } catch (error) {
      if (attempt + 1 >= attempts || !isRetryable(error)) throw error;
      const delayMs = backoffDelay(attempt, options);
      onRetry({ attempt, delayMs, error });
      await sleep(delayMs);
    }
  }
}

module.exports = { DEFAULT_BACKOFF, backoffDelay, retry, defaultSleep };
