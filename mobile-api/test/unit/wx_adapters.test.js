'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { wxAdapters } = require('../../adapters/wx');
const { createClient } = require('../..');
const { fakeServer } = require('../../test-support/fake_server');

/** Just enough of the mini-program `wx` object, callback style, over the fake server. */
function fakeWx(server) {
  const kv = new Map();
  const files = new Map([['wxfile://tmp/photo.jpg', new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 9, 9]).buffer]]);
  const later = (fn) => setTimeout(fn, 0);
  return {
    kv,
    env: { USER_DATA_PATH: 'wxfile://usr' },
    login: ({ success }) => later(() => success({ code: 'wx-code-1' })),
    request: ({ url, method, data, header, success, fail }) => {
      server.request({ method, url, headers: header, body: data }).then(
        (r) => success({ statusCode: r.status, data: r.data }), // wx parses JSON for dataType 'json'
        (e) => fail({ errMsg: `request:fail ${e.message}` }),
      );
    },
    uploadFile: ({ url, filePath, formData, header, success }) => {
      server.uploadFile({ url, filePath, formData, headers: header }).then((r) => success({ statusCode: r.status, data: JSON.stringify(r.data) }));
    },
    getStorage: ({ key, success, fail }) => later(() => (kv.has(key) ? success({ data: kv.get(key) }) : fail({ errMsg: 'getStorage:fail data not found' }))),
    setStorage: ({ key, data, success }) => later(() => {
      kv.set(key, data);
      success({});
    }),
    removeStorage: ({ key, success }) => later(() => {
      kv.delete(key);
      success({});
    }),
    getFileSystemManager: () => ({
      readFile: ({ filePath, encoding, success, fail }) => later(() => {
        if (!files.has(filePath)) return fail({ errMsg: 'readFile:fail no such file' });
        const data = files.get(filePath);
        return success({ data: encoding === 'utf8' ? data : data });
      }),
      writeFile: ({ filePath, data, success }) => later(() => {
        files.set(filePath, data);
        success({});
      }),
      rename: ({ oldPath, newPath, success }) => later(() => {
        files.set(newPath, files.get(oldPath));
        files.delete(oldPath);
        success({});
      }),
      unlink: ({ filePath, success }) => later(() => {
        files.delete(filePath);
        success({});
      }),
      mkdir: ({ success }) => later(() => success({})),
    }),
  };
}

for (const storage of ['kv', 'files']) {
  test(`the SDK runs on the mini-program adapters (${storage} storage)`, async () => {
    // given a client built from wx adapters
    const server = fakeServer();
    const wx = fakeWx(server);
    const client = createClient({ baseUrl: 'https://grid.example.cn', adapters: { ...wxAdapters(wx, { storage }), sleep: async () => {} } });
    await client.open();
    await client.devLogin('s1');
    // when a visit with a photo is captured, pushed, pulled and its photo uploaded
    const photo = await client.preparePhoto('wxfile://tmp/photo.jpg');
    await client.recordVisit({ household_id: 'h1', photos: [photo.sha256] }, { photos: [photo] });
    const { pushed, pulled, photos } = await client.sync();
    // then everything went through wx.request / wx.uploadFile and persisted through wx storage
    assert.equal(pushed.results[0].status, 'accepted');
    assert.equal(pulled.put, 1);
    assert.deepEqual(photos, { uploaded: 1, failed: 0, retry: 0 });
    assert.equal(photo.sha256, require('node:crypto').createHash('sha256').update(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 9, 9])).digest('hex'));
    const reopened = await createClient({ baseUrl: 'https://grid.example.cn', adapters: wxAdapters(wx, { storage }) }).open();
    assert.equal(reopened.store.size, 1);
    assert.equal(reopened.deviceId, client.deviceId);
    assert.equal(reopened.session.staff_id, 's1');
  });
}

test('wx.login codes go to /v1/auth/wx-login with the binding code the first time', async () => {
  const server = fakeServer();
  const seen = [];
  const request = server.request;
  server.request = async (args) => {
    if (args.url.endsWith('/v1/auth/wx-login')) {
      seen.push(args.body);
      return { status: 200, data: { access_token: 'tok-1', refresh_token: 'ref-1', expires_in: 900, staff_id: 's9', role: 'grid_member', scope_unit_id: 'u', name: 'n' } };
    }
    return request(args);
  };
  const client = await createClient({ baseUrl: 'https://g.example.cn', adapters: wxAdapters(fakeWx(server)) }).open();
  await client.wxLogin({ bindingCode: '483920' });
  assert.deepEqual(seen, [{ code: 'wx-code-1', device_id: client.deviceId, binding_code: '483920' }]);
  assert.equal(client.session.staff_id, 's9');
});
