/**
 * llama.cpp's `llama-server` (runtime `llamacpp`): the OpenAI-compatible bridge with llama-server's
 * names and hints, plus what only llama-server tells: `GET /props` gives the context each slot
 * holds and how many slots decode at once, read once at start.
 */
import { joinUrl } from "../../core/public-url.ts";
import { type LlamaCppProps, parseLlamaCppProps } from "../../core/detect/parse-llamacpp.ts";
import type { FetchLike } from "./backend-errors.ts";
import { OpenAICompatibleRuntime, type OpenAICompatibleRuntimeOptions } from "./openai-compatible.ts";
import type { RuntimeNote } from "./runtime.ts";

const PROPS_TIMEOUT_MS = 10_000;

export type LlamaCppRuntimeOptions = Omit<OpenAICompatibleRuntimeOptions, "name">;

export class LlamaCppRuntime extends OpenAICompatibleRuntime {
  /** From `/props` after check(): tokens of context per slot, and the slot count. */
  props: LlamaCppProps | undefined;
  readonly #fetch: FetchLike;

  constructor(options: LlamaCppRuntimeOptions) {
    super({ ...options, name: "llamacpp" });
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
  }

  /** Health and the model as for any OpenAI-compatible server, then the engine's context size. */
  override async check(): Promise<void> {
    await super.check();
    this.props = await this.readProps();
  }

  /**
   * The engine's context per slot and slot count; a warning when the worker takes more jobs at
   * once than llama-server has slots (the extra ones wait inside the engine, their clocks running).
   */
  startNotes(concurrency: number): RuntimeNote[] {
    if (!this.props) return [{ level: "info", message: "llama-server: /props did not answer; context size unknown" }];
    const { contextSize, slots } = this.props;
    const notes: RuntimeNote[] = [
      { level: "info", message: `llama-server: context ${contextSize} tokens per slot${slots === undefined ? "" : `, ${slots} slot${slots === 1 ? "" : "s"}`}` },
    ];
    if (slots !== undefined && concurrency > slots) {
      notes.push({
        level: "warn",
        message: `BASIS_WORKER_CONCURRENCY=${concurrency} is more than llama-server's ${slots} slot${slots === 1 ? "" : "s"}: jobs beyond that queue inside the engine; start it with -np ${concurrency} or lower the concurrency`,
      });
    }
    return notes;
  }

  /** `/props`, or undefined when the server does not offer it (it is optional in llama-server's API). */
  async readProps(): Promise<LlamaCppProps | undefined> {
    try {
      const response = await this.#fetch(joinUrl(this.rootUrl(), "/props"), {
        headers: this.authHeaders(),
        signal: AbortSignal.timeout(PROPS_TIMEOUT_MS),
      });
      if (!response.ok) {
        await response.body?.cancel();
        return undefined;
      }
      return parseLlamaCppProps(await response.json());
    } catch {
      return undefined;
    }
  }
}
