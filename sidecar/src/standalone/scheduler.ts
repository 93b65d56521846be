/**
 * Runs scheduled updates of standalone repos with node-cron. A tick while the previous update of
 * the same repo still runs joins it (the service coalesces), so slow syncs never pile up.
 */
import { type ScheduledTask, schedule } from 'node-cron';
import type { Logger } from '../log/logger.js';

/** What the scheduler needs of the sync service. */
export interface Updater {
  readonly shuttingDown: boolean;
  update(repo: string): Promise<unknown>;
}

export class Scheduler {
  private readonly tasks: ScheduledTask[] = [];
  private readonly service: Updater;
  private readonly logger: Logger;

  constructor(service: Updater, logger: Logger) {
    this.service = service;
    this.logger = logger;
  }

  add(repo: string, cron: string): void {
    const task = schedule(
      cron,
      async () => {
        if (this.service.shuttingDown) return;
        try {
          await this.service.update(repo);
        } catch {
          // The service logs the failure and keeps it as the repo's lastSync.
        }
      },
      { name: `sync-${repo}`, noOverlap: true },
    );
    this.tasks.push(task);
    this.logger.info({ repo, schedule: cron }, 'scheduled updates');
  }

  async stop(): Promise<void> {
    await Promise.all(this.tasks.map((t) => t.destroy()));
    this.tasks.length = 0;
  }
}
