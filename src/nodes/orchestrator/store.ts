import { type InBatchesOptions, inBatches } from '../../core/in-batches.ts'
import { decodeKeysetCursor, encodeKeysetCursor } from '../../core/keyset-cursor.ts'
import type { Database, Queryable } from '../../ports/database.ts'

/** A workflow as the API shows it (GET /workflows/{id}, the list). */
export interface WorkflowRecord {
  workflow_id: string
  state: string
  namespace: string
  file_path: string | null
  file_hash: string | null
  degraded: boolean
  correlation_id: string | null
  request_event_id: string | null
  result: Record<string, unknown> | null
  error: { failed_step: string | null; code: string; message: string } | null
  created_at: string
  started_at: string | null
  finished_at: string | null
  duration_ms: number | null
}

export interface StepRecord {
  step: string
  status: 'completed' | 'failed' | 'degraded'
  attempts: number
  started_at: string
  duration_ms: number
  error: { code: string; message: string } | null
  output: Record<string, unknown>
}

export interface TransitionRecord {
  from_state: string
  to_state: string
  trigger: string
  at: string
}

export interface WorkflowPage {
  items: WorkflowRecord[]
  next_cursor: string | null
}

/** A new workflow, as accepted. */
export interface NewWorkflow {
  id: string
  namespace: string
  state: string
  filePath: string | null
  requestEventId: string | null
  correlationId: string | null
  sessionId: string | null
  /** The item without its content (stamp type, path, content type, encoding). */
  request: Record<string, unknown>
  content: Uint8Array
  owner: string
  /** Set when the workflow starts in the transaction that accepts it (its state is then the running one). */
  startedAt?: Date | undefined
}

/** A step as it finished, to be written. */
export interface FinishedStep {
  workflowId: string
  step: string
  position: number
  status: StepRecord['status']
  attempts: number
  startedAt: Date
  durationMs: number
  errorCode?: string | undefined
  errorMessage?: string | undefined
  output: Record<string, unknown>
}

/** What recovery needs to run a workflow again. */
export interface UnfinishedWorkflow {
  id: string
  state: string
  namespace: string
  filePath: string | null
  correlationId: string | null
  requestEventId: string | null
  sessionId: string | null
  request: Record<string, unknown>
  content: Uint8Array
  createdAt: Date
  steps: Array<{ step: string; status: StepRecord['status']; output: Record<string, unknown> }>
}

export interface StateChange {
  from: string
  to: string
  trigger: string
  at: Date
}

/** The terminal fields a finishing move writes. */
export interface Outcome {
  fileHash?: string | null
  degraded?: boolean
  result?: Record<string, unknown> | null
  failedStep?: string | null
  errorCode?: string | null
  errorMessage?: string | null
}

const iso = (column: string, as = column) =>
  `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS ${as}`

const columns = `id, state, namespace, file_path, file_hash, degraded, correlation_id,
  request_event_id, result, failed_step, error_code, error_message,
  ${iso('created_at')}, ${iso('started_at')}, ${iso('finished_at')},
  EXTRACT(EPOCH FROM (finished_at - started_at)) * 1000 AS duration_ms`

/**
 * State changes of any number of workflows and their fsm_transitions rows, in one statement: a workflow
 * moves only from the state the change expects (one moved by someone else is not moved again), and its
 * transition row is written only when it did. Returns the ids that moved.
 */
