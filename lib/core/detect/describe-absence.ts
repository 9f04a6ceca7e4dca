/**
 * What a probe of a local inference server says when nothing usable answered: one wording for
 * every backend setup --check looks for (Ollama, vLLM, llama.cpp).
 */
import type { HttpReply } from "./host-facts.ts";

export function describeAbsence(server: string, url: string, reply: HttpReply): string {
  if (reply.error === "invalid_url") return `${url} is not a valid URL`;
  if (reply.error === "timeout") return `nothing answered at ${url} in time`;
  if (reply.status === null) return `${server} is not reachable at ${url}`;
  return `the server at ${url} does not answer like ${server} (HTTP ${reply.status})`;
}
