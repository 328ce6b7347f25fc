import { MultiBar, Presets } from 'cli-progress'

/** Files at which a progress bar starts to help rather than flicker. */
const BAR_THRESHOLD = 20

export interface FileReporter {
  /** One result line; above the bar when there is one. */
  line(text: string): void
  /** One file done. */
  tick(): void
  stop(): void
}

/**
 * Result lines on `out`, and a progress bar on `err` while many files are worked through, drawn only
 * when `err` is a terminal. When `out` is the same terminal the lines are printed through the bar so
 * that neither garbles the other; when `out` is redirected they go there untouched.
 */
export function fileReporter(
  total: number,
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): FileReporter {
  const errTty = (err as NodeJS.WriteStream).isTTY === true
  if (!errTty || total < BAR_THRESHOLD) {
    return { line: (text) => void out.write(`${text}\n`), tick() {}, stop() {} }
  }
  const multibar = new MultiBar(
    {
      stream: err as NodeJS.WriteStream,
      format: ' {bar} {value}/{total} files | {percentage}% | eta {eta_formatted}',
      hideCursor: true,
      clearOnComplete: true,
    },
    Presets.shades_classic,
  )
  const bar = multibar.create(total, 0)
  const outTty = (out as NodeJS.WriteStream).isTTY === true
  return {
    line: (text) => (outTty ? multibar.log(`${text}\n`) : void out.write(`${text}\n`)),
    tick: () => bar.increment(),
    stop: () => multibar.stop(),
  }
}
