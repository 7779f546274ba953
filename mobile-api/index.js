'use strict';
/** gridledger mobile-api: offline sync for field phones. See README.md. */

const { SyncClient, createClient, PROTOCOL } = require('./src/client');
const { ApiError, NetworkError } = require('./src/api');
const { backoffDelay, retry } = require('./src/backoff');
const { LocalStore } = require('./src/store');
const { Outbox } = require('./src/outbox');
const { sha256Hex } = require('./src/sha256');
const { uuid7Factory } = require('./src/uuid7');
const { CaptureError } = require('./src/validate');

module.exports = {
  createClient,
  SyncClient,
  PROTOCOL,
  ApiError,
  NetworkError,
  CaptureError,
  LocalStore,
  Outbox,
  backoffDelay,
  retry,
  sha256Hex,
  uuid7Factory,
};
