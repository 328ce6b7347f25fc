import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { readmePath, renderReadme } from '../../../scripts/readme-tables.ts'

test('the README configuration and error tables match the code (npm run docs regenerates them)', () => {
  const readme = readFileSync(readmePath, 'utf8')
  assert.equal(readme, renderReadme(readme))
})

test('the README states the two commands a newcomer needs and the full test command', () => {
  const readme = readFileSync(readmePath, 'utf8')
  assert.match(readme, /npm install && npm start/)
  assert.match(readme, /http:\/\/127\.0\.0\.1:8053/)
  assert.match(readme, /npm test\b/)
  assert.match(readme, /npm run test:all/)
})