const moveSql = `WITH input AS (
    SELECT (x ->> 'id')::uuid AS id, x ->> 'from' AS from_state, x ->> 'to' AS to_state,
      x ->> 'trigger' AS trigger, (x ->> 'at')::timestamptz AS at, (x ->> 'starts')::boolean AS starts,
      (x ->> 'terminal')::boolean AS terminal, x ->> 'owner' AS owner, x ->> 'file_hash' AS file_hash,
      (x ->> 'degraded')::boolean AS degraded, x -> 'result' AS result, x ->> 'failed_step' AS failed_step,
      x ->> 'error_code' AS error_code, x ->> 'error_message' AS error_message
    FROM jsonb_array_elements($1::jsonb) AS t(x)),
  moved AS (
    UPDATE workflow_executions w SET
      state = i.to_state, owner = COALESCE(i.owner, w.owner), updated_at = i.at,
      started_at = CASE WHEN i.starts THEN COALESCE(w.started_at, i.at) ELSE w.started_at END,
      finished_at = CASE WHEN i.terminal THEN i.at ELSE w.finished_at END,
      request = CASE WHEN i.terminal THEN NULL ELSE w.request END,
      content = CASE WHEN i.terminal THEN NULL ELSE w.content END,
      file_hash = COALESCE(i.file_hash, w.file_hash),
      degraded = COALESCE(i.degraded, w.degraded),
      result = COALESCE(NULLIF(i.result, 'null'::jsonb), w.result),
      failed_step = COALESCE(i.failed_step, w.failed_step),
      error_code = COALESCE(i.error_code, w.error_code),
      error_message = COALESCE(i.error_message, w.error_message)
    FROM input i
    -- the ids again as an array: the planner then fetches the rows by primary key, where the join
    -- alone (it guesses 100 rows for jsonb_array_elements) would scan the whole table
    WHERE w.id = ANY ($2::uuid[]) AND w.id = i.id AND w.state = i.from_state
    RETURNING w.id, i.from_state, i.to_state, i.trigger, i.at)
  INSERT INTO fsm_transitions (workflow_id, from_state, to_state, trigger, at)
  SELECT id, from_state, to_state, trigger, at FROM moved
  RETURNING workflow_id`

// The oldest finished workflows through the index on created_at, and in the same statement their steps
// and transitions (by their indexes on workflow_id): a workflow goes with all its rows or not at all.
const pruneFinishedSql = `WITH gone AS (
    DELETE FROM workflow_executions WHERE id IN (
      SELECT id FROM workflow_executions
      WHERE created_at < $1::timestamptz AND finished_at < $1::timestamptz AND state IN ('completed', 'failed')
      ORDER BY created_at LIMIT $2)
    RETURNING id),
  steps AS (DELETE FROM workflow_steps WHERE workflow_id IN (SELECT id FROM gone)),
  moves AS (DELETE FROM fsm_transitions WHERE workflow_id IN (SELECT id FROM gone))
  SELECT count(*)::int AS n FROM gone`

const insertStepsSql = `INSERT INTO workflow_steps (workflow_id, step, position, status, attempts, started_at,
    duration_ms, error_code, error_message, output)
  SELECT (s ->> 'workflow_id')::uuid, s ->> 'step', (s ->> 'position')::int, s ->> 'status',
    (s ->> 'attempts')::int, (s ->> 'started_at')::timestamptz, (s ->> 'duration_ms')::float8,
    s ->> 'error_code', s ->> 'error_message', s -> 'output'
  FROM jsonb_array_elements($1::jsonb) AS t(s)
  ON CONFLICT (workflow_id, step) DO NOTHING`

/** A state change of one workflow, with what it writes. */
export interface Move {
  id: string
  change: StateChange
  /** The move into the running state: sets started_at. */
  starts?: boolean
  /** The move into a terminal state: sets finished_at, clears what only a running workflow needs. */
  terminal?: boolean
  owner?: string
  outcome?: Outcome
}

/** The orchestrator's SQL; nothing else touches workflow_executions, workflow_steps or fsm_transitions. */
export class WorkflowStore {
  #db: Database

