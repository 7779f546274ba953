'use strict';
/**
 * WeChat mini-program adapters. Pass the global `wx`:
 *
 *   const { wxAdapters } = require('gridledger-mobile-api/adapters/wx');
 *   const client = createClient({ baseUrl, adapters: wxAdapters(wx) });
 *
 * `storage` defaults to wx.setStorage (10 MB per mini-program, 1 MB per key); pass
 * `{ storage: 'files' }` to keep data as files under wx.env.USER_DATA_PATH instead (for
 * town-level scopes that do not fit the 10 MB).
 */

function call(api, options) {
  return new Promise((resolve, reject) => {
    api({ ...options, success: resolve, fail: (err) => reject(new Error(err && err.errMsg ? err.errMsg : 'wx call failed')) });
  });
}

function parseMaybeJson(data) {
  if (typeof data !== 'string') return data;
  try {
    return data ? JSON.parse(data) : null;
  } catch (error) {
    return { errmsg: data.slice(0, 200) };
  }
}

function wxRequest(wx) {
  return async ({ method, url, headers = {}, body, timeoutMs = 30000 }) => {
    const res = await call(wx.request, {
      url, method, data: body, timeout: timeoutMs, dataType: 'json',
      header: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    });
    return { status: res.statusCode, data: parseMaybeJson(res.data) };
  };
}

function wxUploadFile(wx) {
  return async ({ url, filePath, name, formData, headers, timeoutMs = 60000 }) => {
    const res = await call(wx.uploadFile, { url, filePath, name, formData, header: headers, timeout: timeoutMs });
    return { status: res.statusCode, data: parseMaybeJson(res.data) }; // uploadFile returns a string
  };
}

/** wx key-value storage: one setStorage per key, which the platform writes whole. */
function wxStorage(wx) {
  return {
    async get(key) {
      try {
        const res = await call(wx.getStorage, { key });
        return res.data === '' ? undefined : JSON.parse(res.data);
      } catch (error) {
        return undefined; // "data not found"
      }
    },
    set: (key, value) => call(wx.setStorage, { key, data: JSON.stringify(value) }),
    remove: (key) => call(wx.removeStorage, { key }).catch(() => undefined),
  };
}

/** Files under USER_DATA_PATH: written to a temporary name, then renamed over the old one. */
function wxFileStorage(wx, dir = `${wx.env.USER_DATA_PATH}/gridledger`) {
  const fs = wx.getFileSystemManager();
  const fileOf = (key) => `${dir}/${encodeURIComponent(key)}.json`;
  let made = false;
  return {
    async get(key) {
      try {
        const res = await call(fs.readFile.bind(fs), { filePath: fileOf(key), encoding: 'utf8' });
        return JSON.parse(res.data);
      } catch (error) {
        return undefined;
      }
    },
    async set(key, value) {
      if (!made) {
        await call(fs.mkdir.bind(fs), { dirPath: dir, recursive: true }).catch(() => undefined);
        made = true;
      }
      const tmp = `${fileOf(key)}.tmp`;
      await call(fs.writeFile.bind(fs), { filePath: tmp, data: JSON.stringify(value), encoding: 'utf8' });
      await call(fs.rename.bind(fs), { oldPath: tmp, newPath: fileOf(key) });
    },
    remove: (key) => call(fs.unlink.bind(fs), { filePath: fileOf(key) }).catch(() => undefined),
  };
}

function wxFiles(wx) {
  const fs = wx.getFileSystemManager();
  return {
    async read(filePath) {
      const res = await call(fs.readFile.bind(fs), { filePath });
      return new Uint8Array(res.data);
    },
  };
}

function wxAdapters(wx, { storage = 'kv' } = {}) {
  return {
    request: wxRequest(wx),
    uploadFile: wxUploadFile(wx),
    storage: storage === 'files' ? wxFileStorage(wx) : wxStorage(wx),
    files: wxFiles(wx),
    login: async () => (await call(wx.login, {})).code,
    // sha256 omitted: the SDK's own JavaScript SHA-256 is used (wx offers md5/sha1 only).
  };
}

module.exports = { wxAdapters, wxRequest, wxUploadFile, wxStorage, wxFileStorage, wxFiles };
