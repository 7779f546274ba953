'use strict';
/**
 * A tiny in-process stand-in for the sync endpoints, for unit tests of the client's control
 * flow (retries, refresh, paging). The real server is exercised by test/e2e against a live
 * backend; this fake only has to follow docs/sync-protocol.md for the shapes the client reads.
 */

function fakeServer() {
  const server = {
    accepted: new Map(),
    authors: new Map(),
    uploads: [],
    rows: [], // {bucket, op, kind, id, data} in log order
    position: 0,
    tokenGeneration: 1,
    expireNextCall: false,
    invalidCursorOnce: false,
    dropResponses: 0,
    calls: [],
  };
  let staffId = 's1';
  const pair = () => ({
    access_token: `tok-${server.tokenGeneration}`, refresh_token: `ref-${server.tokenGeneration}`,
    expires_in: 900, staff_id: staffId, role: 'grid_member', scope_unit_id: 'u1', name: '测试',
  });
  const routes = {
    '/v1/auth/dev-login': (body) => {
      staffId = body.staff_id;
      return [200, pair()];
    },
    '/v1/auth/refresh': (body) => {
      if (body.refresh_token !== `ref-${server.tokenGeneration}`) return [401, { errcode: 40104 }];
      server.tokenGeneration += 1;
      return [200, pair()];
    },
    '/v1/sync/push': (body) => {
      const results = body.events.map((e) => {
        const seen = server.accepted.get(e.event_id);
        if (seen) return { event_id: e.event_id, status: JSON.stringify(seen) === JSON.stringify(e.payload) ? 'duplicate' : 'conflict', errcode: 40960 };
        server.accepted.set(e.event_id, e.payload);
        server.authors.set(e.event_id, staffId);
        server.position += 1;
        server.rows.push({ bucket: 'user:s1', op: 'put', kind: 'event_status', id: e.event_id, data: { event_id: e.event_id, status: 'accepted' } });
        return { event_id: e.event_id, status: 'accepted', position: server.position };
      });
      return [200, { results, write_checkpoint: server.position, server_time: new Date().toISOString(), clock_offset_ms: 0 }];
    },
    '/v1/sync/pull': (body) => {
      if (server.invalidCursorOnce && body.cursor) {
        server.invalidCursorOnce = false;
        return [400, { errcode: 40063, errmsg: 'cursor invalid' }];
      }
      const from = body.cursor ? Number(body.cursor) : 0;
      const ops = server.rows.slice(from, from + body.limit);
      const next = from + ops.length;
      return [200, { ops, cursor: String(next), has_more: next < server.rows.length, projected_through: server.position }];
    },
  };
  server.request = async ({ method, url, headers, body }) => {
    const path = new URL(url).pathname;
    server.calls.push(path);
    const route = routes[path];
    if (!route) return { status: 404, data: { errcode: 40400 } };
    if (!path.startsWith('/v1/auth/')) {
      if (server.expireNextCall) {
        server.expireNextCall = false;
        return { status: 401, data: { errcode: 40103, errmsg: 'access token expired' } };
      }
      if (headers.authorization !== `Bearer tok-${server.tokenGeneration}`) return { status: 401, data: { errcode: 40102 } };
    }
    const [status, data] = route(JSON.parse(JSON.stringify(body || {})), method);
    if (server.dropResponses > 0) {
      server.dropResponses -= 1;
      throw new Error('socket hang up (response dropped after the server acted)');
    }
    return { status, data };
  };
  server.uploadFile = async ({ formData, headers }) => {
    if (headers.authorization !== `Bearer tok-${server.tokenGeneration}`) return { status: 401, data: { errcode: 40103 } };
    server.uploads.push(formData.sha256);
    return { status: 201, data: { sha256: formData.sha256, created: true } };
  };
  return server;
}

module.exports = { fakeServer };
