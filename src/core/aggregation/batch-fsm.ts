import type { NodeContract } from '../contracts/schema.ts'
import { ContractError } from '../errors.ts'

/**
 * The reducer's FSM of one aggregation batch, from its contract's `fsm` (collecting → aggregating →
 * persisting → committed | failed). Moves only along declared transitions, by trigger; records each
 * move with its time, so the batch's events can say where it went.
 */

type Fsm = NonNullable<NodeContract['fsm']>

/** The triggers the reducer fires; its contract must declare a transition for each. */
export const batchTriggers = ['window_closed', 'aggregated', 'persisted', 'fail'] as const
export type BatchTrigger = (typeof batchTriggers)[number]

export interface Transition {
  from: string
  to: string
  trigger: string
  at: number
}

export class InvalidTransitionError extends Error {
  constructor(state: string, trigger: string) {
    super(`no transition from ${state} on ${trigger}`)
    this.name = 'InvalidTransitionError'
  }
}

/** Checks, once at start, that the contract's FSM has every trigger the reducer fires. */
export function checkBatchFsm(contract: NodeContract): Fsm {
  const fsm = contract.fsm
  if (!fsm) throw new ContractError(contract.name, [{ field: 'fsm', message: 'is required for the reducer' }])
  const declared = new Set(fsm.transitions.map((t) => t.trigger))
  const missing = batchTriggers.filter((t) => !declared.has(t))
  if (missing.length > 0)
    throw new ContractError(contract.name, [
      { field: 'fsm.transitions', message: `has no transition on ${missing.join(', ')}` },
    ])
  return fsm
}

export class BatchFsm {
  readonly #fsm: Fsm
  #state: string
  readonly history: Transition[] = []

  constructor(fsm: Fsm) {
    this.#fsm = fsm
    this.#state = fsm.initial_state
  }

  get state(): string {
    return this.#state
  }

  get terminal(): boolean {
    return this.#fsm.terminal_states.includes(this.#state)
  }

  /** Moves on `trigger` from the current state; throws InvalidTransitionError when none is declared. */
  fire(trigger: BatchTrigger, at: number): string {
    const t = this.#fsm.transitions.find((x) => x.from === this.#state && x.trigger === trigger)
    if (!t) throw new InvalidTransitionError(this.#state, trigger)
    this.history.push({ from: this.#state, to: t.to, trigger, at })
    this.#state = t.to
    return t.to
  }

  /** Whether `trigger` is declared from the current state. */
  can(trigger: BatchTrigger): boolean {
    return this.#fsm.transitions.some((x) => x.from === this.#state && x.trigger === trigger)
  }
}
