// Used by kafka.sh: waits until the broker at argv[2] answers a metadata request that lists a broker
// (the broker is registered and unfenced), or the JVM argv[4] dies, or argv[3] ms pass. Exit 0 when ready.
import { Admin } from '@platformatic/kafka'

const [broker, budget, pid] = process.argv.slice(2)
if (!broker || !budget || !pid) {
  process.stderr.write('usage: kafka-ready.ts HOST:PORT TIMEOUT_MS PID\n')
  process.exit(2)
}
const deadline = Date.now() + Number(budget)
let last = 'no answer yet'

function alive(): boolean {
  try {
    process.kill(Number(pid), 0)
    return true
  } catch {
    return false
  }
}

while (Date.now() < deadline) {
  if (!alive()) {
    process.stderr.write(`the broker (pid ${pid}) exited\n`)
    process.exit(1)
  }
  const admin = new Admin({
    clientId: 'omninode-kafka-ready',
    bootstrapBrokers: [broker],
    retries: 0,
    connectTimeout: 1000,
    requestTimeout: 2000,
  })
  try {
    const metadata = await admin.metadata({ topics: [], forceUpdate: true })
    if (metadata.brokers.size > 0) process.exit(0)
    last = 'metadata lists no broker yet'
  } catch (error) {
    last = (error as Error).message
  } finally {
    await admin.close().catch(() => undefined)
  }
  await new Promise((resolve) => setTimeout(resolve, 200))
}
process.stderr.write(`not ready after ${budget} ms: ${last}\n`)
process.exit(1)
