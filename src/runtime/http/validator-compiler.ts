import type { FastifySchemaCompiler } from 'fastify'
import type { TSchema } from 'typebox'
import { Compile } from 'typebox/compile'

/**
 * Route schemas are checked by TypeBox's compiled validators, the same engine as every other edge
 * (core/schema.ts). Bodies are taken as sent: a number where a string is expected is an error, not a
 * string, and an unknown field is reported, not silently dropped. Query strings and path parameters
 * are text by nature, so they are converted to the schema's types (and get their defaults) first.
 * Failures carry the validator's errors as `validation`, which the error handler turns into issues.
 */
export const typeboxValidatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const validator = Compile(schema)
  const fromText = httpPart === 'querystring' || httpPart === 'params' || httpPart === 'headers'
  return (data: unknown) => {
    const value = fromText ? validator.Convert(validator.Default(data)) : data
    if (validator.Check(value)) return { value }
    const validation = validator.Errors(value)
    return { error: Object.assign(new Error(validation[0]?.message ?? 'invalid'), { validation }) }
  }
}
