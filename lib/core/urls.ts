/**
 * The services both programs talk to: where each listens by default, and the one rule for a
 * URL an operator types (flag or env). The rule lives only here; callers name the thing.
 */
import { BasisError } from "./errors.ts";

/** `basis-canary serve` on this host (the worker's BASIS_ORCHESTRATOR_URL default). */
export const DEFAULT_ORCHESTRATOR_URL = "ws://localhost:8787";
/** Ollama's own default listen address (BASIS_OLLAMA_URL). */
export const DEFAULT_OLLAMA_URL = "http://127.0.0.1:11434";
/** vLLM's OpenAI-compatible server's default listen address (BASIS_VLLM_URL). */
export const DEFAULT_VLLM_URL = "http://127.0.0.1:8000";
/** llama.cpp's llama-server's default listen address (BASIS_LLAMACPP_URL). */
export const DEFAULT_LLAMACPP_URL = "http://127.0.0.1:8080";
/** The Basis network API (BASIS_BASE_URL, --base). */
export const DEFAULT_BASE_URL = "https://basis.watch";

export interface UrlRule {
  /** Schemes allowed, without the colon: ["http", "https"]. */
  protocols: readonly string[];
  /** `user:password@` is allowed (a backend behind a reverse proxy); never for a flag. */
  credentials?: boolean;
  /** A query or fragment is allowed. */
  query?: boolean;
}

export const HTTP_URL: UrlRule = { protocols: ["http", "https"] };

/**
 * Why `value` breaks `rule`, worded to follow the thing's name ("BASIS_OLLAMA_URL is not a URL."),
 * or undefined when it is fine. Never quotes the value: it may carry credentials.
 */
export function urlProblem(value: string, rule: UrlRule): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "is not a URL";
  }
  if (!rule.protocols.includes(url.protocol.slice(0, -1))) return `must use ${listWords(rule.protocols)}`;
  if (!rule.credentials && (url.username || url.password)) return "must not carry credentials";
  if (!rule.query && (url.search || url.hash)) return "must not have a query or fragment";
  return undefined;
}

/** What a good value looks like, for messages and docs: "an http or https URL" (schemes are read letter by letter). */
export function describeUrlRule(rule: UrlRule): string {
  return `${/^[aefhilmnorsx]/.test(rule.protocols[0] ?? "") ? "an" : "a"} ${listWords(rule.protocols)} URL${rule.credentials ? "" : " without credentials"}`;
}

function listWords(words: readonly string[]): string {
  return words.length < 2 ? words.join("") : `${words.slice(0, -1).join(", ")} or ${words[words.length - 1]}`;
}

const ORCHESTRATOR_URL: UrlRule = { protocols: ["ws", "wss", "http", "https"], query: true };

/**
 * The worker's BASIS_ORCHESTRATOR_URL (or setup's --orchestrator, named by `label`): one URL, or
 * several separated by commas (instances of one cluster): the worker connects to the first and,
 * when a connection is lost or cannot be made, tries the next.
 */
export function parseOrchestratorUrl(value: string, label = "BASIS_ORCHESTRATOR_URL"): string {
  const urls = value.split(",").map((part) => part.trim());
  if (urls.length === 1) return parseOneOrchestratorUrl(value, label);
  if (urls.some((part) => part === "")) {
    throw new BasisError("orchestrator_url_malformed", `${label} has an empty entry in its comma-separated list.`, { exitCode: 2, hint: "Use ws://a:8787,ws://b:8787." });
  }
  return urls.map((url) => parseOneOrchestratorUrl(url, label)).join(",");
}

function parseOneOrchestratorUrl(value: string, label: string): string {
  const problem = urlProblem(value, ORCHESTRATOR_URL);
  if (problem) {
    const hint = problem.includes("credentials") ? "Put the token in BASIS_WORKER_TOKEN." : "Use ws://host:8787 or wss://host.";
    throw new BasisError("orchestrator_url_malformed", `${label} ${problem}.`, { exitCode: 2, hint });
  }
  return value;
}

/** The Basis API base (--base or BASIS_BASE_URL), without a trailing slash. */
export function parseBaseUrl(value: string): string {
  const base = value.trim().replace(/\/+$/, "");
  const problem = urlProblem(base, HTTP_URL);
  if (problem) {
    throw new BasisError("base_url_malformed", `The Basis API base URL ${problem}.`, {
      exitCode: 2,
      hint: "Pass --base https://basis.watch (or http://127.0.0.1:8787 for a local reference API).",
    });
  }
  return base;
}
