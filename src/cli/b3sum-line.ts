/**
 * One line of `b3sum` output: `<64 hex>  <name>\n`. Like b3sum (and md5sum), a name holding a
 * backslash or a newline is written with `\` as `\\` and newline as `\n`, and the line starts with
 * `\`, so that `b3sum --check` reads every name back unambiguously. Nothing else is escaped (b3sum 1.x).
 */
export function b3sumLine(hex: string, name: string): string {
  if (!name.includes('\\') && !name.includes('\n')) return `${hex}  ${name}\n`
  return `\\${hex}  ${name.replaceAll('\\', '\\\\').replaceAll('\n', '\\n')}\n`
}
