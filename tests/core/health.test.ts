import { describe, expect, test } from "bun:test";
import { judgeHealth } from "../../lib/core/health.ts";

describe("judgeHealth", () => {
  const cases: [string, Record<string, unknown>, boolean, string][] = [
    ["online and available", { online: true, available: true }, true, "serving"],
    ["online, backend down or draining (available false)", { online: true, available: false }, false, "cannot_serve"],
    ["offline", { online: false, available: false }, false, "offline"],
    ["online, availability not reported (another API)", { online: true }, true, "serving"],
    ["presence not reported", {}, false, "offline"],
  ];
  for (const [name, view, healthy, reason] of cases) {
    test(name, () => expect(judgeHealth("gpu-1", { worker_id: "gpu-1", ...view })).toMatchObject({ healthy, reason }));
  }
});
