/**
 * Runs scheduled updates with node-cron: one task per repo that has a `schedule` or
 * `everyMinutes`, whether it came from the standalone config or from `POST /repo/new`. A tick
 * while the previous update of the same repo still runs joins it (the service coalesces), so
 * slow syncs never pile up.
 */
import { type ScheduledTask, schedule } from 'node-cron';
import type { Logger } from '../log/logger.js';

/** What the scheduler needs of the sync service. */
export interface Updater {
  readonly shuttingDown: boolean;
  update(repo: string): Promise<unknown>;
}

export class Scheduler {
  private readonly tasks = new Map<string, { cron: string; task: ScheduledTask }>();
  private readonly service: Updater;
  private readonly logger: Logger;

  constructor(service: Updater, logger: Logger) {
    this.service = service;
    this.logger = logger;
  }

  /** Schedules `repo` on `cron`, replacing its previous schedule; undefined unschedules it. */
  async set(repo: string, cron: string | undefined): Promise<void> {
    const current = this.tasks.get(repo);
    if (current?.cron === cron) return;
    if (current) {
      this.tasks.delete(repo);
      await current.task.destroy();
    }
    if (!cron) return;
    const task = schedule(cron, () => this.tick(repo), { name: `sync-${repo}`, noOverlap: true });
    this.tasks.set(repo, { cron, task });
    this.logger.info({ repo, schedule: cron }, 'scheduled updates');
  }

  scheduled(): Map<string, string> {
    return new Map([...this.tasks].map(([repo, { cron }]) => [repo, cron]));
  }

  async stop(): Promise<void> {
    const tasks = [...this.tasks.values()];
    this.tasks.clear();
    await Promise.all(tasks.map(({ task }) => task.destroy()));
  }

  private async tick(repo: string): Promise<void> {
    if (this.service.shuttingDown) return;
    try {
      await this.service.update(repo);
    } catch {
      // The service logs the failure and keeps it as the repo's lastSync.
    }
  }
}
