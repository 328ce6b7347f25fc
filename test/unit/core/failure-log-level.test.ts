import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  DatabaseError,
  failureLogLevel,
  InvalidInputError,
  OnexError,
  TimeoutError,
  UnavailableError,
} from '../../../src/core/errors.ts'
import { logRetry, type NodeLogger } from '../../../src/ports/logger.ts'

test('failures are logged as loudly as they deserve', () => {
  assert.equal(failureLogLevel(new InvalidInputError('bad'), 400), 'debug')
  assert.equal(failureLogLevel(new Error('boom'), 500), 'error', 'a bug')
  assert.equal(failureLogLevel(new DatabaseError('rejected'), 500), 'error', 'not retryable')
  assert.equal(failureLogLevel(new UnavailableError('away'), 503), 'warn')
  assert.equal(failureLogLevel(new TimeoutError('slow'), 503), 'warn')
  const turnedAway = new UnavailableError('circuit open', { details: { circuit: 'open' } })
  assert.equal(failureLogLevel(turnedAway, 503), 'debug')
})

test('a background attempt retried later is a warning, only debug when the open circuit turned it away', () => {
  const lines: string[] = []
  const logger: NodeLogger = {
    debug: (_o, m) => void lines.push(`debug ${m}`),
    info: (_o, m) => void lines.push(`info ${m}`),
    warn: (_o, m) => void lines.push(`warn ${m}`),
    error: (_o, m) => void lines.push(`error ${m}`),
  }
  const onError = logRetry(logger, 'pass failed; will retry')
  onError(new UnavailableError('the database is unavailable'))
  onError(new UnavailableError('circuit open', { details: { circuit: 'open' } }))
  onError(new Error('a bug'))
  onError(new OnexError('ONEX_CORE_030_CONFLICT', 'stale leader epoch'))
  assert.deepEqual(lines, [
    'warn pass failed; will retry',
    'debug pass failed; will retry',
    'warn pass failed; will retry',
    'warn pass failed; will retry',
  ])
})
