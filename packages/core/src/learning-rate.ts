/** How a learning rate changes over updates: linear warm-up, then constant or cosine decay. */
export interface LearningRateSchedule {
  /** Linear warm-up over this many updates. */
  warmupSteps: number;
  /** Cosine decay reaches minLearningRateRatio x the base rate here; absent: constant after warm-up. */
  totalSteps?: number | undefined;
  minLearningRateRatio: number;
}

/** The rate of update `step` (counted from 0) for a base rate under `schedule`. */
export function scheduledLearningRate(step: number, base: number, schedule: LearningRateSchedule): number {
  if (step < schedule.warmupSteps) return (base * (step + 1)) / schedule.warmupSteps;
  if (schedule.totalSteps === undefined || schedule.totalSteps <= schedule.warmupSteps) return base;
  const progress = Math.min(1, (step - schedule.warmupSteps) / (schedule.totalSteps - schedule.warmupSteps));
  const floor = base * schedule.minLearningRateRatio;
  return floor + (base - floor) * 0.5 * (1 + Math.cos(Math.PI * progress));
}
