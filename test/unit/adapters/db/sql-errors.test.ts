import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { isServerError, toDomainError } from '../../../../src/adapters/db/sql-errors.ts'
import {
  ConflictError,
  DatabaseError,
  InvalidInputError,
  NotFoundError,
  TimeoutError,
  UnavailableError,
} from '../../../../src/core/errors.ts'

/** A server error as pg and PGlite raise it: SQLSTATE in `code`. */
const serverError = (code: string, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(`driver says ${code}`), { code, severity: 'ERROR', ...extra })
const errno = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:1`), { code })

describe('toDomainError', () => {
  it('maps a unique violation to ConflictError with the constraint', () => {
    const err = toDomainError(serverError('23505', { constraint: 'metadata_stamps_hash_namespace_key' }))
    assert.ok(err instanceof ConflictError)
    assert.equal(err.code, 'ONEX_CORE_030_CONFLICT')
    assert.deepEqual(err.details, { sql_state: '23505', constraint: 'metadata_stamps_hash_namespace_key' })
  })

  it('maps statement and lock timeouts to TimeoutError', () => {
    for (const code of ['57014', '55P03']) assert.ok(toDomainError(serverError(code)) instanceof TimeoutError)
  })

  it("maps pg's client-side query timeout to TimeoutError", () => {
    assert.ok(toDomainError(new Error('Query read timeout')) instanceof TimeoutError)
  })

  it('maps connection exceptions, shutdowns and too many connections to UnavailableError', () => {
    for (const code of ['08006', '08001', '57P01', '57P02', '57P03', '57P05', '53300']) {
      const err = toDomainError(serverError(code))
      assert.ok(err instanceof UnavailableError, code)
      assert.equal(err.retryable, true)
      assert.equal(err.retryAfterSeconds, 1)
    }
  })

  it('maps socket errnos to UnavailableError, not to a SQLSTATE', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN']) {
      const err = toDomainError(errno(code))
      assert.ok(err instanceof UnavailableError, code)
      assert.equal(err.details, undefined, 'no sql_state for an errno')
    }
  })

  it('maps an AggregateError of refused connection attempts to UnavailableError', () => {
    const err = new AggregateError([errno('ECONNREFUSED'), errno('ECONNREFUSED')], 'connect failed')
    assert.ok(toDomainError(err) instanceof UnavailableError)
  })

  it('maps pg and pg-pool connection messages to UnavailableError', () => {
    for (const message of [
      'Connection terminated unexpectedly',
      'Connection terminated due to connection timeout',
      'timeout exceeded when trying to connect',
      'Cannot use a pool after calling end on the pool',
      'Client was closed and is not queryable',
      'PGlite is closed',
    ]) {
      assert.ok(toDomainError(new Error(message)) instanceof UnavailableError, message)
    }
  })

  it('maps data exceptions to InvalidInputError', () => {
    assert.ok(toDomainError(serverError('22P02')) instanceof InvalidInputError)
  })

  it('maps anything else to DatabaseError, keeping the driver error as cause only', () => {
    const driver = serverError('42P01')
    const err = toDomainError(driver)
    assert.ok(err instanceof DatabaseError)
    assert.equal(err.cause, driver)
    assert.ok(!err.message.includes('driver says'))
    assert.ok(toDomainError('a string') instanceof DatabaseError)
    assert.ok(toDomainError(undefined) instanceof DatabaseError)
  })

  it('passes domain errors through unchanged', () => {
    const err = new NotFoundError('gone')
    assert.equal(toDomainError(err), err)
  })
})

describe('isServerError', () => {
  it('is true for an error the server answered with, false when the connection is in doubt', () => {
    assert.equal(isServerError(serverError('23505')), true)
    assert.equal(isServerError(serverError('57014')), true)
    assert.equal(isServerError(serverError('57P01')), false)
    assert.equal(isServerError(serverError('08006')), false)
    assert.equal(isServerError(errno('EPIPE')), false)
    assert.equal(isServerError(new Error('Query read timeout')), false)
  })
})