  constructor(db: Database) {
    this.#db = db
  }

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.#db.transaction(fn)
  }

  /**
   * Inserts accepted workflows (one statement for any number). A workflow whose request event was
   * seen before is not inserted again: the ids returned are those of the new rows.
   */
  async insert(workflows: readonly NewWorkflow[], db: Queryable = this.#db): Promise<Set<string>> {
    const rows = workflows.map((w) => ({
      id: w.id,
      namespace: w.namespace,
      state: w.state,
      file_path: w.filePath,
      request_event_id: w.requestEventId,
      correlation_id: w.correlationId,
      session_id: w.sessionId,
      request: w.request,
      content: Buffer.from(w.content).toString('base64'),
      owner: w.owner,
      started_at: w.startedAt?.toISOString() ?? null,
    }))
    const { rows: inserted } = await db.query<{ id: string }>(
      // a workflow started in the transaction that accepts it was created at the instant it started
      // (the database's now() is a later reading, with more digits, than the clock's started_at)
      `INSERT INTO workflow_executions (id, namespace, state, file_path, request_event_id, correlation_id,
         session_id, request, content, owner, started_at, created_at)
       SELECT (w ->> 'id')::uuid, w ->> 'namespace', w ->> 'state', w ->> 'file_path',
         (w ->> 'request_event_id')::uuid, (w ->> 'correlation_id')::uuid, w ->> 'session_id',
         w -> 'request', decode(w ->> 'content', 'base64'), w ->> 'owner', (w ->> 'started_at')::timestamptz,
         COALESCE((w ->> 'started_at')::timestamptz, now())
       FROM jsonb_array_elements($1::jsonb) AS t(w)
       ON CONFLICT (request_event_id) DO NOTHING
       RETURNING id`,
      [JSON.stringify(rows)],
    )
    return new Set(inserted.map((r) => r.id))
  }

  /** The workflow of a request event, if one was created for it. */
  async findByRequestEvent(eventId: string, db: Queryable = this.#db): Promise<string | undefined> {
    const { rows } = await db.query<{ id: string }>(
      'SELECT id FROM workflow_executions WHERE request_event_id = $1',
      [eventId],
    )
    return rows[0]?.id
  }

  /** Moves workflows (each from its `change.from`), writing their transitions; returns the ids that moved. */
  async move(tx: Queryable, moves: readonly Move[]): Promise<Set<string>> {
    if (moves.length === 0) return new Set()
    const rows = moves.map((m) => {
      const o = m.outcome ?? {}
      return {
        id: m.id,
        from: m.change.from,
        to: m.change.to,
        trigger: m.change.trigger,
        at: m.change.at.toISOString(),
        starts: m.starts ?? false,
        terminal: m.terminal ?? false,
        owner: m.owner ?? null,
        file_hash: o.fileHash ?? null,
        degraded: o.degraded ?? null,
        result: o.result ?? null,
        failed_step: o.failedStep ?? null,
        error_code: o.errorCode ?? null,
        error_message: o.errorMessage ?? null,
      }
    })
    const { rows: moved } = await tx.query<{ workflow_id: string }>(moveSql, [
      JSON.stringify(rows),
      moves.map((m) => m.id),
    ])
    return new Set(moved.map((r) => r.workflow_id))
  }

  /**
   * Records state changes of workflows inserted in this transaction already in their new state (a
   * workflow accepted and started at once): their fsm_transitions rows, in one statement.
   */
  async insertTransitions(
    tx: Queryable,
    changes: ReadonlyArray<{ id: string; change: StateChange }>,
  ): Promise<void> {
    if (changes.length === 0) return
    await tx.query(
      `INSERT INTO fsm_transitions (workflow_id, from_state, to_state, trigger, at)
       SELECT (c ->> 'id')::uuid, c ->> 'from', c ->> 'to', c ->> 'trigger', (c ->> 'at')::timestamptz
       FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS t(c, n) ORDER BY n`,
      [
        JSON.stringify(
          changes.map(({ id, change }) => ({
            id,
            from: change.from,
            to: change.to,
            trigger: change.trigger,
            at: change.at.toISOString(),
          })),
        ),
      ],
    )
  }

  /** Records finished steps of any workflows (a step recorded before is kept: history is never rewritten). */
  async insertSteps(tx: Queryable, steps: readonly FinishedStep[]): Promise<void> {
    if (steps.length === 0) return
    const rows = steps.map((s) => ({
      workflow_id: s.workflowId,
      step: s.step,
      position: s.position,
      status: s.status,
      attempts: s.attempts,
      started_at: s.startedAt.toISOString(),
      duration_ms: s.durationMs,
      error_code: s.errorCode ?? null,
      error_message: s.errorMessage ?? null,
      output: s.output,
    }))
    await tx.query(insertStepsSql, [JSON.stringify(rows)])
  }

  async get(
    id: string,
  ): Promise<{ workflow: WorkflowRecord; steps: StepRecord[]; transitions: TransitionRecord[] } | undefined> {
    const { rows } = await this.#db.query<RawWorkflow>(
      `SELECT ${columns} FROM workflow_executions WHERE id = $1`,
      [id],
    )
    if (!rows[0]) return undefined
    const [steps, transitions] = await Promise.all([
      this.#db.query<RawStep>(
        `SELECT step, status, attempts, ${iso('started_at')}, duration_ms, error_code, error_message, output
         FROM workflow_steps WHERE workflow_id = $1 ORDER BY position`,
        [id],
      ),
      this.#db.query<TransitionRecord & Record<string, unknown>>(
        `SELECT from_state, to_state, trigger, ${iso('at')} FROM fsm_transitions
         WHERE workflow_id = $1 ORDER BY id`,
        [id],
      ),
    ])
    return {
      workflow: toWorkflow(rows[0]),
      steps: steps.rows.map(toStep),
      transitions: transitions.rows.map((t) => ({ ...t })),
    }
  }

  /** Keyset pagination by (created_at, id), optionally filtered by state and namespace. */
  async page(
    filter: { state?: string | undefined; namespace?: string | undefined },
    limit: number,
    cursor: string | undefined,
  ): Promise<WorkflowPage> {
    const where: string[] = []
    const params: unknown[] = []
    if (filter.state !== undefined) {
      params.push(filter.state)
      where.push(`state = $${params.length}`)
    }
    if (filter.namespace !== undefined) {
      params.push(filter.namespace)
      where.push(`namespace = $${params.length}`)
    }
    if (cursor !== undefined) {
      const after = decodeKeysetCursor(cursor)
      params.push(after.createdAt, after.id)
      where.push(`(created_at, id) > ($${params.length - 1}::timestamptz, $${params.length}::uuid)`)
    }
    params.push(limit + 1)
    const { rows } = await this.#db.query<RawWorkflow>(
      `SELECT ${columns} FROM workflow_executions ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY created_at, id LIMIT $${params.length}`,
      params,
    )
    const items = rows.slice(0, limit).map(toWorkflow)
    const last = rows.length > limit ? rows[limit - 1] : undefined
    return {
      items,
      next_cursor: last ? encodeKeysetCursor({ createdAt: last.created_at, id: last.id }) : null,
    }
  }

  /**
   * Deletes the finished workflows (completed or failed) created and finished before `before`, with
   * their steps and transitions, in one statement per batch (inBatches: PGlite would stop for all of
   * them at once); returns how many workflows. Unfinished ones stay, however old: recovery owns them.
   */
  async pruneFinished(before: Date, options: InBatchesOptions = {}): Promise<number> {
    return inBatches(async (limit) => {
      const { rows } = await this.#db.query<{ n: number }>(pruneFinishedSql, [before.toISOString(), limit])
      return rows[0]?.n ?? 0
    }, options)
  }

  /** This process is alive: its lease on the workflows it owns is renewed. */
  async heartbeat(owner: string): Promise<void> {
    await this.#db.query(
      `INSERT INTO workflow_owners (owner, heartbeat_at) VALUES ($1, now())
       ON CONFLICT (owner) DO UPDATE SET heartbeat_at = now()`,
      [owner],
    )
  }

  /** This process stops: its workflows are free for others to take over at once. */
  async release(owner: string): Promise<void> {
    await this.#db.query('DELETE FROM workflow_owners WHERE owner = $1', [owner])
  }

  /**
   * Takes over the unfinished workflows (pending or processing) of owners that are dead: no heartbeat
   * within `leaseMs` (by the database's clock, the same for every process), or none at all. Without
   * this they would stay stuck forever. Returns them with the steps they already finished.
   */
  async claimUnfinished(owner: string, leaseMs: number): Promise<UnfinishedWorkflow[]> {
    const { rows } = await this.#db.query<RawUnfinished>(
      `UPDATE workflow_executions w SET owner = $1, updated_at = now()
       WHERE state IN ('pending', 'processing') AND owner IS DISTINCT FROM $1
         AND NOT EXISTS (SELECT 1 FROM workflow_owners o
           WHERE o.owner = w.owner AND o.heartbeat_at > now() - $2 * interval '1 millisecond')
       RETURNING ${unfinishedColumns}`,
      [owner, leaseMs],
    )
    return this.#withSteps(rows)
  }

  /** This process's pending workflows accepted from the bus, oldest first, but those in `running`. */
  async pendingOf(owner: string, running: readonly string[], limit: number): Promise<UnfinishedWorkflow[]> {
    const { rows } = await this.#db.query<RawUnfinished>(
      `SELECT ${unfinishedColumns} FROM workflow_executions
       WHERE state = 'pending' AND owner = $1 AND request_event_id IS NOT NULL
         AND NOT (id = ANY ($2::uuid[]))
       ORDER BY created_at LIMIT $3`,
      [owner, [...running], limit],
    )
    return this.#withSteps(rows)
  }

  async #withSteps(rows: RawUnfinished[]): Promise<UnfinishedWorkflow[]> {
    if (rows.length === 0) return []
    const ids = rows.map((r) => r.id)
    const { rows: steps } = await this.#db.query<{
      workflow_id: string
      step: string
      status: StepRecord['status']
      output: Record<string, unknown>
    }>(
      `SELECT workflow_id, step, status, output FROM workflow_steps
       WHERE workflow_id = ANY ($1::uuid[]) ORDER BY position`,
      [ids],
    )
    return rows
      .sort((a, b) => new Date(a.created_at).getTime() - new Date(b.created_at).getTime())
      .map((r) => ({
        id: r.id,
        state: r.state,
        namespace: r.namespace,
        filePath: r.file_path,
        correlationId: r.correlation_id,
        requestEventId: r.request_event_id,
        sessionId: r.session_id,
        request: r.request ?? {},
        content: r.content ?? new Uint8Array(),
        createdAt: new Date(r.created_at),
        steps: steps
          .filter((s) => s.workflow_id === r.id)
          .map((s) => ({ step: s.step, status: s.status, output: s.output })),
      }))
  }
}

