import { describe, expect, test } from "bun:test";
import {
  describeGates,
  describeSettlement,
  formatOnboarding,
  describeChanges,
  formatRegistration,
  formatStatus,
  formatRewards,
  formatWorker,
  ROUTING_NOTE,
} from "../../lib/core/status-format.ts";

const WALLET = "0x52908400098527886e0f7030069857d2e4169ee7";
const NOW = new Date("2026-01-02T03:04:05.000Z");
const BANNED = /earn now|passive income|yield|APY|guaranteed|risk-free/i;

describe("formatRegistration", () => {
  test("names the worker and wallet, and says registration is not routing", () => {
    const text = formatRegistration(
      { created: true, worker: { worker_id: "gpu-1", worker_wallet: WALLET, runtime: "echo", models: ["basis-default"] } },
      { worker_id: "gpu-1", worker_wallet: WALLET },
    );
    expect(text).toContain(`Registered worker gpu-1 to wallet ${WALLET}.`);
    expect(text).toContain("runtime echo; models basis-default");
    expect(text).toContain(ROUTING_NOTE);
    expect(text).not.toMatch(BANNED);
  });

  test("says nothing changed when the id was already registered to that wallet", () => {
    const text = formatRegistration({ created: false }, { worker_id: "gpu-1", worker_wallet: WALLET });
    expect(text).toContain("already registered");
    expect(text).toContain("nothing changed");
  });
});

describe("formatWorker", () => {
  test("shows online, last seen with its age, jobs, runtime and models", () => {
    const text = formatWorker(
      { worker_id: "gpu-1", worker_wallet: WALLET, online: true, lastSeenAt: "2026-01-02T03:03:05.000Z", jobsCompleted: 7, runtime: "ollama", models: ["a", "b"], registeredAt: null },
      NOW,
    );
    expect(text).toMatch(/Status\s+online/);
    expect(text).toMatch(/Last seen\s+2026-01-02T03:03:05.000Z \(1 min ago\)/);
    expect(text).toMatch(/Jobs completed\s+7/);
    expect(text).toMatch(/Models\s+a, b/);
    expect(text).toMatch(/Registered\s+never/);
  });

  test("says offline, and not reported for missing fields, instead of guessing", () => {
    const text = formatWorker({ worker_id: "gpu-1", online: false }, NOW);
    expect(text).toMatch(/Status\s+offline/);
    expect(text).toMatch(/Jobs completed\s+not reported/);
  });

  test("drops terminal control characters a server might send", () => {
    const text = formatWorker({ worker_id: "gpu-1", runtime: "echo\u001b[2J" }, NOW);
    expect(text).not.toContain("\u001b");
  });
});

describe("formatRewards", () => {
  test("prints amounts exactly as the integer strings given, never as floats", () => {
    const big = "123456789012345678901234567890";
    const text = formatRewards({ pending: big, batching: "0", settled: "10", entries: [{}, {}], settlement: { state: "gated", mode: "dry_run" } });
    expect(text).toContain(`${big} (base units)`);
    expect(text).not.toContain("e+");
    expect(text).toMatch(/Ledger entries\s+2/);
  });

  test("uses the unit and the total the server names", () => {
    const text = formatRewards({ pending: "5", amountUnit: "raw_micro_credits", entriesTotal: 120, entries: [] });
    expect(text).toContain("5 (raw micro credits)");
    expect(text).toMatch(/Ledger entries\s+120/);
  });

  test("says settlement is gated in plain words", () => {
    expect(formatRewards({ pending: "1", settlement: { state: "gated", mode: "dry_run" } })).toContain(
      "Settlement is gated (gated, dry run): rewards are tracked off-chain and cannot be claimed on-chain yet.",
    );
  });
});

describe("describeSettlement", () => {
  const cases: [string, Parameters<typeof describeSettlement>[0], RegExp][] = [
    ["gated", { state: "gated" }, /^Settlement is gated/],
    ["live but dry run", { state: "live", mode: "dry_run" }, /^Settlement is gated/],
    ["live", { state: "live", mode: "onchain" }, /^Settlement is live/],
    ["missing", undefined, /not reported; treat rewards as not claimable/],
    ["empty", {}, /not reported/],
  ];
  for (const [name, settlement, expected] of cases) {
    test(`describes ${name} settlement`, () => expect(describeSettlement(settlement)).toMatch(expected));
  }
});

describe("describeGates", () => {
  test("says plainly when routing is off and the worker cannot receive jobs", () => {
    const lines = describeGates({ jobRouting: { enabled: false }, canReceiveJobs: false, settlement: { state: "gated" } });
    expect(lines).toContain("Job routing is OFF: a registered worker receives no jobs here yet.");
    expect(lines).toContain("This worker cannot receive jobs yet.");
    expect(lines.join("\n")).toContain("Settlement is gated");
  });

  test("does not assume routing when the answer leaves it out", () => {
    expect(describeGates({}).join("\n")).toContain("Job routing state was not reported; do not assume jobs will arrive.");
  });

  test("names the routing scope when routing is on", () => {
    expect(describeGates({ jobRouting: { enabled: true, scope: "this orchestrator" } })).toContain("Job routing is on (this orchestrator).");
  });
});

describe("formatOnboarding", () => {
  test("prints every row as it comes, unknown names included, then the gates", () => {
    const text = formatOnboarding({
      rows: [
        { name: "Registration", state: "registered", detail: "Stored durably." },
        { name: "Something new", state: "maybe" },
      ],
      jobRouting: { enabled: false },
      settlement: { state: "gated", mode: "dry_run" },
    });
    expect(text).toMatch(/Registration\s+registered: Stored durably\./);
    expect(text).toMatch(/Something new\s+maybe/);
    expect(text).toContain("Job routing is OFF");
    expect(text).toContain("Settlement is gated");
    expect(text).not.toMatch(BANNED);
  });
});

describe("describeChanges", () => {
  test("names a changed runtime and models; nothing when unchanged or unknown", () => {
    const before = { worker_id: "gpu-1", runtime: "echo", models: ["basis-default"] };
    expect(describeChanges(before, { runtime: "ollama", models: ["basis-default"] })).toEqual([{ field: "runtime", from: "echo", to: "ollama" }]);
    expect(describeChanges(before, { runtime: "echo", models: ["basis-small", "basis-default"] })).toEqual([{ field: "models", from: "basis-default", to: "basis-default, basis-small" }]);
    expect(describeChanges(before, { runtime: "echo", models: ["basis-default"] })).toEqual([]);
    expect(describeChanges(undefined, { runtime: "echo", models: [] })).toEqual([]);
  });
});

describe("formatStatus", () => {
  test("says the settlement state once when both the ledger and the onboarding state are shown", () => {
    const settlement = { state: "gated", mode: "dry_run" };
    const text = formatStatus({ worker: { worker_id: "gpu-1", online: true }, rewards: { pending: "0", settlement }, onboarding: { settlement, canReceiveJobs: true }, now: new Date() });
    expect(text.match(/Settlement is gated/g)?.length).toBe(1);
    expect(text).toContain("This worker can receive jobs.");
  });
  test("without a worker, the onboarding state is about the network", () => {
    expect(formatStatus({ onboarding: { canReceiveJobs: false }, now: new Date() })).toContain("No connected worker can receive jobs yet.");
  });
});
