#!/bin/bash
# tscc evaluation sharded over a Slurm job array (docs/scale-out.md).
#
# Array task k evaluates shard k/SLURM_ARRAY_TASK_COUNT of the input set on the task's CPUs and writes
# its exact counts to $PARTS/part-k.json. Submit, then merge once every task has succeeded:
#   mkdir -p logs parts
#   jid=$(sbatch --parsable examples/scale-out/slurm-array.sh)
#   sbatch --dependency=afterok:$jid --wrap 'tscc merge parts/part-*.json --json > result.json'
# The merged report is exactly that of one `tscc run` over all samples. Shards are deterministic, so a
# failed task is simply resubmitted (sbatch --array=<k> examples/scale-out/slurm-array.sh). Memory: the
# task's CPUs (= --jobs worker threads) x one worker's peak; measure one shard of one chunk first
# (docs/scale-out.md, "Check before you buy").
#
#SBATCH --job-name=tscc-eval
#SBATCH --array=0-3
#SBATCH --cpus-per-task=4
#SBATCH --mem=64G
#SBATCH --time=24:00:00
#SBATCH --output=logs/tscc-eval-%a.out
set -euo pipefail

ARTIFACT=${ARTIFACT:-vgg16-imagenet-rate1024}
INPUT=${INPUT:-imagenet-val-images.npy}
LABELS=${LABELS:-imagenet-val-labels.npy}
PARTS=${PARTS:-parts}
# The command that runs tscc (word-split on purpose, e.g. TSCC="node /opt/tscc/bin/tscc.js").
TSCC=${TSCC:-tscc}

$TSCC run "$ARTIFACT" --input "$INPUT" --labels "$LABELS" \
  --shard "$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT" --jobs "${SLURM_CPUS_PER_TASK:-1}" \
  --quiet --save-counts "$PARTS/part-$SLURM_ARRAY_TASK_ID.json"
