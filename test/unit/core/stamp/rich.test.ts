import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  type CommentStyle,
  commentStyles,
  formatRichBlock,
  parseRichBlock,
  type StampDocument,
} from '../../../../src/core/stamp/index.ts'
import { TS, UID } from './helpers.ts'

const HASH = 'cd'.repeat(32)
const documentFor = (file_path: string | null = 'src/app.ts'): StampDocument => ({
  uid: UID,
  hash: HASH,
  timestamp: TS,
  protocol_version: '0.1',
  file_path,
  file_size: 42,
  content_type: 'text/x-typescript',
  namespace: 'omninode.services.metadata',
  integrity: { algorithm: 'BLAKE3', hash: HASH },
})

describe('rich stamp block', () => {
  it('writes one `key: JSON` line per field between the markers, line comments prefixing each line', () => {
    assert.deepEqual(formatRichBlock(documentFor(), '#'), [
      '# ONEX_METADATA_START',
      `# uid: "${UID}"`,
      `# hash: "${HASH}"`,
      `# timestamp: "${TS}"`,
      '# protocol_version: "0.1"',
      '# file_path: "src/app.ts"',
      '# file_size: 42',
      '# content_type: "text/x-typescript"',
      '# namespace: "omninode.services.metadata"',
      `# integrity: {"algorithm":"BLAKE3","hash":"${HASH}"}`,
      '# ONEX_METADATA_END',
    ])
  })

  it('wraps the whole block in one comment for <!-- --> and /* */', () => {
    const html = formatRichBlock(documentFor(), '<!-- -->')
    assert.equal(html[0], '<!-- ONEX_METADATA_START')
    assert.equal(html[1], `uid: "${UID}"`)
    assert.equal(html.at(-1), 'ONEX_METADATA_END -->')
    const css = formatRichBlock(documentFor(), '/* */')
    assert.equal(css[0], '/* ONEX_METADATA_START')
    assert.equal(css.at(-1), 'ONEX_METADATA_END */')
  })

  for (const comment of commentStyles) {
    it(`parses back what it formats in ${comment}`, () => {
      for (const document of [documentFor(), documentFor(null)]) {
        assert.deepEqual(parseRichBlock(formatRichBlock(document, comment)), { document, comment })
      }
    })
  }

  it('escapes values so that they cannot close the comment, and still round-trips', () => {
    const tricky = documentFor('a--b/--->x*/y\n"q"\\z/ü')
    const cases: Array<[CommentStyle, string]> = [
      ['<!-- -->', '--'],
      ['/* */', '*/'],
    ]
    for (const [comment, closer] of cases) {
      const lines = formatRichBlock(tricky, comment)
      for (const line of lines.slice(1, -1)) assert.ok(!line.includes(closer), `${comment}: ${line}`)
      assert.deepEqual(parseRichBlock(lines)?.document, tricky)
    }
  })

  it('ignores unknown keys when reading', () => {
    const lines = formatRichBlock(documentFor(), '#')
    lines.splice(2, 0, '# tool: "future"')
    assert.deepEqual(parseRichBlock(lines)?.document, documentFor())
  })

  it('is not a block when markers disagree, a line is foreign, a key repeats or a field is malformed', () => {
    const good = formatRichBlock(documentFor(), '//')
    const broken: string[][] = [
      [...good.slice(0, -1), '# ONEX_METADATA_END'],
      [...good.slice(0, 3), 'uid: "no prefix"', ...good.slice(3)],
      [...good.slice(0, 2), good[1]!, ...good.slice(2)],
      good.map((l) => l.replace('file_size: 42', 'file_size: "42"')),
      good.map((l) => l.replace(`"${UID}"`, '"not-a-uuid"')),
      good.map((l) => l.replace('"0.1"', '0.1,')),
      good.filter((l) => !l.includes('integrity')),
      good.slice(1),
    ]
    for (const lines of broken) assert.equal(parseRichBlock(lines), null, lines.join('\n'))
  })
})
