/**
 * Plain-words text for `register` and `status`: the worker record, its reward ledger and the
 * onboarding state. Wherever routing is off or settlement gated, the text says so, because a
 * registered, online worker is easily mistaken for one that is being paid.
 */

import type { OnboardingView, RegistrationView, RewardsView, SettlementView, WorkerView } from "./api-contract.ts";

/** The views are the client's reading of the API contract's answers (lib/core/api-contract.ts). */
export type { OnboardingRow, OnboardingView, RegistrationView, RewardsView, SettlementView, WorkerView } from "./api-contract.ts";

export const ROUTING_NOTE =
  "Registration is not routing: jobs reach a worker only where job routing is enabled (on basis.watch it is opt-in), and reward settlement is gated.";

export interface RegistrationChange {
  field: "runtime" | "models";
  from: string;
  to: string;
}

/** What a re-registration changes; empty when nothing did, or when the earlier record is unknown. */
export function describeChanges(before: WorkerView | undefined, requested: { runtime: string; models: string[] }): RegistrationChange[] {
  if (!before) return [];
  const changes: RegistrationChange[] = [];
  if (before.runtime !== undefined && before.runtime !== requested.runtime) changes.push({ field: "runtime", from: before.runtime, to: requested.runtime });
  const was = [...(before.models ?? [])].sort().join(", ");
  const now = [...requested.models].sort().join(", ");
  if (before.models !== undefined && was !== now) changes.push({ field: "models", from: was || "none", to: now });
  return changes;
}

export function formatRegistration(
  result: RegistrationView,
  requested: { worker_id: string; worker_wallet: string },
  changes: readonly RegistrationChange[] = [],
  envFile?: string,
): string {
  const id = result.worker?.worker_id ?? requested.worker_id;
  const wallet = result.worker?.worker_wallet ?? requested.worker_wallet;
  let head = `Registered worker ${id} to wallet ${wallet}.`;
  if (result.created === false) {
    head =
      changes.length > 0
        ? `Worker ${id} was already registered to wallet ${wallet}; updated ${changes.map((c) => `${c.field} ${printable(c.from, 80)} -> ${printable(c.to, 80)}`).join("; ")}.`
        : `Worker ${id} was already registered to wallet ${wallet}; nothing changed.`;
  }
  const lines = [head];
  if (result.worker) lines.push(...describeSetup(result.worker));
  const env = envFile ?? "./worker.env";
  lines.push("", ROUTING_NOTE, `Next: basis-worker start --env-file ${env}, then basis-worker status --env-file ${env}`);
  return lines.join("\n");
}

export function formatWorker(worker: WorkerView, now: Date): string {
  const online = worker.online === true ? "online" : worker.online === false ? "offline" : "unknown (not reported)";
  const rows: [string, string][] = [
    ["Worker", worker.worker_id],
    ["Status", online],
    ["Last seen", describeTime(worker.lastSeenAt, now)],
    ["Jobs completed", worker.jobsCompleted === undefined ? "not reported" : String(worker.jobsCompleted)],
    ["Runtime", worker.runtime ?? "not reported"],
    ["Models", worker.models && worker.models.length > 0 ? worker.models.join(", ") : "none"],
    ["Wallet", worker.worker_wallet ?? "not reported"],
    ["Registered", describeTime(worker.registeredAt, now)],
  ];
  return alignRows(rows);
}

export function formatRewards(rewards: RewardsView): string {
  const unit = typeof rewards.amountUnit === "string" ? rewards.amountUnit.replace(/_/g, " ") : "base units";
  const amount = (value: string | undefined) => (value === undefined ? "not reported" : `${value} (${unit})`);
  const total = typeof rewards.entriesTotal === "number" ? rewards.entriesTotal : rewards.entries?.length;
  const rows: [string, string][] = [
    ["Pending", amount(rewards.pending)],
    ["Batching", amount(rewards.batching)],
    ["Settled", amount(rewards.settled)],
    ["Ledger entries", total === undefined ? "not reported" : String(total)],
  ];
  return [alignRows(rows), describeSettlement(rewards.settlement)].join("\n");
}

export function formatOnboarding(onboarding: OnboardingView, { settlement = true, forWorker = true }: { settlement?: boolean; forWorker?: boolean } = {}): string {
  const lines: string[] = [];
  const rows = onboarding.rows ?? [];
  if (rows.length > 0) lines.push(alignRows(rows.map((row) => [row.name, [row.state, row.detail].filter(Boolean).join(": ") || "-"])));
  const gates = describeGates(onboarding, forWorker);
  // With the reward ledger printed above, its settlement line is already there: say it once.
  lines.push(...(settlement ? gates : gates.slice(0, -1)));
  return lines.join("\n");
}

