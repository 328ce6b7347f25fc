import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  DatabaseError,
  failureLogLevel,
  InvalidInputError,
  TimeoutError,
  UnavailableError,
} from '../../../src/core/errors.ts'

test('failures are logged as loudly as they deserve', () => {
  assert.equal(failureLogLevel(new InvalidInputError('bad'), 400), 'debug')
  assert.equal(failureLogLevel(new Error('boom'), 500), 'error', 'a bug')
  assert.equal(failureLogLevel(new DatabaseError('rejected'), 500), 'error', 'not retryable')
  assert.equal(failureLogLevel(new UnavailableError('away'), 503), 'warn')
  assert.equal(failureLogLevel(new TimeoutError('slow'), 503), 'warn')
  const turnedAway = new UnavailableError('circuit open', { details: { circuit: 'open' } })
  assert.equal(failureLogLevel(turnedAway, 503), 'debug')
})
