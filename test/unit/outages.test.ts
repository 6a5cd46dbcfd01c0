// Which failures count as a dependency being away (answered 503, retried by jobs) and which as faults of their own.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ImgdError } from '../../src/core/errors.js';
import { isDiskFull, isOutage } from '../../src/core/outages.js';

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

describe('isDiskFull', () => {
  it('recognises no space left on a disk, a quota, SQLite and PostgreSQL, wrapped or not', () => {
    const full = [
      withCode('ENOSPC: no space left on device, write', 'ENOSPC'),
      withCode('EDQUOT: disk quota exceeded, write', 'EDQUOT'),
      withCode('database or disk is full', 'SQLITE_FULL'),
      withCode('could not extend file "base/16384/2619": No space left on device', '53100'),
      new Error('the upload could not be stored', { cause: withCode('ENOSPC: no space left on device', 'ENOSPC') }),
      new ImgdError('insufficient_storage', 'The server has no space left to store this.'),
    ];
    for (const err of full) assert.equal(isDiskFull(err), true, err.message);
  });

  it('leaves other write failures and refusals alone', () => {
    const others = [
      withCode('EACCES: permission denied, open', 'EACCES'),
      withCode('ENOENT: no such file or directory', 'ENOENT'),
      withCode('database is locked', 'SQLITE_BUSY'),
      new ImgdError('file_too_large', 'The file is larger than the limit.'),
      undefined,
    ];
    for (const err of others) assert.equal(isDiskFull(err), false, String(err));
  });
});
