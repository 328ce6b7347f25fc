import type { HealthStatus, NodeType } from './payloads.ts'

/** What a hosted node says about itself; the runtime turns it into NODE_INTROSPECTION and heartbeats. */
export interface NodeDescription {
  nodeType: NodeType
  /** registry, adapter, bridge, gateway... */
  nodeRole?: string
  capabilities: Record<string, unknown>
  metadata?: Record<string, unknown>
}

/** A node that announces itself: its description, its changes, its health. */
export interface SelfDescribing {
  describe(): NodeDescription
  /** Calls `listener` whenever describe() would return something new; returns the unsubscribe. */
  onDescriptionChange?(listener: () => void): () => void
  /** The health its heartbeats report. @default 'healthy' */
  health?(): HealthStatus
}
