import { readFileSync } from 'node:fs';

/** Resident set size of a process in MB (10^6 bytes), from /proc/<pid>/status (Linux only). */
export function readRSSMB(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match?.[1] ? (Number(match[1]) * 1024) / 1e6 : undefined;
  } catch {
    return undefined; // not Linux, or the process is gone
  }
}

/** Samples a process's RSS every `intervalMs`, keeping a per-phase and an overall peak. */
export class RSSSampler {
  private timer: NodeJS.Timeout | undefined;
  private phasePeak = 0;
  private overallPeak = 0;

  constructor(
    private readonly pid: number,
    private readonly intervalMs = 250,
  ) {}

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Starts a new phase: its peak begins at the current RSS. */
  resetPeak(): void {
    this.phasePeak = 0;
    this.sample();
  }

  /** The phase's peak, sampling once more so a short phase still has a figure. */
  peakMB(): number | undefined {
    this.sample();
    return this.phasePeak > 0 ? this.phasePeak : undefined;
  }

  overallPeakMB(): number | undefined {
    return this.overallPeak > 0 ? this.overallPeak : undefined;
  }

  private sample(): void {
    const rss = readRSSMB(this.pid);
    if (rss === undefined) return;
    if (rss > this.phasePeak) this.phasePeak = rss;
    if (rss > this.overallPeak) this.overallPeak = rss;
  }
}
