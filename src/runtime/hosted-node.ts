import type { FastifyPluginAsync } from 'fastify'

/** What the runtime needs of a node it hosts: its HTTP face and its lifecycle. */
export interface HostedNode {
  name: string
  routes: FastifyPluginAsync
  /** After migrations, before the server listens. */
  start?(): Promise<void>
  /** After the server stopped accepting and drained; flush what is buffered. */
  stop?(): Promise<void>
}
