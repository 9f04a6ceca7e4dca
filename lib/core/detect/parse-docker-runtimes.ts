/**
 * Reads `docker info --format '{{json .Runtimes}}'`. An `nvidia` runtime only hints that the
 * NVIDIA Container Toolkit is set up (Docker Desktop lists it on any hardware); nvidia-smi confirms.
 */
import { parseJsonSafely } from "./parse-json-safely.ts";
import type { CommandOutput, DockerFacts } from "./host-facts.ts";

export const DOCKER_INFO_ARGS = ["info", "--format", "{{json .Runtimes}}"] as const;

export function readDockerRuntimes(output: CommandOutput): DockerFacts {
  if (output.notFound) return { installed: false, running: false, nvidia_runtime: false, reason: "Docker is not installed" };
  if (output.timedOut) {
    return { installed: true, running: false, nvidia_runtime: false, reason: "docker info did not answer in time" };
  }
  if (output.code !== 0) {
    return { installed: true, running: false, nvidia_runtime: false, reason: describeDockerFailure(output.stderr) };
  }
  return { installed: true, running: true, nvidia_runtime: listRuntimeNames(output.stdout).some(isNvidiaRuntime) };
}

export function listRuntimeNames(stdout: string): string[] {
  const value = parseJsonSafely(stdout.trim());
  return typeof value === "object" && value !== null && !Array.isArray(value) ? Object.keys(value) : [];
}

/** Newer toolkits add `nvidia-cdi` and `nvidia-legacy` beside plain `nvidia`. */
function isNvidiaRuntime(name: string): boolean {
  return name === "nvidia" || name.startsWith("nvidia-");
}

function describeDockerFailure(stderr: string): string {
  if (/permission denied/i.test(stderr)) return "no permission to reach the Docker daemon (is your user in the docker group?)";
  if (/cannot connect to the docker daemon|is the docker daemon running|error during connect/i.test(stderr)) {
    return "the Docker daemon is not running";
  }
  return "docker info failed";
}
