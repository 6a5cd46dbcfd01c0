// Which failures count as a dependency being away (answered 503, retried by jobs) and which as faults of their own.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ImgdError } from '../../src/core/errors.js';
import { isOutage } from '../../src/core/outages.js';

const withCode = (message: string, code: string): Error => Object.assign(new Error(message), { code });

describe('isOutage', () => {
  it('recognises lost and refused connections of PostgreSQL, SQLite, Redis, the network and the store', () => {
    const outages = [
      withCode('terminating connection due to administrator command', '57P01'),
      withCode('terminating connection due to idle-session timeout', '57P05'),
      withCode('the database system is starting up', '57P03'),
      withCode('sorry, too many clients already', '53300'),
      withCode('connection failure', '08006'),
      withCode('database is locked', 'SQLITE_BUSY'),
      new Error('Connection terminated unexpectedly'),
      new Error('Client has encountered a connection error and is not queryable'),
      new Error('timeout exceeded when trying to connect'),
      withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'),
      withCode('read ECONNRESET', 'ECONNRESET'),
      new Error('Connection is closed.'),
      new Error('Command timed out'),
      new ImgdError('unavailable', 'The image store cannot be reached right now; try again later.'),
      new Error('query failed', { cause: withCode('connect ETIMEDOUT', 'ETIMEDOUT') }),
    ];
    for (const err of outages) assert.equal(isOutage(err), true, err.message);
  });

  it('leaves faults of the request, the image or the code alone', () => {
    const faults = [
      withCode('duplicate key value violates unique constraint', '23505'),
      withCode('syntax error at or near "selct"', '42601'),
      withCode('UNIQUE constraint failed: images.filename', 'SQLITE_CONSTRAINT_UNIQUE'),
      new ImgdError('corrupt_image', 'The file does not decode.'),
      new TypeError("Cannot read properties of undefined (reading 'id')"),
      'a string',
      undefined,
    ];
    for (const err of faults) assert.equal(isOutage(err), false, String(err));
  });
});
