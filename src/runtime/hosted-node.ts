import type { FastifyPluginAsync } from 'fastify'
import type { SelfDescribing } from '../core/registry/description.ts'

/**
 * What the runtime needs of a node it hosts: its HTTP face, its lifecycle, and what it announces to
 * the registry (NODE_INTROSPECTION; without `describe`, the runtime announces it as an effect node
 * with no capabilities).
 */
export interface HostedNode extends Partial<SelfDescribing> {
  name: string
  routes: FastifyPluginAsync
  /** After migrations, before the server listens. */
  start?(): Promise<void>
  /** After the server stopped accepting and drained; flush what is buffered. */
  stop?(): Promise<void>
}