export interface StatusParts {
  worker?: WorkerView | undefined;
  rewards?: RewardsView | undefined;
  onboarding?: OnboardingView | undefined;
  now: Date;
}

/** The whole `status` text: the worker, then the ledger and the onboarding state when asked for. */
export function formatStatus({ worker, rewards, onboarding, now }: StatusParts): string {
  const sections: string[] = [];
  if (worker) sections.push(formatWorker(worker, now));
  if (rewards) sections.push(`Rewards\n${formatRewards(rewards)}`);
  if (onboarding) sections.push(`Onboarding\n${formatOnboarding(onboarding, { settlement: !rewards, forWorker: worker !== undefined })}`);
  else sections.push(STATUS_NOTE);
  return sections.join("\n\n");
}

/** The honest summary of routing and settlement; a state that was not reported is said to be unknown. The settlement line is last. */
export function describeGates(onboarding: OnboardingView, forWorker = true): string[] {
  const lines: string[] = [];
  const routing = onboarding.jobRouting?.enabled;
  if (routing === false) lines.push("Job routing is OFF: a registered worker receives no jobs here yet.");
  else if (routing === true) {
    const scope = onboarding.jobRouting?.scope;
    lines.push(`Job routing is on${typeof scope === "string" ? ` (${printable(scope, 80)})` : ""}.`);
  }
  else lines.push("Job routing state was not reported; do not assume jobs will arrive.");
  // Without a worker id the answer is about the network: "can receive" means some worker can.
  if (onboarding.canReceiveJobs === false) lines.push(forWorker ? "This worker cannot receive jobs yet." : "No connected worker can receive jobs yet.");
  else if (onboarding.canReceiveJobs === true) lines.push(forWorker ? "This worker can receive jobs." : "At least one connected worker can receive jobs.");
  lines.push(describeSettlement(onboarding.settlement));
  return lines;
}

export function describeSettlement(settlement: SettlementView | undefined): string {
  if (!settlement || (settlement.state === undefined && settlement.mode === undefined)) {
    return "Settlement state was not reported; treat rewards as not claimable.";
  }
  const gated = settlement.state !== "live" || settlement.mode === "dry_run";
  if (gated) {
    const how = [settlement.state, settlement.mode?.replace(/_/g, " ")].filter(Boolean).join(", ");
    return `Settlement is gated (${how}): rewards are tracked off-chain and cannot be claimed on-chain yet.`;
  }
  return "Settlement is live.";
}

/** Without the onboarding answer the gates are unknown: say what being online does and does not mean. */
export const STATUS_NOTE =
  "Online means connected, not paid: jobs arrive only where job routing is enabled, and settlement is gated (see --onboarding).";

function describeSetup(worker: WorkerView): string[] {
  const parts: string[] = [];
  if (worker.runtime) parts.push(`runtime ${worker.runtime}`);
  if (worker.models && worker.models.length > 0) parts.push(`models ${worker.models.join(", ")}`);
  return parts.length > 0 ? [`Advertised: ${parts.join("; ")}.`] : [];
}

function describeTime(value: string | null | undefined, now: Date): string {
  if (value === undefined) return "not reported";
  if (value === null) return "never";
  const at = new Date(value);
  if (Number.isNaN(at.getTime())) return value;
  const seconds = Math.round((now.getTime() - at.getTime()) / 1000);
  if (seconds < 0) return at.toISOString();
  return `${at.toISOString()} (${describeAge(seconds)} ago)`;
}

function describeAge(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h`;
  return `${Math.floor(seconds / 86_400)} d`;
}

/** Values come from a server: control characters (terminal escapes) are dropped, lengths bounded. */
function alignRows(rows: readonly (readonly [string, string])[]): string {
  const clean = rows.map(([label, value]) => [printable(label, 40), printable(value, 300)] as const);
  const width = Math.max(...clean.map(([label]) => label.length)) + 2;
  return clean.map(([label, value]) => label.padEnd(width) + value).join("\n");
}

function printable(text: string, max: number): string {
  const plain = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, " ");
  return plain.length > max ? `${plain.slice(0, max - 1)}…` : plain;
}
