'use strict';
/**
 * HTTP to the gridledger server through the `request` adapter: bearer token, one transparent
 * refresh when the access token has expired, and errors split into those worth retrying
 * (no answer, 5xx, 429) and those that are final (other 4xx).
 */

const { retry } = require('./backoff');

class NetworkError extends Error {
  constructor(cause) {
    super(`no answer from the server: ${cause && cause.message ? cause.message : cause}`);
    this.name = 'NetworkError';
    this.cause = cause;
    this.retryable = true;
  }
}

class ApiError extends Error {
  constructor(status, body) {
    const data = body && typeof body === 'object' ? body : {};
    super(`${status} ${data.errcode || ''} ${data.errmsg || ''}`.trim());
    this.name = 'ApiError';
    this.status = status;
    this.errcode = data.errcode;
    this.errmsg = data.errmsg;
    this.body = data;
    this.retryable = status >= 500 || status === 429 || status === 408;
  }
}

/** errcodes after which a refresh token gets a new access token (docs/errcodes.md). */
const REFRESHABLE = new Set([40103]);

const SESSION_KEY = 'gl.session';

class Api {
  constructor({ baseUrl, request, storage, now, emitter, backoff, sleep }) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this._request = request;
    this._storage = storage;
    this._now = now;
    this._emitter = emitter;
    this._backoff = backoff;
    this._sleep = sleep;
    this.session = null;
    this._refreshing = null;
  }

  async open() {
    this.session = (await this._storage.get(SESSION_KEY)) || null;
  }

  /** Store a TokenPair the server returned (login or refresh). */
  async adoptTokens(pair, deviceId) {
    this.session = {
      access_token: pair.access_token,
      refresh_token: pair.refresh_token,
      // Expire a minute early: the phone's clock and the network both eat into the window.
      expires_at: this._now() + Math.max(0, pair.expires_in - 60) * 1000,
      staff_id: pair.staff_id,
      role: pair.role,
      scope_unit_id: pair.scope_unit_id,
      name: pair.name,
      device_id: deviceId,
    };
    await this._storage.set(SESSION_KEY, this.session);
    this._emitter.emit('session', { staffId: pair.staff_id, role: pair.role });
    return this.session;
  }

  async forget() {
    this.session = null;
    await this._storage.remove(SESSION_KEY);
  }

  /** One HTTP exchange; resolves to the parsed body of a 2xx, throws ApiError/NetworkError. */
  async raw(method, path, { body, token, timeoutMs } = {}) {
    const headers = token ? { authorization: `Bearer ${token}` } : {};
    let response;
    try {
      response = await this._request({ method, url: this.baseUrl + path, headers, body, timeoutMs });
    } catch (error) {
      throw new NetworkError(error);
    }
    if (response.status >= 200 && response.status < 300) return response.data;
    throw new ApiError(response.status, response.data);
  }

  /** An authenticated call; refreshes once on an expired access token. */
  async call(method, path, options = {}) {
    if (!this.session) throw new ApiError(401, { errcode: 40101, errmsg: 'not logged in' });
    if (this._now() >= this.session.expires_at) await this.refresh();
    try {
      return await this.raw(method, path, { ...options, token: this.session.access_token });
    } catch (error) {
      if (!(error instanceof ApiError) || !REFRESHABLE.has(error.errcode)) throw error;
      await this.refresh();
      return this.raw(method, path, { ...options, token: this.session.access_token });
    }
  }

  /** An authenticated call retried with backoff while the failure is transient. */
  callWithRetry(method, path, options = {}) {
    return retry(() => this.call(method, path, options), {
      ...this._backoff,
      sleep: this._sleep,
      isRetryable: (error) => Boolean(error.retryable),
      onRetry: (info) => this._emitter.emit('retry', { path, ...info }),
    });
  }

  /** Rotate the refresh token; concurrent callers share one rotation (the old token dies). */
  refresh() {
    if (!this._refreshing) {
      this._refreshing = this._rotate().finally(() => {
        this._refreshing = null;
      });
    }
    return this._refreshing;
  }

  async _rotate() {
    const { refresh_token: refreshToken, device_id: deviceId } = this.session;
    try {
      const pair = await this.raw('POST', '/v1/auth/refresh', {
        body: { refresh_token: refreshToken, device_id: deviceId },
      });
      return await this.adoptTokens(pair, deviceId);
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        await this.forget();
        this._emitter.emit('loggedOut', { errcode: error.errcode, errmsg: error.errmsg });
      }
      throw error;
    }
  }
}

module.exports = { Api, ApiError, NetworkError, SESSION_KEY };
