/** Worker thread of the bench pool (pool.ts): caches networks by key and runs jobs on the shared images. */
import { serveJobs, workerInput } from "../../backends/emulator/pool.js";
import type { Network } from "../../backends/emulator/runtime/network.js";
import { runJob, type Job } from "./jobs.js";

type Broadcast = { kind: "net"; key: string; net: Network } | { kind: "drop"; key: string };

const { images, per } = workerInput<{ images: SharedArrayBuffer; per: number }>();
const x = new Float32Array(images);
const nets = new Map<string, Network>();

serveJobs(
  (job: Job) => {
    const net = nets.get(job.net);
    if (!net) throw new Error(`worker: network '${job.net}' was not sent`);
    return runJob(net, job, x, per);
  },
  (m) => {
    const b = m as Broadcast;
    if (b.kind === "net") nets.set(b.key, b.net);
    else nets.delete(b.key);
  },
);
