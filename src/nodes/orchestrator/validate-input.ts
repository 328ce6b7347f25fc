import { InvalidInputError } from '../../core/errors.ts'
import { detectFileType, type FileType } from '../../core/stamp/index.ts'
import type { StamperRequest } from '../../ports/stamper.ts'

/** One stamp workflow's input: a POST /stamp body, its content already decoded to bytes. */
export interface WorkflowInput extends StamperRequest {
  /** Run the onextree_intelligence step (default true). */
  intelligence: boolean
  /** How the content came (the answer's stamped content comes back the same way). */
  encoding: 'text' | 'base64'
}

export interface ValidatedInput {
  fileType: FileType
  size: number
}

/** The size a workflow accepts; larger content belongs to POST /stamp's streaming cousin, the CLI. */
const maxContentBytes = 64 * 1024 * 1024

/**
 * The validate_input step: what the HTTP schema cannot see. The content must fit, a content type given
 * must be a MIME type, and the content's type is detected (what the later steps stamp it as).
 */
export function validateInput(input: WorkflowInput): ValidatedInput {
  if (input.content.byteLength > maxContentBytes)
    throw new InvalidInputError(`content is larger than ${maxContentBytes} bytes`, [
      { field: 'content', message: `must be at most ${maxContentBytes} bytes` },
    ])
  if (input.contentType !== undefined && !/^[\w.+-]+\/[\w.+-]+/.test(input.contentType))
    throw new InvalidInputError('content_type is not a MIME type', [
      { field: 'content_type', message: 'must be a MIME type such as text/plain' },
    ])
  const fileType = detectFileType({
    bytes: input.content,
    filePath: input.filePath,
    contentType: input.contentType,
  })
  return { fileType, size: input.content.byteLength }
}
