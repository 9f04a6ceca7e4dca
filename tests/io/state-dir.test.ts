import { describe, expect, test } from "bun:test";
import { resolveStateDir } from "../../lib/io/state-dir.ts";

describe("resolveStateDir", () => {
  const cases: [string, Parameters<typeof resolveStateDir>[0], string][] = [
    ["uses XDG_STATE_HOME when set", { env: { XDG_STATE_HOME: "/x/state" }, platform: "linux", home: "/home/a" }, "/x/state/basis-worker"],
    ["falls back to ~/.local/state", { env: {}, platform: "linux", home: "/home/a" }, "/home/a/.local/state/basis-worker"],
    ["ignores a relative XDG_STATE_HOME, as the spec says", { env: { XDG_STATE_HOME: "rel" }, platform: "darwin", home: "/Users/a" }, "/Users/a/.local/state/basis-worker"],
    ["uses LOCALAPPDATA on Windows", { env: { LOCALAPPDATA: "C:\\Users\\a\\AppData\\Local" }, platform: "win32", home: "C:\\Users\\a" }, "C:\\Users\\a\\AppData\\Local\\basis-worker"],
    ["derives LOCALAPPDATA from the home folder when unset", { env: {}, platform: "win32", home: "C:\\Users\\a" }, "C:\\Users\\a\\AppData\\Local\\basis-worker"],
  ];
  for (const [name, options, expected] of cases) {
    test(name, () => expect(resolveStateDir(options)).toBe(expected));
  }
});
