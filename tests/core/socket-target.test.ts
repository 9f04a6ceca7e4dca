import { describe, expect, test } from "bun:test";
import { apiBaseFor, socketTarget, socketTargets } from "../../lib/core/socket-target.ts";

describe("socketTarget", () => {
  const cases: [string, string, string][] = [
    ["ws://localhost:8787", "ws://localhost:8787", "/socket.io/"],
    ["wss://orch.example/", "wss://orch.example", "/socket.io/"],
    ["wss://orch.example/basis", "wss://orch.example", "/basis/socket.io/"],
    ["https://lan.example:9000/a/b/", "https://lan.example:9000", "/a/b/socket.io/"],
    ["ws://[::1]:8787?x=1", "ws://[::1]:8787", "/socket.io/"],
  ];
  for (const [input, uri, path] of cases) {
    test(`treats the path of ${input} as a proxy prefix`, () => expect(socketTarget(input)).toEqual({ uri, path }));
  }
});

describe("apiBaseFor", () => {
  test("a self-hosted orchestrator's API is on its own origin and prefix", () => {
    expect(apiBaseFor("ws://127.0.0.1:8787")).toBe("http://127.0.0.1:8787");
    expect(apiBaseFor("wss://orchestrator.example/basis/")).toBe("https://orchestrator.example/basis");
    expect(apiBaseFor("https://gpu.lan:9000")).toBe("https://gpu.lan:9000");
  });
  test("the public network's orchestrators use the default base", () => {
    expect(apiBaseFor("wss://orchestrator.basis.watch")).toBeUndefined();
    expect(apiBaseFor("wss://basis.watch")).toBeUndefined();
    expect(apiBaseFor("wss://notbasis.watch")).toBe("https://notbasis.watch");
  });
});

describe("socketTargets", () => {
  test("a comma-separated list gives one target per instance, in order", () => {
    expect(socketTargets("ws://a:1, wss://b.example/basis")).toEqual([
      { uri: "ws://a:1", path: "/socket.io/" },
      { uri: "wss://b.example", path: "/basis/socket.io/" },
    ]);
  });
});
