import type { EnvironmentSize } from "@/lib/api/types"

const GiB = 2 ** 30

/** An environment's size as a server with its defaults answers it. */
export const DEFAULT_SIZE: EnvironmentSize = {
  effective: { memoryBytes: GiB / 2, cpus: 0.5, diskBytes: 10 * GiB },
  setting: { memoryBytes: null, cpus: null, diskBytes: null },
  defaults: { memoryBytes: GiB / 2, cpus: 0.5, diskBytes: 10 * GiB },
  maxima: { memoryBytes: 16 * GiB, cpus: 4, diskBytes: 40 * GiB },
}
