import { randomUUID } from 'node:crypto'
import type { WorkflowStep } from '../../core/contracts/schema.ts'
import { roundMs } from '../../core/duration.ts'
import { NotFoundError, OnexError, UnavailableError } from '../../core/errors.ts'
import { GroupCommit } from '../../core/group-commit.ts'
import type { Blake3 } from '../../core/hashing/blake3.ts'
import { detectFileType, hashableBytes } from '../../core/stamp/index.ts'
import type { WorkflowFsm } from '../../core/workflow/fsm.ts'
import type { WorkflowLimiter } from '../../core/workflow/limiter.ts'
import type { StampStepName } from '../../core/workflow/plan.ts'
import type { Clock } from '../../ports/clock.ts'
import type { Queryable } from '../../ports/database.ts'
import type { OutgoingMessage } from '../../ports/event-bus.ts'
import type { Intelligence, IntelligenceClient } from '../../ports/intelligence.ts'
import type { NodeLogger } from '../../ports/logger.ts'
import type { Outbox } from '../../ports/outbox.ts'
import type { Stamper, StamperOutcome } from '../../ports/stamper.ts'
import type { WorkflowEvents, WorkflowOrigin } from './events.ts'
import { runStep, type StepResult } from './step-runner.ts'
import type {
  FinishedStep,
  Move,
  StepRecord,
  UnfinishedWorkflow,
  WorkflowPage,
  WorkflowStore,
} from './store.ts'
import { validateInput, type WorkflowInput } from './validate-input.ts'

export type RecoveryMode = 'resume' | 'fail'

export interface WorkflowServiceDeps {
  store: WorkflowStore
  stamper: Stamper
  intelligence: IntelligenceClient
  blake3: Blake3
  clock: Clock
  outbox: Outbox
  events: WorkflowEvents
  fsm: WorkflowFsm
  /** The contract's settings of each step. */
  plan: Record<StampStepName, WorkflowStep>
  limiter: WorkflowLimiter
  logger: NodeLogger
  /** This process, as the owner of the workflows it runs (recovery claims those of dead owners). */
  owner: string
}

/** A finished workflow, as POST /workflows/stamp answers it. */
export interface WorkflowOutcome {
  workflowId: string
  state: 'completed' | 'failed'
  namespace: string
  degraded: boolean
  durationMs: number
  steps: Array<{ step: string; status: StepRecord['status']; attempts: number; durationMs: number }>
  stamp: StamperOutcome | null
  error: { failedStep: string; code: string; message: string } | null
}

/** A workflow to run: new, or taken over from a dead process with the steps it had finished. */
interface Runnable {
  id: string
  state: string
  input: WorkflowInput
  origin: WorkflowOrigin
  acceptedAt: number
  done: Map<string, { status: StepRecord['status']; output: Record<string, unknown> }>
}

const PENDING = 'pending'
const PROCESSING = 'processing'
const COMPLETED = 'completed'
const FAILED = 'failed'

/**
 * NodeBridgeOrchestrator's logic: stamp workflows as persisted state machines, framework-free (HTTP
 * routes and the bus consumer parse their input and call it).
 *
 * Persistence, per workflow: the accepted row with the start (pending → processing, its transition
 * and STAMP_WORKFLOW_STARTED) in one transaction when a running slot is free at once; else the
 * accepted row (pending), and the start in a transaction of its own once a slot frees; then the
 * steps. validate_input, onextree_intelligence and hash_generation change nothing outside this
 * process, so their rows and WORKFLOW_STEP_COMPLETED events are written with the next durable change,
 * the stamp_creation transaction (the stamp, its METADATA_STAMP_CREATED, the step rows and their
 * events commit together: one statement per table for the whole group, stamps included); after a
 * crash they are simply run again (a stamp of the same content and namespace is the same record).
 * event_publishing writes its row, processing → completed and STAMP_WORKFLOW_COMPLETED in one last
 * transaction. A failure writes what finished, the failed step, processing → failed and
 * STAMP_WORKFLOW_FAILED in one transaction. So every transition is persisted and published exactly
 * when it happened: three writes for a workflow that completes (four when it waited for a slot).
 *
 * Each kind of write (accept, start, stamp, finish) goes through a GroupCommit: the writes of all the
 * workflows that reach that point together share one transaction and one statement per table.
 */
