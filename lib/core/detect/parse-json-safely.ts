/** Tool and server output is untrusted text: a parse failure is an answer (undefined), not a crash. */
export function parseJsonSafely(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
