import type { Environment } from "@/lib/api/types"
import { GitPanel } from "@/features/git/GitPanel"

/** The side column of an environment's page: the git panel (and, later, deployments). */
export function EnvironmentSidebar({ environment }: { environment: Environment }) {
  return <GitPanel environment={environment} />
}
