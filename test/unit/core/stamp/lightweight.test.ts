import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  type CommentStyle,
  commentStyles,
  DEFAULT_NAMESPACE,
  formatLightweight,
  type LightweightStamp,
  parseLightweight,
} from '../../../../src/core/stamp/index.ts'
import { TS, UID } from './helpers.ts'

const HASH = 'ab'.repeat(32)
const stampIn = (comment: CommentStyle): LightweightStamp => ({
  uid: UID,
  hash: HASH,
  timestamp: TS,
  namespace: 'onex.tools',
  comment,
})

describe('lightweight stamp line', () => {
  it('formats the ONEX line in each comment syntax', () => {
    const fields = `ONEX:uid=${UID},hash=${HASH},ts=${TS},ns=onex.tools`
    assert.equal(formatLightweight(stampIn('#')), `# ${fields}`)
    assert.equal(formatLightweight(stampIn('//')), `// ${fields}`)
    assert.equal(formatLightweight(stampIn('--')), `-- ${fields}`)
    assert.equal(formatLightweight(stampIn('<!-- -->')), `<!-- ${fields} -->`)
    assert.equal(formatLightweight(stampIn('/* */')), `/* ${fields} */`)
  })

  for (const comment of commentStyles) {
    it(`parses back what it formats in ${comment}`, () => {
      assert.deepEqual(parseLightweight(formatLightweight(stampIn(comment))), stampIn(comment))
    })
  }

  it('reads a stamp without ns as the default namespace', () => {
    const stamp = parseLightweight(`# ONEX:uid=${UID},hash=${HASH},ts=${TS}`)
    assert.equal(stamp?.namespace, DEFAULT_NAMESPACE)
  })

  it('tolerates spacing and trailing whitespace, and ignores unknown keys', () => {
    assert.equal(parseLightweight(`#ONEX:uid=${UID},hash=${HASH},ts=${TS}  `)?.uid, UID)
    assert.equal(parseLightweight(`<!--ONEX:uid=${UID},hash=${HASH},ts=${TS}-->`)?.comment, '<!-- -->')
    assert.equal(parseLightweight(`# ONEX:uid=${UID},hash=${HASH},ts=${TS},v=2`)?.hash, HASH)
  })

  it('is not a stamp when a field is missing, malformed or repeated, or the comment is unclosed', () => {
    for (const line of [
      `# ONEX:uid=${UID},hash=${HASH}`,
      `# ONEX:uid=not-a-uuid,hash=${HASH},ts=${TS}`,
      `# ONEX:uid=${UID},hash=${HASH.toUpperCase()},ts=${TS}`,
      `# ONEX:uid=${UID},hash=${HASH},ts=yesterday`,
      `# ONEX:uid=${UID},hash=${HASH},ts=${TS},ns=other.ns`,
      `# ONEX:uid=${UID},uid=${UID},hash=${HASH},ts=${TS}`,
      `<!-- ONEX:uid=${UID},hash=${HASH},ts=${TS}`,
      `/* ONEX:uid=${UID},hash=${HASH},ts=${TS} -->`,
      `x = 1 # ONEX:uid=${UID},hash=${HASH},ts=${TS}`,
      `; ONEX:uid=${UID},hash=${HASH},ts=${TS}`,
    ]) {
      assert.equal(parseLightweight(line), null, line)
    }
  })
})
