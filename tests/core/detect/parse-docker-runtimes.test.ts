import { describe, expect, test } from "bun:test";
import { listRuntimeNames, readDockerRuntimes } from "../../../lib/core/detect/parse-docker-runtimes.ts";
import { exited, NOT_FOUND, readFixture, TIMED_OUT } from "../../fixtures/detect/recorded.ts";

describe("readDockerRuntimes", () => {
  test("sees the nvidia runtime of the Container Toolkit", () => {
    expect(readDockerRuntimes(exited(0, readFixture("docker-runtimes-nvidia.json")))).toEqual({
      installed: true,
      running: true,
      nvidia_runtime: true,
    });
  });

  test("reports a daemon without the nvidia runtime", () => {
    expect(readDockerRuntimes(exited(0, readFixture("docker-runtimes-plain.json"))).nvidia_runtime).toBe(false);
  });

  test("reports an installed CLI whose daemon is not running (recorded)", () => {
    const output = exited(1, readFixture("docker-no-daemon.stdout.txt"), readFixture("docker-no-daemon.stderr.txt"));
    expect(readDockerRuntimes(output)).toEqual({
      installed: true,
      running: false,
      nvidia_runtime: false,
      reason: "the Docker daemon is not running",
    });
  });

  test.each([
    ["a missing binary", NOT_FOUND, { installed: false, reason: "Docker is not installed" }],
    ["a hang", TIMED_OUT, { installed: true, reason: "docker info did not answer in time" }],
    [
      "a socket without permission",
      exited(1, "", "permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock"),
      { installed: true, reason: "no permission to reach the Docker daemon (is your user in the docker group?)" },
    ],
  ])("explains %s", (_, output, expected) => {
    expect(readDockerRuntimes(output)).toMatchObject({ ...expected, running: false, nvidia_runtime: false });
  });
});

describe("listRuntimeNames", () => {
  test.each([
    ["the runtime map", '{"runc":{"path":"runc"},"nvidia-cdi":{}}', ["runc", "nvidia-cdi"]],
    ["null", "null", []],
    ["garbage", "{{json .Runtimes}}", []],
  ])("reads %s", (_, stdout, names) => {
    expect(listRuntimeNames(stdout)).toEqual(names);
  });
});
