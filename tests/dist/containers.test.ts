/** templates/docker-compose.worker.yml and templates/Dockerfile, parsed and held to their promises. */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SECRET_ENV_NAMES } from "../../lib/core/env-schema.ts";
import { ROOT } from "../helpers/binaries.ts";

const COMPOSE_TEXT = readFileSync(join(ROOT, "templates", "docker-compose.worker.yml"), "utf8");
const DOCKERFILE = readFileSync(join(ROOT, "templates", "Dockerfile"), "utf8");

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string; args?: Record<string, string> };
  restart?: string;
  env_file?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  deploy?: { resources: { reservations: { devices: { driver: string; count: string | number; capabilities: string[] }[] } } };
  healthcheck?: { test: string[] };
  read_only?: boolean;
  cap_drop?: string[];
  security_opt?: string[];
}
const compose = Bun.YAML.parse(COMPOSE_TEXT) as { services: Record<string, ComposeService> };
const { ollama, worker } = compose.services as { ollama: ComposeService; worker: ComposeService };

describe("docker-compose.worker.yml", () => {
  test("runs Ollama and the worker, both restarted unless stopped", () => {
    expect(Object.keys(compose.services).sort()).toEqual(["ollama", "worker"]);
    expect(ollama.restart).toBe("unless-stopped");
    expect(worker.restart).toBe("unless-stopped");
  });

  test("reserves the NVIDIA GPUs for Ollama", () => {
    const devices = ollama.deploy?.resources.reservations.devices ?? [];
    expect(devices).toContainEqual({ driver: "nvidia", count: "all", capabilities: ["gpu"] });
  });

  test("gives the worker its settings only through the env file", () => {
    expect(worker.env_file).toEqual(["./worker.env"]);
    const inline = Object.keys(worker.environment ?? {});
    expect(inline.filter((name) => (SECRET_ENV_NAMES as readonly string[]).includes(name) || /TOKEN|SECRET|KEY/.test(name))).toEqual([]);
  });

  test("never names a secret variable anywhere in the file", () => {
    const assignments = COMPOSE_TEXT.split("\n").filter((line) => !line.trim().startsWith("#"));
    for (const name of SECRET_ENV_NAMES) expect([name, assignments.some((line) => line.includes(name))]).toEqual([name, false]);
  });

  test("checks health with basis-worker healthcheck for the configured worker id", () => {
    const [kind, binary, command, flag, id] = worker.healthcheck?.test ?? [];
    expect([kind, binary, command, flag]).toEqual(["CMD", "/usr/local/bin/basis-worker", "healthcheck", "--worker-id"]);
    expect(id).toMatch(/^\$\{BASIS_WORKER_ID:\?/);
  });

  test("builds the worker from the Dockerfile beside it and waits for a healthy Ollama", () => {
    expect(worker.build).toMatchObject({ context: ".", dockerfile: "Dockerfile" });
    expect(worker.depends_on).toEqual({ ollama: { condition: "service_healthy" } });
    expect(worker.environment?.BASIS_OLLAMA_URL).toBe("http://ollama:11434");
  });

  test("runs the worker locked down: read-only root, no capabilities, no privilege gain", () => {
    expect(worker.read_only).toBe(true);
    expect(worker.cap_drop).toEqual(["ALL"]);
    expect(worker.security_opt).toContain("no-new-privileges:true");
  });
});

/** Instructions of the last build stage, with line continuations joined. */
function readFinalStage(text: string): { instruction: string; args: string }[] {
  const lines = text.replace(/\\\n/g, " ").split("\n").map((line) => line.trim()).filter((line) => line && !line.startsWith("#"));
  const steps = lines.map((line) => ({ instruction: (line.split(/\s+/)[0] as string).toUpperCase(), args: line.replace(/^\S+\s*/, "") }));
  const lastFrom = steps.map((step) => step.instruction).lastIndexOf("FROM");
  return steps.slice(lastFrom);
}

describe("Dockerfile", () => {
  const stage = readFinalStage(DOCKERFILE);
  const arg = (instruction: string) => stage.filter((step) => step.instruction === instruction).map((step) => step.args);

  test("ships the compiled worker on a minimal base with no shell", () => {
    expect(arg("FROM")[0]).toMatch(/^gcr\.io\/distroless\//);
    expect(arg("COPY")).toContain("--from=verify /release/basis-worker /usr/local/bin/basis-worker");
    expect(arg("ENTRYPOINT")).toEqual(['["/usr/local/bin/basis-worker"]']);
  });

  test("runs as a non-root user", () => {
    const [user] = arg("USER");
    expect(user).toBeDefined();
    expect(user?.split(":")[0]).not.toMatch(/^(root|0)$/);
  });

  test("checks the binary against SHA256SUMS before it enters the image", () => {
    expect(DOCKERFILE).toMatch(/sha256sum -c -/);
    expect(DOCKERFILE).toContain("COPY SHA256SUMS basis-worker-${BASIS_TARGET}");
  });
});
