import type { NodeContract, WorkflowStep } from '../contracts/schema.ts'
import { ContractError } from '../errors.ts'

/** The steps of a stamp workflow, in order: what the orchestrator knows how to run. */
export const stampWorkflowSteps = [
  'validate_input',
  'onextree_intelligence',
  'hash_generation',
  'stamp_creation',
  'event_publishing',
] as const

export type StampStepName = (typeof stampWorkflowSteps)[number]

/**
 * The contract's step settings (timeout, retry policy, optional) for each step the orchestrator runs,
 * in the orchestrator's order. A contract that lacks one of them, or names a step nobody runs, fails
 * at start naming the field: the steps and their limits come from the contract, never from code.
 */
export function stampWorkflowPlan(contract: NodeContract): Record<StampStepName, WorkflowStep> {
  const declared = contract.workflow_coordination?.workflow_steps ?? []
  const byName = new Map(declared.map((s) => [s.name, s]))
  const issues = [
    ...stampWorkflowSteps
      .filter((name) => !byName.has(name))
      .map((name) => ({ field: 'workflow_coordination.workflow_steps', message: `has no step ${name}` })),
    ...declared
      .map((s, i) => ({ s, i }))
      .filter(({ s }) => !(stampWorkflowSteps as readonly string[]).includes(s.name))
      .map(({ s, i }) => ({
        field: `workflow_coordination.workflow_steps.${i}.name`,
        message: `'${s.name}' is not a step this orchestrator runs (${stampWorkflowSteps.join(', ')})`,
      })),
  ]
  if (issues.length > 0) throw new ContractError(contract.name, issues)
  return Object.fromEntries(stampWorkflowSteps.map((name) => [name, byName.get(name)!])) as Record<
    StampStepName,
    WorkflowStep
  >
}
