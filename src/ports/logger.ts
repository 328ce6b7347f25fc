/** The slice of a structured logger that nodes use (pino satisfies it). */
export interface NodeLogger {
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
}