export class WorkflowService {
  #d: WorkflowServiceDeps
  #active = new Set<string>()
  #idle: Array<() => void> = []
  #stopping = false
  /** The durable writes of concurrent workflows, each kind grouped into shared transactions. */
  #accepts: GroupCommit<Accept[], null, Queryable>
  #starts: GroupCommit<Runnable, null, Queryable>
  #stamps: GroupCommit<StampWrite, StamperOutcome, Queryable>
  #finishes: GroupCommit<FinishWrite, number, Queryable>

  constructor(deps: WorkflowServiceDeps) {
    this.#d = deps
    const transaction = <X>(fn: (tx: Queryable) => Promise<X>) => deps.store.transaction(fn)
    const committed = () => deps.outbox.notify()
    this.#accepts = new GroupCommit({
      transaction,
      committed,
      write: async (tx, groups: Accept[][]) => {
        await this.#writeAccepts(tx, groups.flat())
        return groups.map(() => null)
      },
    })
    this.#starts = new GroupCommit({ transaction, committed, write: (tx, g) => this.#writeStarts(tx, g) })
    this.#stamps = new GroupCommit({ transaction, committed, write: (tx, g) => this.#writeStamps(tx, g) })
    this.#finishes = new GroupCommit({ transaction, committed, write: (tx, g) => this.#writeFinishes(tx, g) })
    deps.fsm.require(
      [
        [PENDING, PROCESSING],
        [PENDING, FAILED],
        [PROCESSING, COMPLETED],
        [PROCESSING, FAILED],
      ],
      'NodeBridgeOrchestrator',
    )
  }

  get running(): number {
    return this.#active.size
  }

  /**
   * Accepts the items as workflows and runs them, answering once each is completed or failed. All are
   * admitted or none: beyond `max_concurrent_workflows` running plus the queue bound, the request is
   * refused with ONEX_CORE_041_RATE_LIMITED (429, Retry-After) and nothing is stored.
   */
  async submit(items: readonly WorkflowInput[], origin: WorkflowOrigin): Promise<WorkflowOutcome[]> {
    const { limiter } = this.#d
    if (this.#stopping) throw new UnavailableError('the orchestrator is stopping')
    if (!limiter.admit(items.length))
      throw new OnexError(
        'ONEX_CORE_041_RATE_LIMITED',
        `too many workflows: ${limiter.running} running and ${limiter.queued} queued (at most ${limiter.maxRunning} and ${limiter.maxQueued}); retry later`,
        {
          retryAfterSeconds: 1,
          details: { running: limiter.running, queued: limiter.queued, requested: items.length },
        },
      )
    const acceptedAt = performance.now()
    const runnables = items.map(
      (input): Runnable => ({ id: randomUUID(), state: PENDING, input, origin, acceptedAt, done: new Map() }),
    )
    // those that find a running slot free start in the transaction that accepts them; the others
    // wait for one as pending
    const slots = runnables.map(() => limiter.tryAcquire())
    try {
      await this.#accepts.submit(runnables.map((r, i) => ({ r, starts: slots[i]! })))
    } catch (err) {
      for (const slot of slots) if (slot) limiter.done()
      limiter.release(slots.filter((slot) => !slot).length)
      throw err
    }
    for (const [i, r] of runnables.entries()) if (slots[i]) r.state = PROCESSING
    return Promise.all(runnables.map((r, i) => this.#runWithSlot(r, true, slots[i])))
  }

  /**
   * A cmd.metadata-stamp-request from the bus: the workflow is created in the consumer's transaction
   * (with the event's deduplication mark, so a redelivery never makes a second one) and run once that
   * commits, by the pump (runPending).
   */
  async accept(
    input: WorkflowInput,
    origin: WorkflowOrigin & { requestEventId: string },
    tx: Parameters<WorkflowStore['insert']>[1],
  ): Promise<void> {
    await this.#d.store.insert(
      [
        this.#newRow(
          { id: randomUUID(), state: PENDING, input, origin, acceptedAt: 0, done: new Map() },
          origin.requestEventId,
        ),
      ],
      tx,
    )
  }

  /** Runs this process's pending workflows that are not running yet (those accepted from the bus). */
  async runPending(): Promise<void> {
    if (this.#stopping) return
    const free = Math.max(0, this.#d.limiter.maxRunning + this.#d.limiter.maxQueued - this.#active.size)
    if (free === 0) return
    const pending = await this.#d.store.pendingOf(this.#d.owner, [...this.#active], Math.min(free, 256))
    // one may have started while the query ran
    for (const w of pending)
      if (!this.#active.has(w.id))
        void this.#runWithSlot(this.#fromStored(w), false).catch((err: unknown) =>
          this.#d.logger.warn({ err, workflow_id: w.id }, 'workflow from the bus did not finish'),
        )
  }

  /**
   * The workflows a dead process left pending or processing (its lease expired: no heartbeat within
   * `leaseMs`) are taken over and resumed from the first step they had not finished (`resume`), or
   * failed (`fail`); never left stuck. Run at start and then periodically.
   */
  async recover(mode: RecoveryMode, leaseMs: number): Promise<{ resumed: number; failed: number }> {
    if (this.#stopping) return { resumed: 0, failed: 0 }
    const unfinished = await this.#d.store.claimUnfinished(this.#d.owner, leaseMs)
    if (unfinished.length === 0) return { resumed: 0, failed: 0 }
    if (mode === 'fail') {
      const at = this.#d.clock.now()
      const error = {
        failedStep: 'recovery',
        code: 'ONEX_CORE_050_SERVICE_UNAVAILABLE',
        message: 'the process running the workflow stopped before it finished',
      }
      await this.#d.store.transaction(async (tx) => {
        const moves = unfinished.map((w) => ({ w, move: this.#d.fsm.move(w.state, FAILED) }))
        await this.#d.store.move(
          tx,
          moves.map(({ w, move }) => ({
            id: w.id,
            change: { ...move, at },
            terminal: true,
            outcome: { failedStep: error.failedStep, errorCode: error.code, errorMessage: error.message },
          })),
        )
        await this.#d.outbox.append(
          tx,
          moves.flatMap(({ w, move }) => {
            const r = this.#fromStored(w)
            return [
              this.#d.events.transition(w.id, move, at, r.origin),
              this.#d.events.failed(
                w.id,
                {
                  namespace: r.input.namespace,
                  failedStep: error.failedStep,
                  errorCode: error.code,
                  errorMessage: error.message,
                  durationMs: at.getTime() - w.createdAt.getTime(),
                },
                r.origin,
              ),
            ]
          }),
        )
      })
      this.#d.outbox.notify()
      return { resumed: 0, failed: unfinished.length }
    }
    for (const w of unfinished) {
      void this.#runWithSlot(this.#fromStored(w), false).catch((err: unknown) =>
        this.#d.logger.warn({ err, workflow_id: w.id }, 'resumed workflow did not finish'),
      )
    }
    return { resumed: unfinished.length, failed: 0 }
  }

  async get(id: string) {
    const found = await this.#d.store.get(id)
    if (!found) throw new NotFoundError(`no workflow ${id}`, { workflow_id: id })
    return found
  }

  list(
    filter: { state?: string | undefined; namespace?: string | undefined },
    limit: number,
    cursor?: string,
  ): Promise<WorkflowPage> {
    return this.#d.store.page(filter, limit, cursor)
  }

  /** Stops taking work and waits for the workflows running in this process. */
  async stop(): Promise<void> {
    this.#stopping = true
    while (this.#active.size > 0) await new Promise<void>((resolve) => this.#idle.push(resolve))
  }

  #newRow(r: Runnable, requestEventId: string | null) {
    const { input } = r
    return {
      id: r.id,
      namespace: input.namespace,
      state: PENDING,
      filePath: input.filePath ?? null,
      requestEventId,
      correlationId: r.origin.correlationId && isUuid(r.origin.correlationId) ? r.origin.correlationId : null,
      sessionId: r.origin.sessionId ?? null,
      request: {
        stamp_type: input.stampType,
        file_path: input.filePath ?? null,
        content_type: input.contentType ?? null,
        intelligence_data: input.intelligenceData ?? null,
        intelligence: input.intelligence,
        encoding: input.encoding,
        causation_id: r.origin.causationId ?? null,
      },
      content: input.content,
      owner: this.#d.owner,
    }
  }

  #fromStored(w: UnfinishedWorkflow): Runnable {
    const q = w.request
    return {
      id: w.id,
      state: w.state,
      input: {
        content: w.content,
        namespace: w.namespace,
        stampType: (q['stamp_type'] as WorkflowInput['stampType']) ?? 'lightweight',
        filePath: (q['file_path'] as string | null) ?? undefined,
        contentType: (q['content_type'] as string | null) ?? undefined,
        intelligenceData: (q['intelligence_data'] as Record<string, unknown> | null) ?? undefined,
        intelligence: q['intelligence'] !== false,
        encoding: q['encoding'] === 'base64' ? 'base64' : 'text',
      },
      origin: {
        correlationId: w.correlationId ?? undefined,
        causationId: (q['causation_id'] as string | null) ?? w.requestEventId ?? undefined,
        sessionId: w.sessionId ?? undefined,
      },
      acceptedAt: performance.now() - (Date.now() - w.createdAt.getTime()),
      done: new Map(w.steps.map((s) => [s.step, { status: s.status, output: s.output }])),
    }
  }

  /** Runs the workflow in a running slot: the one it holds already (`holdsSlot`), or one it waits for. */
  async #runWithSlot(r: Runnable, admitted: boolean, holdsSlot = false): Promise<WorkflowOutcome> {
    this.#active.add(r.id)
    try {
      if (!holdsSlot) await this.#d.limiter.acquire(admitted)
      try {
        return await this.#execute(r)
      } finally {
        this.#d.limiter.done()
      }
    } finally {
      this.#active.delete(r.id)
      if (this.#active.size === 0) for (const resolve of this.#idle.splice(0)) resolve()
    }
  }

  async #execute(r: Runnable): Promise<WorkflowOutcome> {
    const { plan, clock } = this.#d
    const now = () => clock.now()
    const { input } = r
    const progress: Progress = {
      finished: [],
      events: [],
      summary: [],
      degraded: [...r.done.values()].some((s) => s.status === 'degraded'),
    }
    const record = <T>(
      name: StampStepName,
      result: StepResult<T>,
      status: StepRecord['status'],
      output: Record<string, unknown>,
      error?: OnexError,
    ) => {
      progress.finished.push({
        workflowId: r.id,
        step: name,
        position: positions[name],
        status,
        attempts: result.attempts,
        startedAt: result.startedAt,
        durationMs: result.durationMs,
        errorCode: error?.code,
        errorMessage: error?.message,
        output,
      })
      progress.events.push(
        this.#d.events.stepCompleted(
          r.id,
          { name, attempts: result.attempts, durationMs: result.durationMs, status },
          r.origin,
        ),
      )
      progress.summary.push({ step: name, status, attempts: result.attempts, durationMs: result.durationMs })
    }
    const fail = (name: StampStepName, result: StepResult<unknown> & { ok: false }) => {
      record(name, result, FAILED, {}, result.error)
      return this.#fail(r, name, result.error, progress)
    }

    if (r.state === PENDING) await this.#starts.submit(r)

    // validate_input
    let validated = r.done.get('validate_input')?.output
    if (!validated) {
      const result = await runStep(plan.validate_input, now, () => validateInput(input))
      if (!result.ok) return fail('validate_input', result)
      validated = { content_type: result.value.fileType.contentType, file_kind: result.value.fileType.kind }
      record('validate_input', result, COMPLETED, validated)
    }

    // onextree_intelligence (optional: a failure degrades the workflow instead of failing it)
    let intelligence = r.done.get('onextree_intelligence')?.output
    if (!intelligence && input.intelligence) {
      const contentHash = this.#d.blake3.hashHex(input.content)
      const result = await runStep(plan.onextree_intelligence, now, (signal) =>
        this.#d.intelligence.analyse(
          { content: input.content, filePath: input.filePath, contentType: input.contentType, contentHash },
          signal,
        ),
      )
      if (result.ok) {
        const answer: Intelligence = result.value
        intelligence = {
          ...answer.data,
          source: answer.source,
          ...(answer.reason ? { degraded_reason: answer.reason } : {}),
        }
        if (answer.degraded) progress.degraded = true
        record('onextree_intelligence', result, answer.degraded ? 'degraded' : COMPLETED, intelligence)
      } else if (plan.onextree_intelligence.optional) {
        progress.degraded = true
        intelligence = { source: 'none', degraded_reason: result.error.message }
        record('onextree_intelligence', result, 'degraded', intelligence, result.error)
      } else return fail('onextree_intelligence', result)
    }

    // hash_generation
    let hashed = r.done.get('hash_generation')?.output as { file_hash: string } | undefined
    if (!hashed) {
      const result = await runStep(plan.hash_generation, now, () => {
        const type = detectFileType({
          bytes: input.content,
          filePath: input.filePath,
          contentType: input.contentType,
        })
        return this.#d.blake3.hashHex(hashableBytes(input.content, type))
      })
      if (!result.ok) return fail('hash_generation', result)
      hashed = { file_hash: result.value }
      record('hash_generation', result, COMPLETED, hashed)
    }

    // stamp_creation: the stamp, its event, and the steps so far commit together
    let stamp = r.done.get('stamp_creation')?.output as StampSummary | undefined
    let stampOutcome: StamperOutcome | null = null
    if (!stamp) {
      const startedAt = now()
      const t0 = performance.now()
      const hash = hashed.file_hash
      const result = await runStep(plan.stamp_creation, now, (_signal, attempt) =>
        this.#stamps.submit({ r, intelligence, hash, attempt, startedAt, t0, progress }),
      )
      if (!result.ok) return fail('stamp_creation', result)
      stampOutcome = result.value
      stamp = stampSummary(result.value)
      progress.summary.push({
        step: 'stamp_creation',
        status: COMPLETED,
        attempts: result.attempts,
        durationMs: result.durationMs,
      })
      progress.finished = []
      progress.events = []
    }

    // event_publishing: the last step, processing → completed and STAMP_WORKFLOW_COMPLETED together
    const stepCount = new Set([...r.done.keys(), ...progress.summary.map((s) => s.step), 'event_publishing'])
      .size
    const t0 = performance.now()
    const done = stamp
    const result = await runStep(plan.event_publishing, now, (_signal, attempt) =>
      this.#finishes.submit({
        kind: 'completed',
        r,
        stamp: done,
        intelligence,
        attempt,
        t0,
        stepCount,
        progress,
      }),
    )
    if (!result.ok) return fail('event_publishing', result)
    progress.summary.push({
      step: 'event_publishing',
      status: COMPLETED,
      attempts: result.attempts,
      durationMs: result.durationMs,
    })
    return {
      workflowId: r.id,
      state: COMPLETED,
      namespace: input.namespace,
      degraded: progress.degraded,
      durationMs: result.value,
      steps: progress.summary,
      stamp: stampOutcome,
      error: null,
    }
  }

  async #fail(
    r: Runnable,
    stepName: StampStepName,
    error: OnexError,
    progress: Progress,
  ): Promise<WorkflowOutcome> {
    const durationMs = await this.#finishes.submit({ kind: 'failed', r, stepName, error, progress })
    return {
      workflowId: r.id,
      state: FAILED,
      namespace: r.input.namespace,
      degraded: progress.degraded,
      durationMs,
      steps: progress.summary,
      stamp: null,
      error: { failedStep: stepName, code: error.code, message: error.message },
    }
  }

  /**
   * Accepted workflows: each inserted pending, or, when it starts at once, inserted processing with
   * its pending → processing transition and STAMP_WORKFLOW_STARTED (what #writeStarts writes later
   * for a workflow that waited), so that a workflow that starts at once costs no update of its row.
   */
  async #writeAccepts(tx: Queryable, group: Accept[]): Promise<void> {
    const { store, fsm, events, outbox } = this.#d
    const move = fsm.move(PENDING, PROCESSING)
    const at = this.#d.clock.now()
    const started = group.filter((a) => a.starts).map((a) => a.r)
    await store.insert(
      group.map(({ r, starts }) =>
        starts ? { ...this.#newRow(r, null), state: PROCESSING, startedAt: at } : this.#newRow(r, null),
      ),
      tx,
    )
    if (started.length === 0) return
    await store.insertTransitions(
      tx,
      started.map((r) => ({ id: r.id, change: { ...move, at } })),
    )
    await outbox.append(
      tx,
      started.flatMap((r) => [
        events.transition(r.id, move, at, r.origin),
        events.started(r.id, { namespace: r.input.namespace, filePath: r.input.filePath ?? null }, r.origin),
      ]),
    )
  }

  /** pending → processing and STAMP_WORKFLOW_STARTED, for every workflow starting now. */
  async #writeStarts(tx: Queryable, group: Runnable[]): Promise<null[]> {
    const { store, fsm, events, outbox } = this.#d
    const move = fsm.move(PENDING, PROCESSING)
    const at = this.#d.clock.now()
    const moved = await store.move(
      tx,
      group.map((r) => ({ id: r.id, change: { ...move, at }, starts: true, owner: this.#d.owner })),
    )
    const lost = group.filter((r) => !moved.has(r.id))
    if (lost.length > 0)
      throw new OnexError('ONEX_CORE_030_CONFLICT', `workflow ${lost[0]!.id} was not pending`)
    await outbox.append(
      tx,
      group.flatMap((r) => [
        events.transition(r.id, move, at, r.origin),
        events.started(r.id, { namespace: r.input.namespace, filePath: r.input.filePath ?? null }, r.origin),
      ]),
    )
    return group.map(() => null)
  }

  /** Each workflow's stamp (with its METADATA_STAMP_CREATED), then the steps so far of all and their events. */
  async #writeStamps(tx: Queryable, group: StampWrite[]): Promise<StamperOutcome[]> {
    const { store, events, outbox, stamper } = this.#d
    const steps: FinishedStep[] = []
    const messages: OutgoingMessage[] = []
    const outcomes = await stamper.stampMany(
      group.map((w) => {
        const { input, origin } = w.r
        return {
          request: {
            content: input.content,
            namespace: input.namespace,
            stampType: input.stampType,
            filePath: input.filePath,
            contentType: input.contentType,
            intelligenceData:
              w.intelligence || input.intelligenceData
                ? { ...w.intelligence, ...input.intelligenceData }
                : undefined,
          },
          context: { correlationId: origin.correlationId, sessionId: origin.sessionId },
        }
      }),
      tx,
    )
    for (const [i, w] of group.entries()) {
      const outcome = outcomes[i]!
      if (outcome.fileHash !== w.hash)
        throw new OnexError(
          'ONEX_CORE_001_INTERNAL_ERROR',
          `stamp_creation stored hash ${outcome.fileHash}, hash_generation computed ${w.hash}`,
        )
      const durationMs = roundMs(performance.now() - w.t0)
      steps.push(...w.progress.finished, {
        workflowId: w.r.id,
        step: 'stamp_creation',
        position: positions.stamp_creation,
        status: COMPLETED,
        attempts: w.attempt,
        startedAt: w.startedAt,
        durationMs,
        output: { ...stampSummary(outcome) },
      })
      messages.push(
        ...w.progress.events,
        events.stepCompleted(
          w.r.id,
          { name: 'stamp_creation', attempts: w.attempt, durationMs, status: COMPLETED },
          w.r.origin,
        ),
      )
    }
    await store.insertSteps(tx, steps)
    await outbox.append(tx, messages)
    return outcomes
  }

  /**
   * Terminal moves: processing → completed with event_publishing's row and STAMP_WORKFLOW_COMPLETED, or
   * processing → failed with the steps that finished, the failed one and STAMP_WORKFLOW_FAILED.
   * Resolves each workflow's duration.
   */
  async #writeFinishes(tx: Queryable, group: FinishWrite[]): Promise<number[]> {
    const { store, events, outbox, fsm } = this.#d
    const at = this.#d.clock.now()
    const steps: FinishedStep[] = []
    const moves: Move[] = []
    const messages: OutgoingMessage[] = []
    const durations: number[] = []
    for (const f of group) {
      const { r, progress } = f
      const durationMs = roundMs(performance.now() - r.acceptedAt)
      durations.push(durationMs)
      if (f.kind === 'failed') {
        const move = fsm.move(PROCESSING, FAILED)
        steps.push(...progress.finished)
        moves.push({
          id: r.id,
          change: { ...move, at },
          terminal: true,
          outcome: {
            degraded: progress.degraded,
            failedStep: f.stepName,
            errorCode: f.error.code,
            errorMessage: f.error.message,
          },
        })
        messages.push(
          ...progress.events,
          events.transition(r.id, move, at, r.origin),
          events.failed(
            r.id,
            {
              namespace: r.input.namespace,
              failedStep: f.stepName,
              errorCode: f.error.code,
              errorMessage: f.error.message,
              durationMs,
            },
            r.origin,
          ),
        )
        continue
      }
      const move = fsm.move(PROCESSING, COMPLETED)
      const stepMs = roundMs(performance.now() - f.t0)
      steps.push({
        workflowId: r.id,
        step: 'event_publishing',
        position: positions.event_publishing,
        status: COMPLETED,
        attempts: f.attempt,
        startedAt: at,
        durationMs: stepMs,
        output: {},
      })
      moves.push({
        id: r.id,
        change: { ...move, at },
        terminal: true,
        outcome: {
          fileHash: f.stamp.file_hash,
          degraded: progress.degraded,
          result: { ...f.stamp, intelligence: f.intelligence ?? null },
        },
      })
      messages.push(
        events.stepCompleted(
          r.id,
          { name: 'event_publishing', attempts: f.attempt, durationMs: stepMs, status: COMPLETED },
          r.origin,
        ),
        events.transition(r.id, move, at, r.origin),
        events.completed(
          r.id,
          {
            namespace: r.input.namespace,
            fileHash: f.stamp.file_hash,
            filePath: r.input.filePath ?? null,
            contentType: f.stamp.content_type,
            fileSize: f.stamp.file_size,
            stampType: f.stamp.stamp_type,
            degraded: progress.degraded,
            durationMs,
            stepCount: f.stepCount,
          },
          r.origin,
        ),
      )
    }
    await store.insertSteps(tx, steps)
    const moved = await store.move(tx, moves)
    const lost = group.filter((f) => !moved.has(f.r.id))
    if (lost.length > 0)
      throw new OnexError('ONEX_CORE_030_CONFLICT', `workflow ${lost[0]!.r.id} is no longer processing`)
    await outbox.append(tx, messages)
    return durations
  }
}

