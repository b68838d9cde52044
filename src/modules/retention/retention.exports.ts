import type { FastifyBaseLogger } from 'fastify';
import type { Queryable } from '../../platform/db/port.js';
import type { ExpiredExport, RetentionRepo } from './retention.repo.js';

/** The stored evidence packages (the evidence module's `ExportFiles`), for the retention job to delete. */
export interface ExportPackages {
  exists(fileName: string): boolean;
  /** Delete a package; true when there was one. */
  remove(fileName: string): boolean;
  /** Delete partial packages last modified before `beforeMs` (wall-clock); how many. */
  removePartials(beforeMs: number): number;
}

/** A partial package (`*.tmp`) this much older than now belongs to no export in progress. */
const PARTIAL_EXPORT_AGE_MS = 3_600_000;

/**
 * The retention job's part for evidence exports: which stored packages are past the retention period
 * and not held (named in the run's ledger entry), and their deletion once that entry committed. Without
 * packages (a store that keeps none) it selects and deletes nothing.
 */
export class ExportCleanup {
  constructor(
    private readonly repo: RetentionRepo,
    private readonly packages: ExportPackages | undefined,
    private readonly logger: FastifyBaseLogger,
  ) {}

  /**
   * Exports created before `cutoff`, not held, whose package is still on disk (read through `q`, the
   * run's transaction when it re-checks; the file check is synchronous, no wait inside a ledger hook).
   */
  async due(cutoff: string, q?: Queryable): Promise<ExpiredExport[]> {
    const packages = this.packages;
    if (!packages) return [];
    return (await this.repo.expiredExports(cutoff, q)).filter((e) => packages.exists(e.fileName));
  }

  /** Exports created before `cutoff` that an active hold keeps. */
  async heldCount(cutoff: string): Promise<number> {
    return this.packages ? (await this.repo.heldExports(cutoff)).length : 0;
  }

  /**
   * Delete the packages a committed run named, and partial packages left by a crashed export. A
   * failure is logged, not thrown: the run is recorded, and the next run finds what is left.
   */
  remove(due: readonly ExpiredExport[]): { export_files_removed: number; partial_export_files_removed: number } {
    const packages = this.packages;
    if (!packages) return { export_files_removed: 0, partial_export_files_removed: 0 };
    let removed = 0;
    for (const e of due) {
      try {
        if (packages.remove(e.fileName)) removed++;
      } catch (err) {
        this.logger.error({ err, export_id: e.exportId }, 'retention could not delete an evidence package; the next run retries');
      }
    }
    let partials = 0;
    try {
      partials = packages.removePartials(Date.now() - PARTIAL_EXPORT_AGE_MS);
    } catch (err) {
      this.logger.error({ err }, 'retention could not clean up partial evidence packages');
    }
    return { export_files_removed: removed, partial_export_files_removed: partials };
  }
}
