/** Worker thread of the bench pool (pool.ts): caches networks by key and runs jobs on the shared images. */
import { parentPort, workerData } from "node:worker_threads";
import type { Network } from "../../backends/emulator/runtime/network.js";
import { runJob, type Job } from "./jobs.js";

type Message = { kind: "net"; key: string; net: Network } | { kind: "drop"; key: string } | { kind: "job"; id: number; job: Job };

const { images, per } = workerData as { images: SharedArrayBuffer; per: number };
const x = new Float32Array(images);
const nets = new Map<string, Network>();

parentPort!.on("message", async (m: Message) => {
  if (m.kind === "net") nets.set(m.key, m.net);
  else if (m.kind === "drop") nets.delete(m.key);
  else {
    try {
      const net = nets.get(m.job.net);
      if (!net) throw new Error(`worker: network '${m.job.net}' was not sent`);
      parentPort!.postMessage({ id: m.id, result: await runJob(net, m.job, x, per) });
    } catch (e) {
      parentPort!.postMessage({ id: m.id, error: (e as Error).stack ?? String(e) });
    }
  }
});
