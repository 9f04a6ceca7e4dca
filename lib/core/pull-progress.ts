/**
 * Turns Ollama's `/api/pull` status lines into one progress line for people, e.g.
 * `pulling 6a0746a1ec1a  1.2 GiB / 2.0 GiB  60%  45.1 MiB/s`. The clock is passed in, so the
 * rate arithmetic stays pure and testable.
 */

/** One line of the `/api/pull` NDJSON stream (`completed` is omitted while 0). */
export interface PullStatus {
  status: string;
  digest?: string;
  total?: number;
  completed?: number;
}

export interface PullProgress {
  status: string;
  digest?: string;
  total?: number;
  completed?: number;
  /** 0..100, whole percent; only when the total is known. */
  percent?: number;
  /** Bytes per second over the last few seconds of this layer; only once measurable. */
  bytesPerSecond?: number;
  /** The human line. */
  line: string;
}

export interface PullProgressTracker {
  update(status: PullStatus, nowMs: number): PullProgress;
}

/** Rate is averaged over this window so one bursty read does not make the number jump. */
const RATE_WINDOW_MS = 5_000;
const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"] as const;

export function formatBytes(bytes: number): string {
  let value = Math.max(0, bytes);
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(bytesPerSecond)}/s`;
}

export function formatPullLine(progress: Omit<PullProgress, "line">): string {
  const parts = [progress.status];
  if (progress.total !== undefined && progress.total > 0) {
    parts.push(`${formatBytes(progress.completed ?? 0)} / ${formatBytes(progress.total)}`);
    if (progress.percent !== undefined) parts.push(`${progress.percent}%`);
    if (progress.bytesPerSecond !== undefined) parts.push(formatRate(progress.bytesPerSecond));
  }
  return parts.join("  ");
}

/** Tracks samples per layer (digest) to work out a transfer rate. */
export function createPullProgressTracker(): PullProgressTracker {
  const samples = new Map<string, { at: number; completed: number }[]>();

  const measureRate = (digest: string, completed: number, now: number): number | undefined => {
    const history = samples.get(digest) ?? [];
    history.push({ at: now, completed });
    while (history.length > 2 && now - (history[1]?.at ?? now) >= RATE_WINDOW_MS) history.shift();
    samples.set(digest, history);
    const first = history[0];
    if (!first || now <= first.at) return undefined;
    return Math.max(0, ((completed - first.completed) * 1000) / (now - first.at));
  };

  return {
    update(status, nowMs) {
      const base: Omit<PullProgress, "line"> = { status: status.status };
      if (status.digest !== undefined) base.digest = status.digest;
      if (status.total !== undefined && status.total > 0) {
        const completed = Math.min(status.completed ?? 0, status.total);
        base.total = status.total;
        base.completed = completed;
        base.percent = Math.floor((completed * 100) / status.total);
        const rate = measureRate(status.digest ?? status.status, completed, nowMs);
        if (rate !== undefined) base.bytesPerSecond = rate;
      }
      return { ...base, line: formatPullLine(base) };
    },
  };
}
