'use strict';
/**
 * Node adapters (Node 20+: global fetch, FormData, Blob). Used by the tests and benchmarks,
 * and usable by any Node tool that wants to sync like a phone.
 */

const crypto = require('node:crypto');
const fs = require('node:fs/promises');
const path = require('node:path');

async function parseBody(response) {
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch (error) {
    return { errmsg: text.slice(0, 200) };
  }
}

/** `request({method, url, headers, body, timeoutMs})` → `{status, data}`; throws on no answer. */
function nodeRequest({ fetchImpl = globalThis.fetch } = {}) {
  return async function request({ method, url, headers = {}, body, timeoutMs = 30000 }) {
    const response = await fetchImpl(url, {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    return { status: response.status, data: await parseBody(response) };
  };
}

/** `uploadFile({url, filePath, name, formData, headers})` as wx.uploadFile does it. */
function nodeUploadFile({ fetchImpl = globalThis.fetch, readFile = fs.readFile } = {}) {
  return async function uploadFile({ url, filePath, name, formData = {}, headers = {}, timeoutMs = 60000 }) {
    const form = new FormData();
    for (const [key, value] of Object.entries(formData)) form.append(key, String(value));
    const bytes = await readFile(filePath);
    form.append(name, new Blob([bytes]), path.basename(filePath));
    const response = await fetchImpl(url, {
      method: 'POST', headers, body: form, signal: AbortSignal.timeout(timeoutMs),
    });
    return { status: response.status, data: await parseBody(response) };
  };
}

/**
 * One JSON file per key under `dir`; a write goes to a temporary file that is renamed over
 * the old one, so a crash leaves the old value or the new one, never half of either.
 */
function nodeFileStorage(dir) {
  const fileOf = (key) => path.join(dir, `${encodeURIComponent(key)}.json`);
  let made = false;
  let tmpCounter = 0;
  return {
    async get(key) {
      try {
        return JSON.parse(await fs.readFile(fileOf(key), 'utf8'));
      } catch (error) {
        if (error.code === 'ENOENT') return undefined;
        throw error;
      }
    },
    async set(key, value) {
      if (!made) {
        await fs.mkdir(dir, { recursive: true });
        made = true;
      }
      tmpCounter += 1;
      const tmp = `${fileOf(key)}.${process.pid}.${tmpCounter}.tmp`;
      await fs.writeFile(tmp, JSON.stringify(value));
      await fs.rename(tmp, fileOf(key));
    },
    async remove(key) {
      await fs.rm(fileOf(key), { force: true });
    },
  };
}

const nodeFiles = () => ({ read: (filePath) => fs.readFile(filePath) });

async function nodeSha256(bytes) {
  return crypto.createHash('sha256').update(bytes).digest('hex');
}

/** Everything the client needs under Node, with a storage directory. */
function nodeAdapters({ dir, fetchImpl } = {}) {
  return {
    request: nodeRequest({ fetchImpl }),
    uploadFile: nodeUploadFile({ fetchImpl }),
    storage: nodeFileStorage(dir),
    files: nodeFiles(),
    sha256: nodeSha256,
    randomBytes: (n) => new Uint8Array(crypto.randomBytes(n)),
  };
}

module.exports = { nodeAdapters, nodeRequest, nodeUploadFile, nodeFileStorage, nodeFiles, nodeSha256 };