const unfinishedColumns = `id, state, namespace, file_path, correlation_id, request_event_id, session_id, request,
  content, created_at`

interface RawWorkflow {
  id: string
  state: string
  namespace: string
  file_path: string | null
  file_hash: string | null
  degraded: boolean
  correlation_id: string | null
  request_event_id: string | null
  result: Record<string, unknown> | null
  failed_step: string | null
  error_code: string | null
  error_message: string | null
  created_at: string
  started_at: string | null
  finished_at: string | null
  duration_ms: number | string | null
  [key: string]: unknown
}

interface RawStep {
  step: string
  status: StepRecord['status']
  attempts: number
  started_at: string
  duration_ms: number
  error_code: string | null
  error_message: string | null
  output: Record<string, unknown>
  [key: string]: unknown
}

interface RawUnfinished {
  id: string
  state: string
  namespace: string
  file_path: string | null
  correlation_id: string | null
  request_event_id: string | null
  session_id: string | null
  request: Record<string, unknown> | null
  content: Uint8Array | null
  created_at: Date | string
  [key: string]: unknown
}

function toWorkflow(row: RawWorkflow): WorkflowRecord {
  return {
    workflow_id: row.id,
    state: row.state,
    namespace: row.namespace,
    file_path: row.file_path,
    file_hash: row.file_hash,
    degraded: row.degraded,
    correlation_id: row.correlation_id,
    request_event_id: row.request_event_id,
    result: row.result,
    error:
      row.error_code === null
        ? null
        : { failed_step: row.failed_step, code: row.error_code, message: row.error_message ?? '' },
    created_at: row.created_at,
    started_at: row.started_at,
    finished_at: row.finished_at,
    duration_ms: row.duration_ms === null ? null : Number(row.duration_ms),
  }
}

function toStep(row: RawStep): StepRecord {
  return {
    step: row.step,
    status: row.status,
    attempts: row.attempts,
    started_at: row.started_at,
    duration_ms: Number(row.duration_ms),
    error: row.error_code === null ? null : { code: row.error_code, message: row.error_message ?? '' },
    output: row.output,
  }
}
