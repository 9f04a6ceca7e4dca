/**
 * Reads Ollama's `GET /api/version` (`{"version":"0.5.1"}`) and `GET /api/tags`
 * (`{"models":[{"name":"llama3.2:latest",...}]}`) into what setup needs to know.
 */
import * as v from "valibot";
import { parseJsonSafely } from "./parse-json-safely.ts";
import { describeAbsence } from "./describe-absence.ts";
import type { HttpReply, OllamaFacts } from "./host-facts.ts";
import { stripUrlCredentials } from "../public-url.ts";

export const OLLAMA_VERSION_PATH = "/api/version";
export const OLLAMA_TAGS_PATH = "/api/tags";

const VersionSchema = v.object({ version: v.string() });
const TagsSchema = v.object({
  models: v.nullish(v.array(v.object({ name: v.optional(v.string()), model: v.optional(v.string()) })), []),
});

export function readOllama(url: string, version: HttpReply, tags: HttpReply): OllamaFacts {
  const shown = stripUrlCredentials(url);
  const versionBody = version.status === 200 ? v.safeParse(VersionSchema, parseJsonSafely(version.body)) : undefined;
  const tagsBody = tags.status === 200 ? v.safeParse(TagsSchema, parseJsonSafely(tags.body)) : undefined;
  const running = Boolean(versionBody?.success || tagsBody?.success);
  if (!running) return { url: shown, running: false, version: null, models: [], reason: describeAbsence("Ollama", shown, version) };
  const models = tagsBody?.success
    ? (tagsBody.output.models ?? []).map((m) => m.name ?? m.model ?? "").filter((name) => name !== "")
    : [];
  return {
    url: shown,
    running: true,
    version: versionBody?.success ? versionBody.output.version : null,
    models,
    ...(models.length === 0 ? { reason: "Ollama has no models pulled" } : {}),
  };
}
