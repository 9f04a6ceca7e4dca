/**
 * How deep JSON text nests, found in one pass over the characters before anything parses or
 * walks it: a recursive walk over a value nested tens of thousands deep costs quadratic memory
 * or overflows the stack, so depth is bounded first, in linear time.
 */

/** Nesting no real request needs: an OpenAI request with tool schemas stays far below it. */
export const MAX_JSON_DEPTH = 64;

/** True when arrays and objects in `text` nest deeper than `max`; stops at the first excess. */
export function jsonNestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // a backslash escapes the next character, quotes included
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}
