export interface DlqAlarmOptions {
  /** More dead letters than this within the window raise an alert. @default 10 */
  threshold: number
  /** @default 60000 */
  windowMs: number
}

export interface DlqVerdict {
  /** Dead letters of this topic within the window, this one included. */
  count: number
  /** Raise an alert now (at most once per window and topic). */
  alert: boolean
}

/**
 * Threshold alerting on dead letters (the seeds' DLQ monitor: "> 10 failures"): per dead-letter
 * topic, a sliding window of arrival times. When more than `threshold` arrived within `windowMs` it
 * says alert, then stays quiet for that topic until a window has passed, so that a flood of dead
 * letters raises one alert per window, not one per message.
 */
export class DlqAlarm {
  #opts: DlqAlarmOptions
  /** Arrival times per topic, oldest first; those before `head` have left the window. */
  #arrivals = new Map<string, { times: number[]; head: number }>()
  #quietUntil = new Map<string, number>()

  constructor(options: DlqAlarmOptions) {
    if (!(options.threshold >= 0) || !(options.windowMs > 0))
      throw new RangeError('threshold must be >= 0 and windowMs > 0')
    this.#opts = options
  }

  observe(topic: string, nowMs: number): DlqVerdict {
    const window = this.#arrivals.get(topic) ?? { times: [], head: 0 }
    this.#arrivals.set(topic, window)
    window.times.push(nowMs)
    const from = nowMs - this.#opts.windowMs
    while ((window.times[window.head] ?? nowMs) <= from) window.head++
    if (window.head > 1024 && window.head * 2 > window.times.length) {
      window.times = window.times.slice(window.head)
      window.head = 0
    }
    const count = window.times.length - window.head
    const alert = count > this.#opts.threshold && nowMs >= (this.#quietUntil.get(topic) ?? -Infinity)
    if (alert) this.#quietUntil.set(topic, nowMs + this.#opts.windowMs)
    return { count, alert }
  }
}
