// autocannon 9 ships no types: just what bench/http.ts uses of its programmatic API (its README, "API").
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events'

  export interface AutocannonRequest {
    method?: string
    path?: string
    headers?: Record<string, string>
    body?: string | Buffer
    /** Called before each request is sent; returns the request to send. */
    setupRequest?: (request: AutocannonRequest, context: Record<string, unknown>) => AutocannonRequest
  }

  export interface AutocannonOptions extends AutocannonRequest {
    url: string
    /** @default 10 */
    connections?: number
    /** Seconds. @default 10 */
    duration?: number
    /** @default 1 */
    pipelining?: number
    /** Seconds before a request counts as timed out (and as an error). @default 10 */
    timeout?: number
    requests?: AutocannonRequest[]
  }

  /** Percentiles of an HDR histogram: integers (latency in whole ms), p50, p90, p97_5, p99, ... */
  export interface AutocannonStats {
    average: number
    mean: number
    stddev: number
    min: number
    max: number
    total: number
    p50: number
    p90: number
    p97_5: number
    p99: number
  }

  export interface AutocannonResult {
    /** Responses per one-second sample. */
    requests: AutocannonStats & { sent: number }
    latency: AutocannonStats
    duration: number
    /** Connection errors and timeouts. */
    errors: number
    timeouts: number
    /** Responses with a status other than 2xx. */
    non2xx: number
    resets: number
    '2xx': number
    statusCodeStats: Record<string, { count: number }>
  }

  /** Emits 'response' (client, statusCode, bytes, responseTimeMs) for every response. */
  export interface AutocannonInstance extends EventEmitter, PromiseLike<AutocannonResult> {
    stop(): void
  }

  export default function autocannon(options: AutocannonOptions): AutocannonInstance
}
