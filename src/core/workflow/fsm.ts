import type { NodeContract } from '../contracts/schema.ts'
import { ContractError } from '../errors.ts'

/** One allowed move of the workflow FSM, as the contract declares it. */
export interface Transition {
  from: string
  to: string
  trigger: string
}

/**
 * The workflow state machine of an ORCHESTRATOR contract (`fsm`): which states exist, which moves are
 * allowed and what triggers them. Pure: it answers questions, the orchestrator persists the moves.
 * The orchestrator drives it through the states it needs (`pending`, `processing`, `completed`,
 * `failed`); a contract without one of them, or without a move between them, fails at start.
 */
export class WorkflowFsm {
  readonly initial: string
  readonly #terminal: ReadonlySet<string>
  readonly #moves: ReadonlyMap<string, Transition>

  constructor(contract: NodeContract) {
    const fsm = contract.fsm
    if (!fsm) throw new ContractError(contract.name, [{ field: 'fsm', message: 'is required' }])
    this.initial = fsm.initial_state
    this.#terminal = new Set(fsm.terminal_states)
    this.#moves = new Map(
      fsm.transitions.map((t) => [
        `${t.from}->${t.to}`,
        { from: t.from, to: t.to, trigger: t.trigger ?? t.to },
      ]),
    )
  }

  /** Fails at start when the contract lacks a move the orchestrator makes. */
  require(moves: ReadonlyArray<readonly [string, string]>, contractName: string): void {
    const missing = moves.filter(([from, to]) => !this.#moves.has(`${from}->${to}`))
    if (missing.length > 0)
      throw new ContractError(
        contractName,
        missing.map(([from, to]) => ({ field: 'fsm.transitions', message: `has no ${from} → ${to}` })),
      )
  }

  /** The move from `from` to `to`; throws when the contract does not allow it (a bug, not an input error). */
  move(from: string, to: string): Transition {
    const t = this.#moves.get(`${from}->${to}`)
    if (!t) throw new Error(`workflow FSM: ${from} → ${to} is not a transition of the contract`)
    return t
  }

  isTerminal(state: string): boolean {
    return this.#terminal.has(state)
  }
}
