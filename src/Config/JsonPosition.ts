/**
 * Where a JSON text stops being valid. `JSON.parse` on Node 20 often reports no position at all
 * ("Unexpected token '}', ... is not valid JSON"), so when it fails the loader re-reads the text
 * with this small scanner of the same grammar to tell the user a line and column.
 */

export interface JsonSyntaxError {
  /** 1-based. */
  readonly line: number
  /** 1-based, in UTF-16 code units. */
  readonly column: number
  readonly message: string
}

class Stop {
  constructor(readonly offset: number, readonly message: string) {}
}

const numberPattern = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y

const describe = (char: string | undefined): string => char === undefined ? "end of file" : JSON.stringify(char)

/** The first syntax error of `text`, or undefined when it is valid JSON. */
export const findJsonSyntaxError = (text: string): JsonSyntaxError | undefined => {
  let pos = 0
  const stop = (message: string): never => {
    throw new Stop(pos, message)
  }
  const skipWhitespace = () => {
    while (pos < text.length && " \t\n\r".includes(text.charAt(pos))) pos++
  }
  const expect = (char: string, what: string) => {
    skipWhitespace()
    if (text[pos] !== char) stop(`expected ${what}, found ${describe(text[pos])}`)
    pos++
  }
  const string = () => {
    pos++ // opening quote
    for (;;) {
      const char = text[pos]
      if (char === undefined) return stop("unterminated string")
      if (char === "\"") return void pos++
      if (char < " ") return stop("control character in string (escape it)")
      if (char === "\\") {
        const escape = text[pos + 1]
        if (escape === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(pos + 2, pos + 6))) return stop("bad \\u escape in string")
          pos += 6
        } else if (escape !== undefined && "\"\\/bfnrt".includes(escape)) {
          pos += 2
        } else {
          return stop("bad escape in string")
        }
      } else {
        pos++
      }
    }
  }
  const value = (): void => {
    skipWhitespace()
    const char = text[pos]
    switch (char) {
      case "{": {
        pos++
        skipWhitespace()
        if (text[pos] === "}") return void pos++
        for (;;) {
          skipWhitespace()
          if (text[pos] !== "\"") return stop(`expected a double-quoted key, found ${describe(text[pos])}`)
          string()
          expect(":", "\":\" after the key")
          value()
          skipWhitespace()
          if (text[pos] === "}") return void pos++
          if (text[pos] !== ",") return stop(`expected "," or "}" after a value, found ${describe(text[pos])}`)
          pos++
        }
      }
      case "[": {
        pos++
        skipWhitespace()
        if (text[pos] === "]") return void pos++
        for (;;) {
          value()
          skipWhitespace()
          if (text[pos] === "]") return void pos++
          if (text[pos] !== ",") return stop(`expected "," or "]" after a value, found ${describe(text[pos])}`)
          pos++
        }
      }
      case "\"":
        return string()
      default: {
        for (const literal of ["true", "false", "null"]) {
          if (text.startsWith(literal, pos)) return void (pos += literal.length)
        }
        numberPattern.lastIndex = pos
        const match = numberPattern.exec(text)
        if (match !== null) return void (pos += match[0].length)
        return stop(`expected a value, found ${describe(char)}`)
      }
    }
  }
  try {
    value()
    skipWhitespace()
    if (pos < text.length) stop(`unexpected ${describe(text[pos])} after the end of the JSON value`)
    return undefined
  } catch (error) {
    if (!(error instanceof Stop)) throw error
    const before = text.slice(0, error.offset)
    const line = before.split("\n").length
    const column = error.offset - (before.lastIndexOf("\n") + 1) + 1
    return { line, column, message: error.message }
  }
}
