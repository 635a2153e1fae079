// A step of maintenance that failed (a read or write error, a full disk): recorded in the run's result and the run
// goes on with the next task, so one bad file never stops retention, compression or verify for the rest, and no
// error reaches the caller as an exception. The task it names is left readable; the next run tries again.
export interface MaintenanceError {
  /** the task the step was for; null for the logs folder itself */
  task_id: string | null;
  error: string;
}

export function maintenanceError(taskId: string | null, error: unknown): MaintenanceError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return {
    task_id: taskId,
    error: code !== undefined && !message.includes(code) ? `${code}: ${message}` : message,
  };
}
