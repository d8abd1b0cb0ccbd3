// Entry of the bench's worker threads: registers tsx's loader in this thread (workers do not inherit the
// main thread's module hooks) and then loads the TypeScript worker named in workerData.entry.
import { workerData } from "node:worker_threads";
import { register } from "tsx/esm/api";

register();
await import(workerData.entry);
