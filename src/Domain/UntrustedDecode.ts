/**
 * `Schema.decodeUnknownEither` for input from outside the process's own code (a client's frame or body, a worker's
 * message), where Effect's decode can throw instead of refusing: a union looks its members up by their tag, and an
 * object there whose `toString` is not callable (`{"_tag":{"toString":false}}`) cannot be a key. A throw is
 * `undefined` here, a refusal like any other: uncaught it killed a connection's inbox, failed an HTTP request with 500
 * and was an uncaught exception on the main thread for a worker's message.
 */
import { type Either, type ParseResult, Schema, type SchemaAST } from "effect"

export const decodeUntrusted = <A, I>(
  schema: Schema.Schema<A, I>,
  options?: SchemaAST.ParseOptions
): (input: unknown) => Either.Either<A, ParseResult.ParseError> | undefined => {
  const decode = Schema.decodeUnknownEither(schema, options)
  return (input) => {
    try {
      return decode(input)
    } catch {
      return undefined
    }
  }
}