/** A workflow to accept, and whether it starts in the same transaction (it holds a running slot). */
interface Accept {
  r: Runnable
  starts: boolean
}

/** What a workflow has done since its last durable write: written with the next one. */
interface Progress {
  finished: FinishedStep[]
  events: OutgoingMessage[]
  summary: WorkflowOutcome['steps']
  degraded: boolean
}

interface StampWrite {
  r: Runnable
  intelligence: Record<string, unknown> | undefined
  hash: string
  attempt: number
  startedAt: Date
  t0: number
  progress: Progress
}

type FinishWrite =
  | {
      kind: 'completed'
      r: Runnable
      stamp: StampSummary
      intelligence: Record<string, unknown> | undefined
      attempt: number
      t0: number
      stepCount: number
      progress: Progress
    }
  | { kind: 'failed'; r: Runnable; stepName: StampStepName; error: OnexError; progress: Progress }

const positions: Record<StampStepName, number> = {
  validate_input: 1,
  onextree_intelligence: 2,
  hash_generation: 3,
  stamp_creation: 4,
  event_publishing: 5,
}

/** What a stamp_creation step keeps (and a resumed workflow reads back): the stamp without its content. */
interface StampSummary {
  file_hash: string
  namespace: string
  stamp_type: string
  content_type: string
  file_size: number
  file_kind: string
  created: boolean
  record_id: string
  uid: string
}

function stampSummary(o: StamperOutcome): StampSummary {
  return {
    file_hash: o.fileHash,
    namespace: o.namespace,
    stamp_type: o.stampType,
    content_type: o.contentType,
    file_size: o.fileSize,
    file_kind: o.fileKind,
    created: o.created,
    record_id: o.recordId,
    uid: o.uid,
  }
}

function isUuid(value: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)
}
